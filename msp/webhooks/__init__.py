"""Outbound webhooks: subscriptions (endpoints), signed deliveries through a delivery outbox,
and the SSRF guard on their targets. See docs/webhooks.md."""
