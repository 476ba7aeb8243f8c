"""Reporting: SLA metrics, monthly and QBR report snapshots, PDF/CSV rendering, dashboards.
Depends on every other app; nothing depends on it."""
