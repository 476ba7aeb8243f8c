"""The invoice lifecycle: draft -> reviewed -> finalised (numbered without gaps per year, even
under concurrent finalisations on real PostgreSQL connections), discard, credit notes (partial
and full, their totals and taxes), void and what it releases, who may do what, the audit trail
and the scheduled run."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from contracts.choices import ContractStatus, PricingModel
from contracts.models import ServiceLine
from msp.audit.context import AuditContext, audit_scope
from reporting.billing.choices import InvoiceStatus, LineKind
from reporting.billing.models import ClientTaxRate, Invoice, InvoicedItem, TaxRate
from reporting.billing.services import (
    credit_note_create,
    invoice_discard,
    invoice_finalise,
    invoice_reopen,
    invoice_review,
    invoice_run_create,
    invoice_void,
)
from tests.factories import ClientFactory, ClientUserFactory, ContractFactory, StaffFactory
from tests.factories.tickets import TicketFactory
from tickets.models import TimeEntry

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _billed_client(*, fee="1000.00", hourly=False, tax=True, technician=None):
    client = ClientFactory(timezone="UTC")
    contract = ContractFactory(
        client=client,
        start_date=date(2026, 1, 1),
        monthly_fee=Decimal(fee),
        status=ContractStatus.ACTIVE,
    )
    if tax:
        rate, _ = TaxRate.objects.get_or_create(name="VAT", percent=Decimal("20"))
        ClientTaxRate.objects.create(client=client, tax_rate=rate)
    if hourly:
        ServiceLine.objects.create(
            contract=contract,
            service="service_desk",
            pricing_model=PricingModel.HOURLY,
            hourly_rates={"remote": "90.00"},
        )
        ticket = TicketFactory(client=client, subject="Work", at=datetime(2026, 3, 2, tzinfo=UTC))
        TimeEntry.objects.create(
            ticket=ticket, client=client, user=technician, minutes=100,
            spent_on=date(2026, 3, 2), state="approved",
        )  # fmt: skip
    return client


def _invoice(client) -> Invoice:
    invoice_run_create(month=date(2026, 3, 1), now=AT, client_ids=[client.pk])
    return Invoice.objects.get(client=client, kind="invoice", status__in=["draft", "reviewed"])


def _final(client, by) -> Invoice:
    invoice = _invoice(client)
    invoice_review(invoice=invoice, by=by, at=AT)
    return invoice_finalise(invoice=invoice, by=by, at=AT)


@pytest.mark.django_db
class TestLifecycle:
    def test_draft_reviewed_finalised_numbered_and_audited(self, admin_user):
        client = _billed_client()
        invoice = _invoice(client)
        with pytest.raises(ValidationError, match="Only a reviewed invoice"):
            invoice_finalise(invoice=invoice, by=admin_user, at=AT)
        invoice_review(invoice=invoice, by=admin_user, at=AT)
        with pytest.raises(ValidationError):
            invoice_review(invoice=invoice, by=admin_user, at=AT)
        # As a request does: the audit scope names the person acting.
        with audit_scope(AuditContext(source="workspace", actor=admin_user)):
            final = invoice_finalise(invoice=invoice, by=admin_user, at=AT)
        assert (final.number, final.status) == ("INV-2026-0001", InvoiceStatus.FINALISED)
        assert (final.issued_on, final.due_on) == (date(2026, 12, 1), date(2026, 12, 31))
        assert final.total == Decimal("1200.00")
        changes = [
            entry.changes_dict.get("status")
            for entry in LogEntry.objects.get_for_object(final).order_by("pk")
            if "status" in (entry.changes_dict or {})
        ]
        assert [change[1] for change in changes] == ["draft", "reviewed", "finalised"]
        assert LogEntry.objects.get_for_object(final).filter(actor=admin_user).exists()

    def test_a_finalised_invoice_never_changes(self, admin_user):
        final = _final(_billed_client(), admin_user)
        final = Invoice.objects.get(pk=final.pk)
        final.total = Decimal("1.00")
        with pytest.raises(ValueError, match="never changed"):
            final.save()
        with pytest.raises(ValueError, match="never deleted"):
            final.delete()
        with pytest.raises(ValidationError):
            invoice_discard(invoice=final, by=admin_user)
        # A run leaves it alone.
        made = invoice_run_create(month=date(2026, 3, 1), now=AT, client_ids=[final.client_id])
        assert (made.created, made.updated, made.unchanged) == (0, 0, 1)

    def test_discarding_a_draft_frees_what_it_billed(self, admin_user, technician):
        client = _billed_client(hourly=True, technician=technician)
        invoice = _invoice(client)
        assert InvoicedItem.objects.filter(invoice=invoice).count() == 1
        invoice_review(invoice=invoice, by=admin_user)
        invoice_reopen(invoice=invoice, by=admin_user)
        invoice_discard(invoice=invoice, by=admin_user)
        assert not InvoicedItem.objects.exists()
        assert _invoice(client).lines.filter(kind=LineKind.TIME).get().amount == Decimal("150.00")

    def test_numbers_continue_per_year_and_credit_notes_have_their_own(self, admin_user):
        first = _final(_billed_client(), admin_user)
        second = _final(_billed_client(), admin_user)
        note = credit_note_create(
            invoice=first, by=admin_user, reason="Fee agreed lower", at=AT,
            amounts={first.lines.get(kind=LineKind.FIXED_FEE).pk: Decimal("100.00")},
        )  # fmt: skip
        assert [first.number, second.number, note.number] == [
            "INV-2026-0001",
            "INV-2026-0002",
            "CN-2026-0001",
        ]
        january = datetime(2027, 1, 2, tzinfo=UTC)
        third = _invoice(_billed_client())
        invoice_review(invoice=third, by=admin_user)
        assert invoice_finalise(invoice=third, by=admin_user, at=january).number == "INV-2027-0001"

    def test_a_rolled_back_finalisation_gives_its_number_back(self, admin_user):
        invoice = _invoice(_billed_client())
        invoice_review(invoice=invoice, by=admin_user)
        with pytest.raises(RuntimeError), transaction.atomic():
            invoice_finalise(invoice=invoice, by=admin_user, at=AT)
            raise RuntimeError("the PDF could not be stored")
        assert invoice_finalise(invoice=invoice, by=admin_user, at=AT).number == "INV-2026-0001"


@pytest.mark.django_db
class TestCreditNotes:
    def test_partial_then_void_nets_the_invoice_to_zero(self, admin_user, technician):
        client = _billed_client(hourly=True, technician=technician)
        final = _final(client, admin_user)
        fee = final.lines.get(kind=LineKind.FIXED_FEE)
        time = final.lines.get(kind=LineKind.TIME)
        # Invoice: fee 1,000.00 + 100 min at 90 = 150.00; VAT 20 % per line: 200.00 + 30.00.
        assert (final.subtotal, final.tax_total, final.total) == (
            Decimal("1150.00"),
            Decimal("230.00"),
            Decimal("1380.00"),
        )
        note = credit_note_create(
            invoice=final, by=admin_user, reason="Onboarding discount", at=AT,
            amounts={str(fee.pk): "33.33"},  # as a form or JSON gives them
        )  # fmt: skip
        credit = note.lines.get(kind=LineKind.CORRECTION)
        assert (credit.credited_line, credit.amount, credit.tax_amount) == (
            fee,
            Decimal("-33.33"),
            Decimal("-6.67"),  # 20 % of 33.33 = 6.666 -> 6.67
        )
        assert (note.subtotal, note.tax_total, note.total) == (
            Decimal("-33.33"),
            Decimal("-6.67"),
            Decimal("-40.00"),
        )
        with pytest.raises(ValidationError, match=r"At most 966\.67"):
            credit_note_create(
                invoice=final, by=admin_user, reason="Too much",
                amounts={fee.pk: Decimal("1000.00")},
            )  # fmt: skip
        with pytest.raises(ValidationError, match="whole cents"):
            credit_note_create(
                invoice=final, by=admin_user, reason="x", amounts={time.pk: Decimal("0.001")}
            )
        full = invoice_void(invoice=final, by=admin_user, reason="Billed to the wrong entity")
        # What was left: fee 966.67 (+ its VAT 200.00 - 6.67 = 193.33) and time 150.00 + 30.00.
        assert full.total == Decimal("-1340.00")
        assert final.total + note.total + full.total == 0
        assert sum(i.amount for i in full.lines.all()) == full.total
        final.refresh_from_db()
        assert final.status == InvoiceStatus.VOID and final.number == "INV-2026-0001"
        assert [note.number, full.number] == ["CN-2026-0001", "CN-2026-0002"]
        with pytest.raises(ValidationError):
            credit_note_create(invoice=final, by=admin_user, reason="Again")

    def test_voiding_releases_what_was_billed_for_the_corrected_invoice(
        self, admin_user, technician
    ):
        client = _billed_client(hourly=True, technician=technician)
        final = _final(client, admin_user)
        entry = TimeEntry.objects.get(client=client)
        invoice_void(invoice=final, by=admin_user, reason="Wrong rate")
        assert not InvoicedItem.objects.filter(time_entry=entry, released_at__isnull=True).exists()
        corrected = _invoice(client)
        assert corrected.pk != final.pk and corrected.total == final.total
        assert (
            InvoicedItem.objects.filter(time_entry=entry, released_at__isnull=True).get().invoice
            == corrected
        )

    def test_a_draft_cannot_be_credited_or_voided(self, admin_user):
        invoice = _invoice(_billed_client())
        with pytest.raises(ValidationError):
            credit_note_create(invoice=invoice, by=admin_user, reason="x")
        with pytest.raises(ValidationError):
            invoice_void(invoice=invoice, by=admin_user, reason="x")
        with pytest.raises(ValidationError, match="why"):
            credit_note_create(invoice=invoice, by=admin_user, reason=" ")


@pytest.mark.django_db
class TestPermissions:
    @pytest.mark.parametrize("role", ["technician", "dispatcher"])
    def test_staff_without_billing_roles_cannot(self, role):
        invoice = _invoice(_billed_client())
        person = StaffFactory(role=role)
        for call in (
            lambda: invoice_run_create(month=date(2026, 3, 1), by=person),
            lambda: invoice_review(invoice=invoice, by=person),
            lambda: invoice_discard(invoice=invoice, by=person),
        ):
            with pytest.raises(PermissionDenied):
                call()

    def test_a_client_user_cannot(self):
        client = _billed_client()
        invoice = _invoice(client)
        with pytest.raises(PermissionDenied):
            invoice_review(invoice=invoice, by=ClientUserFactory(client=client))

    def test_an_account_manager_only_for_clients_they_see(self):
        invoice = _invoice(_billed_client())
        outsider = StaffFactory(role="account_manager", teams=[])
        with pytest.raises(PermissionDenied, match="not one of yours"):
            invoice_review(invoice=invoice, by=outsider)
        manager = StaffFactory(role="account_manager")
        assert invoice_review(invoice=invoice, by=manager).status == InvoiceStatus.REVIEWED

    def test_clients_see_only_their_final_invoices(self, admin_user):
        client = _billed_client()
        final = _final(client, admin_user)
        draft = _invoice(_billed_client())
        person = ClientUserFactory(client=client)
        assert list(Invoice.objects.for_user(person)) == [final]
        assert draft in Invoice.objects.for_user(admin_user)


@pytest.mark.django_db
def test_the_task_bills_last_month_and_the_beat_runs_it_on_the_first():
    from msp.celery import _install_beat_schedule, app
    from reporting.tasks import invoice_run_task

    _billed_client()
    assert invoice_run_task("2026-03") == 1
    assert invoice_run_task("2026-03") == 1  # the draft again, recomputed
    assert Invoice.objects.count() == 1
    _install_beat_schedule(app)
    entry = app.conf.beat_schedule["invoice-run"]
    assert entry["task"] == "reporting.invoice_run"
    assert entry["schedule"].day_of_month == {1} and entry["schedule"].hour == {13}


@pytest.mark.django_db
def test_a_run_asked_for_goes_to_a_worker_after_commit_and_is_carried_out_once(
    admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    from reporting.billing import services
    from reporting.tasks import invoice_run_task

    client = _billed_client()
    sent = []

    class Broker:
        def send_task(self, name, kwargs):
            sent.append((name, kwargs))

    monkeypatch.setattr(services, "current_app", Broker())
    with django_capture_on_commit_callbacks(execute=True):
        run = services.invoice_run_request(
            month=date(2026, 3, 1), by=admin_user, client_ids=[client.pk]
        )
        assert sent == []  # not before the run's row is committed
    assert sent == [("reporting.invoice_run", {"run_id": run.pk})]
    assert (run.state, Invoice.objects.count()) == ("queued", 0)
    assert invoice_run_task(run_id=run.pk) == 1
    run.refresh_from_db()
    assert (run.state, run.created) == ("finished", 1)
    billed = Invoice.objects.get().updated_at
    assert invoice_run_task(run_id=run.pk) == 1  # delivered twice: done once
    assert Invoice.objects.get().updated_at == billed
    assert invoice_run_task(run_id=run.pk + 1000) == 0  # gone: nothing to do


@pytest.mark.django_db
def test_runs_lost_on_the_way_to_a_worker_are_resumed_by_the_beat(admin_user):
    import time_machine

    from msp.celery import _install_beat_schedule, app
    from reporting.billing.models import InvoiceRun
    from reporting.billing.services import invoice_run_request, invoice_runs_resume

    first, second, third = _billed_client(), _billed_client(), _billed_client()
    with time_machine.travel(AT, tick=False):
        invoice_run_request(month=date(2026, 3, 1), by=admin_user, client_ids=[first.pk])
        held = invoice_run_request(month=date(2026, 3, 1), by=admin_user, client_ids=[second.pk])
        dead = invoice_run_request(month=date(2026, 3, 1), by=admin_user, client_ids=[third.pk])
        assert invoice_runs_resume() == 0  # just asked for: its task may be on its way
    InvoiceRun.objects.filter(pk=held.pk).update(started_at=AT + timedelta(minutes=14))
    InvoiceRun.objects.filter(pk=dead.pk).update(started_at=AT - timedelta(minutes=1))
    with time_machine.travel(AT + timedelta(minutes=15), tick=False):
        # The lost one and the one whose worker died 16 minutes ago; not the one running.
        assert invoice_runs_resume() == 2
    assert set(Invoice.objects.values_list("client_id", flat=True)) == {first.pk, third.pk}
    held.refresh_from_db()
    assert held.state == "running" and held.created == 0
    _install_beat_schedule(app)
    entry = app.conf.beat_schedule["invoice-runs-resume"]
    assert (entry["task"], entry["schedule"]) == ("reporting.invoice_runs_resume", 60.0)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_finalisations_take_consecutive_numbers(admin_user):
    """Two connections finalise at once: the counter row's lock makes one wait, so the numbers
    are 1 and 2, never the same and never with a gap."""
    invoices = []
    for _ in range(2):
        invoice = _invoice(_billed_client(tax=False))
        invoices.append(invoice_review(invoice=invoice, by=admin_user))
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def finalise(invoice):
        try:
            barrier.wait(timeout=10)
            numbers.append(invoice_finalise(invoice=invoice, by=admin_user, at=AT).number)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=finalise, args=(invoice,)) for invoice in invoices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(numbers) == ["INV-2026-0001", "INV-2026-0002"]


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_the_same_month_at_once_bill_everything_once(technician):
    """Two runs start together: the client's row lock makes the second wait and then recompute
    the first's draft, so there is one invoice and each time entry is claimed once."""
    client = _billed_client(hourly=True, technician=technician)
    barrier = threading.Barrier(2)
    errors = []

    def bill():
        try:
            barrier.wait(timeout=10)
            made = invoice_run_create(month=date(2026, 3, 1), now=AT, client_ids=[client.pk])
            errors.extend(made.errors)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=bill) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    invoice = Invoice.objects.get(client=client)
    assert InvoicedItem.objects.filter(time_entry__isnull=False).count() == 1
    assert invoice.total == Decimal("1380.00")


@pytest.mark.django_db
def test_the_database_refuses_a_second_claim_until_the_first_is_released(admin_user, technician):
    from django.db import IntegrityError

    client = _billed_client(hourly=True, technician=technician)
    invoice = _invoice(client)
    claim = InvoicedItem.objects.get(invoice=invoice)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoicedItem.objects.create(line=claim.line, invoice=invoice, time_entry=claim.time_entry)
    claim.released_at = AT
    claim.save()
    InvoicedItem.objects.create(line=claim.line, invoice=invoice, time_entry=claim.time_entry)


@pytest.mark.django_db
def test_an_account_managers_run_bills_only_the_clients_they_see():
    from tests.factories import TeamFactory

    mine, other = _billed_client(), _billed_client()
    team = TeamFactory(serves_all_clients=False)
    team.clients.add(mine)
    manager = StaffFactory(role="account_manager", teams=[team])
    invoice_run_create(month=date(2026, 3, 1), now=AT, by=manager)
    assert list(Invoice.objects.values_list("client", flat=True)) == [mine.pk]
    assert other.pk not in Invoice.objects.values_list("client", flat=True)
