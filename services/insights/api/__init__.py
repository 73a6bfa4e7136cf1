"""The figures HTTP API of insights (FastAPI): figures as JSON or CSV, county lines."""
