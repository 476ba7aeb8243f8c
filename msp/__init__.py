"""Project wiring (settings, urls, Celery app) and the core directory: clients, sites,
contacts, assets, staff and client users, teams and tiers."""

from msp.celery import app as celery_app

__all__ = ["celery_app"]
