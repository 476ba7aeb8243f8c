"""Contracts: agreements, service lines and pricing, coverage, maintenance windows, outages,
service credits and the SLA governance ladder. Depends on msp and sla."""
