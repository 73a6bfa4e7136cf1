"""audit: the tamper-evident ledger of every record on every topic (DPA 2018 s.62 logs),
signed checkpoints, and the auditors' API (api/, over usecases.py). What it publishes for
the replay is replay_interface.py; the auditors' tooling is services/replay and
services/audit_tools. See docs/audit.md."""
