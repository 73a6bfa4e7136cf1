"""audit: the tamper-evident ledger of every record on every topic (DPA 2018 s.62 logs),
signed checkpoints, verification and replay. See docs/audit.md."""
