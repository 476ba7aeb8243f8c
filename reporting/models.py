from django.db import models
from django.db.models import Q

from msp.querysets import ClientScopedQuerySet
from reporting.choices import PeriodKind


class Metric(models.Model):
    """One figure of a client's period, e.g. ("compliance", "P1/response") = 96.5 % of 40 clocks
    against a 95 % target. Computing a period again replaces its figures (upsert)."""

    client = models.ForeignKey("msp.Client", on_delete=models.CASCADE, related_name="metrics")
    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="First day of the period, in the client's zone.")
    key = models.CharField(max_length=40)
    dimension = models.CharField(max_length=120, blank=True)
    value = models.DecimalField(max_digits=16, decimal_places=3, null=True)
    count = models.PositiveIntegerField(default=0)
    target = models.DecimalField(max_digits=16, decimal_places=3, null=True)
    computed_at = models.DateTimeField()

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["client", "period_start", "key", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "period_kind", "period_start", "key", "dimension"],
                name="metric_unique_per_period",
            ),
            models.CheckConstraint(
                condition=Q(period_kind__in=PeriodKind.values), name="metric_period_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.period_start} {self.key} {self.dimension}: {self.value}"
