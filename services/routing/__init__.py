"""routing: sends each opened referral to a support agency by area, service and capacity,
reroutes on a decline or a missed acceptance deadline, and escalates to the police
coordinator when no agency can take it."""
