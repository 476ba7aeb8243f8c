"""The audit trail: who changed which configuration or money record, when, from where, with the
values before and after. Rows are django-auditlog's LogEntry; this app says which models are
tracked (each app registers its own from its AppConfig.ready()), fills in the actor, API token,
address and source of every row from the current request, command or task, and shows the trail
to administrators."""
