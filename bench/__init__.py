"""The benchmark of referral-hub: ``python -m bench.run`` (see docs/performance.md).

It starts the real system (Kafka, PostgreSQL, intake, routing and casework as separate
processes) on its own state dir, measures, checks its own figures and writes a JSON report.
"""
