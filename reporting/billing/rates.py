"""Writes of the rate card and taxes from the workspace: the default hourly rates and the tax
rates are the MSP's (administrators); a client's hourly overrides and the taxes charged to it
are set by those who bill the client (services.billing_permission_check)."""

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction

from msp.choices import UserRole
from reporting.billing.models import ClientTaxRate, HourlyRate, TaxRate
from reporting.billing.services import billing_permission_check


def _administrator(user) -> None:
    billing_permission_check(user=user)
    if user.role != UserRole.ADMIN:
        raise PermissionDenied("Only administrators change the default rates and the taxes.")


@transaction.atomic
def hourly_rate_set(
    *, client, work_type: str, currency: str, rate: Decimal | None, by
) -> HourlyRate | None:
    """Set (or, with no rate, remove) the hourly rate of a work type in a currency: the
    default card's (no client) or a client's override."""
    if client is None:
        _administrator(by)
    else:
        billing_permission_check(user=by, client_id=client.pk)
    currency = currency.upper()
    existing = (
        HourlyRate.objects.select_for_update()
        .filter(client=client, work_type=work_type, currency=currency)
        .order_by("pk")  # not the model's ordering, which joins the client
    )
    if rate is None:
        existing.delete()
        return None
    found = existing.first()
    if found is None:
        return HourlyRate.objects.create(
            client=client, work_type=work_type, currency=currency, rate=rate
        )
    found.rate = rate
    found.save(update_fields=["rate", "updated_at"])
    return found


@transaction.atomic
def tax_rate_create(*, name: str, percent: Decimal, by) -> TaxRate:
    _administrator(by)
    return TaxRate.objects.create(name=name.strip(), percent=percent)


@transaction.atomic
def client_tax_rates_set(*, client, tax_rates, by) -> None:
    """The taxes charged on the client's invoices from now on (drafts on their next run)."""
    billing_permission_check(user=by, client_id=client.pk)
    wanted = {rate.pk for rate in tax_rates}
    ClientTaxRate.objects.filter(client=client).exclude(tax_rate_id__in=wanted).delete()
    have = set(ClientTaxRate.objects.filter(client=client).values_list("tax_rate_id", flat=True))
    for pk in sorted(wanted - have):  # one by one: each is in the audit trail
        ClientTaxRate.objects.create(client=client, tax_rate_id=pk)
