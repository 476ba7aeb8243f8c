"""SLA: business calendars, SLA policies and targets, the pure calendar and clock engines.
Depends only on msp."""
