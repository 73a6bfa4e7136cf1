"""insights: programme figures per area and month, a read model folded from intelligence,
directory and referral events (rebuildable by replaying them from offset 0). Aggregates only:
no personal data is kept or served."""
