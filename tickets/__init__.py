"""Tickets: their timeline, comments, attachments, time entries, and intake (email, alerts).

Depends on msp, sla and contracts. Filled in by the tickets capability.
"""
