"""The auditors' HTTP API of audit (FastAPI): timelines, verification, period search, export."""
