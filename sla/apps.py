from django.apps import AppConfig


class SlaConfig(AppConfig):
    verbose_name = "SLA"
    name = "sla"
