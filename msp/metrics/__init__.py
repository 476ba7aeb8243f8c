"""Prometheus metrics of the application (GET /metrics), for an operator to watch the SLA
machinery, the outbox, the queues and intake. See docs/monitoring.md.

The app runs as several gunicorn workers and Celery processes, so nothing is counted in process
memory: figures are read at scrape time from the database (`figures`), from the broker's Redis
(queue lengths) and, for events no table records, from counters kept in the shared cache
(`recorder`).
"""
