"""Work done on a clock rather than on request: the SLA sweep (warnings, breaches, escalation
rules) and maintenance windows that pause resolution clocks."""
