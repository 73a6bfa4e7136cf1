"""The staff HTTP API of casework (FastAPI): queue, detail, actions."""
