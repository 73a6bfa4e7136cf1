"""The auditors' replay: read every topic from offset 0 and rebuild casework's state and the
audit ledger in a scratch schema, then compare them with the live ones (`hub audit replay`,
docs/audit.md). Tooling the hub runs, not a service: it uses casework's and audit's published
replay interfaces (``services.<service>.replay_interface``) and nothing else of theirs."""
