"""The audit trail: every path that changes configuration or money leaves a row naming who,
from where, and the values before and after; the trail is shown to administrators, exported
safely, and never holds a secret."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from contracts.choices import ContractStatus
from contracts.models import Contract
from msp.api.authentication import TokenAuthentication
from msp.audit.context import audit_context
from msp.audit.registry import audited_models, secret_field
from msp.choices import UserRole
from msp.models import ApiToken, User
from msp.services import api_token_create, api_token_revoke, token_hash
from sla.models import BusinessCalendar, Holiday, SLAPolicy, WorkingInterval
from sla.services import calendar_intervals_set, holiday_add
from tests.factories import ContractFactory, business_hours_calendar
from tests.helpers import signed_in


def entries_for(model, pk) -> list[LogEntry]:
    content_type = ContentType.objects.get_for_model(model)
    return list(
        LogEntry.objects.filter(content_type=content_type, object_pk=str(pk)).order_by("pk")
    )


def policy_form(policy, **overrides) -> dict:
    data = {
        "name": policy.name,
        "calendar": str(policy.calendar_id),
        "is_default": "on" if policy.is_default else "",
        "first_warning_percent": str(policy.first_warning_percent),
        "second_warning_percent": str(policy.second_warning_percent),
        "pause_statuses": list(policy.pause_statuses),
        "targets-TOTAL_FORMS": "4",
        "targets-INITIAL_FORMS": "4",
        "targets-MIN_NUM_FORMS": "4",
        "targets-MAX_NUM_FORMS": "4",
    }
    for index, target in enumerate(policy.targets.order_by("priority")):
        data[f"targets-{index}-id"] = str(target.pk)
        data[f"targets-{index}-policy"] = str(policy.pk)
        data[f"targets-{index}-priority"] = target.priority
        data[f"targets-{index}-response_minutes"] = str(target.response_minutes)
        data[f"targets-{index}-resolution_minutes"] = str(target.resolution_minutes)
        if target.response_calendar_id:
            data[f"targets-{index}-response_calendar"] = str(target.response_calendar_id)
        if target.resolution_calendar_id:
            data[f"targets-{index}-resolution_calendar"] = str(target.resolution_calendar_id)
    data.update(overrides)
    return data


class TestEveryPath:
    def test_workspace_policy_edit(self, account_manager, policy):
        before = policy.first_warning_percent
        response = signed_in(account_manager).post(
            reverse("sla:policy-edit", args=[policy.pk]),
            policy_form(policy, first_warning_percent="60"),
            REMOTE_ADDR="198.51.100.7",
        )
        assert response.status_code == 302, response.context["formset"].errors
        entry = entries_for(SLAPolicy, policy.pk)[-1]
        assert entry.action == LogEntry.Action.UPDATE
        assert entry.actor == account_manager
        assert entry.actor_email == account_manager.email
        assert entry.remote_addr == "198.51.100.7"
        assert entry.additional_data["source"] == "workspace"
        assert "token" not in entry.additional_data
        assert entry.changes["first_warning_percent"] == [before, 60]

    def test_api_patch_of_a_contracts_monthly_fee(self, account_manager):
        contract = ContractFactory(monthly_fee=Decimal("1000.00"))
        token, secret = api_token_create(user=account_manager, name="billing sync", scope="write")
        from rest_framework.test import APIClient

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        response = api.patch(
            f"/api/v1/contracts/{contract.pk}/",
            {"monthly_fee": "1250.00"},
            format="json",
            REMOTE_ADDR="203.0.113.9",
        )
        assert response.status_code == 200, response.content
        entry = entries_for(Contract, contract.pk)[-1]
        assert entry.action == LogEntry.Action.UPDATE
        assert entry.actor == account_manager
        assert entry.remote_addr == "203.0.113.9"
        assert entry.additional_data["source"] == "api"
        assert entry.additional_data["token"] == {"id": token.pk, "name": "billing sync"}
        assert entry.changes == {"monthly_fee": ["1000.00", "1250.00"]}

    def test_admin_role_change(self, admin_user, technician):
        http = signed_in(admin_user)
        url = reverse("admin:msp_user_change", args=[technician.pk])
        data = {
            "email": technician.email,
            "full_name": technician.full_name,
            "phone": technician.phone,
            "role": UserRole.DISPATCHER,
            "tier": technician.tier,
            "client": "",
            "is_active": "on",
        }
        response = http.post(url, data, REMOTE_ADDR="192.0.2.44")
        assert response.status_code == 302, response.context["adminform"].form.errors
        entry = entries_for(User, technician.pk)[-1]
        assert entry.actor == admin_user
        assert entry.remote_addr == "192.0.2.44"
        assert entry.additional_data["source"] == "admin"
        assert entry.changes["role"] == [UserRole.TECHNICIAN, UserRole.DISPATCHER]
        # The admin's history page shows the whole trail of the object, not only admin edits.
        history = http.get(reverse("admin:msp_user_history", args=[technician.pk]))
        assert b'data-testid="audit-history"' in history.content
        assert b"dispatcher" in history.content

    def test_management_command(self, db, monkeypatch):
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-enough-passphrase-1")
        call_command(
            "createsuperuser",
            "--noinput",
            email="root@msp.example",
            full_name="Root",
            verbosity=0,
        )
        user = User.objects.get(email="root@msp.example")
        entry = entries_for(User, user.pk)[0]
        assert entry.action == LogEntry.Action.CREATE
        assert entry.actor is None
        assert entry.remote_addr is None
        assert entry.additional_data["source"] == "command:createsuperuser"
        assert "password" not in entry.changes

    def test_celery_task_run_directly(self, account_manager):
        from contracts.tasks import contract_renewals_task

        contract = ContractFactory(
            status=ContractStatus.ACTIVE,
            start_date=date(2020, 1, 1),
            end_date=date(2020, 12, 31),
            auto_renew=False,
        )
        contract_renewals_task()
        contract.refresh_from_db()
        assert contract.status == ContractStatus.EXPIRED
        entry = entries_for(Contract, contract.pk)[-1]
        assert entry.actor is None
        assert entry.additional_data["source"] == "task:contracts.renewals"
        assert entry.changes == {"status": [ContractStatus.ACTIVE, ContractStatus.EXPIRED]}
        assert audit_context() is None  # the task's scope closed with it


class TestParts:
    def test_bulk_written_parts_are_recorded_under_their_calendar(self, account_manager):
        calendar = business_hours_calendar()
        calendar_intervals_set(calendar=calendar, intervals=[(0, 8 * 60, 12 * 60)])
        holiday_add(calendar=calendar, day=date(2026, 12, 25), name="Christmas")
        key = f"sla.businesscalendar:{calendar.pk}"
        parts = LogEntry.objects.filter(additional_data__parent=key)
        interval_type = ContentType.objects.get_for_model(WorkingInterval)
        created = parts.filter(content_type=interval_type, action=LogEntry.Action.CREATE)
        deleted = parts.filter(content_type=interval_type, action=LogEntry.Action.DELETE)
        assert deleted.count() >= 5  # the office week replaced
        assert created.filter(object_pk=str(calendar.intervals.get().pk)).exists()
        holiday = Holiday.objects.get(calendar=calendar, date=date(2026, 12, 25))
        assert parts.filter(content_type__model="holiday", object_pk=str(holiday.pk)).exists()

    def test_default_policy_hand_over_is_recorded(self, policy):
        from sla.services import policy_save

        targets = {
            target.priority: {
                "response_minutes": target.response_minutes,
                "resolution_minutes": target.resolution_minutes,
            }
            for target in policy.targets.all()
        }
        new = policy_save(
            targets=targets, name="New default", calendar=policy.calendar, is_default=True
        )
        assert new.is_default
        entry = entries_for(SLAPolicy, policy.pk)[-1]
        assert entry.changes["is_default"] == [True, False]

    def test_token_created_and_revoked_without_its_secret(self, technician):
        token, secret = api_token_create(user=technician, name="rmm", scope="alerts")
        api_token_revoke(token=token)
        created, revoked = entries_for(ApiToken, token.pk)
        assert created.action == LogEntry.Action.CREATE
        assert set(revoked.changes) == {"revoked_at"}
        for entry in (created, revoked):
            text = json.dumps([entry.changes, entry.additional_data, entry.object_repr])
            assert "key_hash" not in text and token.key_hash not in text
            assert secret[:8] not in text


class TestSecretsNeverRecorded:
    def test_no_secret_field_is_tracked(self):
        from auditlog.registry import auditlog

        for model in audited_models():
            tracked = auditlog.get_model_fields(model)
            secrets = {f.name for f in model._meta.get_fields() if secret_field(f.name)}
            assert secrets <= set(tracked["exclude_fields"]), model
            assert "key_hash" not in [f.name for f in model._meta.get_fields()] or (
                "key_hash" in tracked["exclude_fields"]
            )

    def test_passwords_and_token_secrets_appear_in_no_row(self, admin_user, technician):
        from tickets.models import Mailbox

        mailbox = Mailbox.objects.create(
            name="Support", host="imap.example", username="support", password="imap-pw-ONE"
        )
        mailbox.password = "imap-pw-TWO"
        mailbox.host = "imap2.example"
        mailbox.save()
        technician.set_password("user-pw-THREE-long")
        technician.save()
        _, secret = api_token_create(user=technician, name="x", scope="read")
        # A password change through the admin, too.
        http = signed_in(admin_user)
        http.post(
            reverse("admin:auth_user_password_change", args=[technician.pk]),
            {"password1": "user-pw-FOUR-long", "password2": "user-pw-FOUR-long"},
        )
        technician.refresh_from_db()
        dump = json.dumps(
            [
                [e.changes, e.changes_text, e.additional_data, e.object_repr, e.serialized_data]
                for e in LogEntry.objects.all()
            ]
        )
        for secret_text in (
            "imap-pw-ONE",
            "imap-pw-TWO",
            "user-pw-THREE-long",
            "user-pw-FOUR-long",
            technician.password,
            secret,
            token_hash(secret),
        ):
            assert secret_text not in dump
        assert '"password"' not in dump
        mailbox_rows = entries_for(Mailbox, mailbox.pk)
        assert mailbox_rows[-1].changes == {"host": ["imap.example", "imap2.example"]}


class TestAuditList:
    @pytest.mark.parametrize("fixture", ["technician", "dispatcher", "account_manager"])
    def test_staff_other_than_administrators_are_refused(self, fixture, request):
        user = request.getfixturevalue(fixture)
        assert signed_in(user).get(reverse("workspace:audit-list")).status_code == 403

    def test_client_users_are_refused(self, client_user_a):
        http = signed_in(client_user_a)
        assert http.get(reverse("workspace:audit-list")).status_code == 403
        assert http.get(reverse("workspace:audit-list") + "?format=csv").status_code == 403

    def test_administrators_search_by_model_actor_dates_and_text(
        self, admin_user, account_manager, django_assert_max_num_queries
    ):
        contract = ContractFactory(name="Managed backup")
        from contracts.services import contract_update
        from msp.audit.context import audit_actor_set, audit_source

        with audit_source("test"):
            audit_actor_set(actor=account_manager)
            contract_update(contract=contract, monthly_fee=Decimal("99.00"))
        http = signed_in(admin_user)
        url = reverse("workspace:audit-list")
        query = {
            "model": "contracts.contract",
            "object": str(contract.pk),
            "actor": account_manager.email,
            "since": "2000-01-01",
            "until": "2999-12-31",
            "q": "99.00",
        }
        with django_assert_max_num_queries(20) as captured:  # sign-in middleware included
            response = http.get(url, query)
        assert response.status_code == 200
        # The page is one query for its rows, actors and record types, however many rows.
        assert sum("auditlog_logentry" in query["sql"] for query in captured.captured_queries) == 1
        rows = response.context["page"].rows
        assert [row.object_pk for row in rows] == [str(contract.pk)]
        assert b"Managed backup" in response.content
        assert http.get(url, {**query, "q": "no such text"}).context["page"].rows == []
        assert http.get(url, {**query, "until": "2001-01-01"}).context["page"].rows == []
        assert http.get(url, {**query, "actor": "nobody@"}).context["page"].rows == []

    def test_csv_export_is_formula_safe(self, admin_user):
        calendar = BusinessCalendar.objects.create(name='=HYPERLINK("x")', timezone="UTC")
        response = signed_in(admin_user).get(
            reverse("workspace:audit-list"),
            {"model": "sla.businesscalendar", "object": str(calendar.pk), "format": "csv"},
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv"
        body = b"".join(response.streaming_content).decode()
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[0][:3] == ["timestamp_utc", "action", "record"]
        (row,) = rows[1:]
        assert row[2] == "sla.businesscalendar"
        assert row[4] == '\'=HYPERLINK("x")'
        assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)

    def test_the_trail_cannot_be_edited_in_the_admin(self, admin_user, policy):
        entry = LogEntry.objects.first()
        http = signed_in(admin_user)
        assert http.get(reverse("admin:auditlog_logentry_changelist")).status_code == 200
        assert http.get(reverse("admin:auditlog_logentry_add")).status_code == 403
        delete = reverse("admin:auditlog_logentry_delete", args=[entry.pk])
        assert http.post(delete, {"post": "yes"}).status_code == 403
        assert LogEntry.objects.filter(pk=entry.pk).exists()


class TestObjectHistory:
    def test_calendar_history_shows_its_holidays(self, account_manager, technician):
        calendar = business_hours_calendar()
        holiday_add(calendar=calendar, day=date(2026, 5, 1), name="Labour Day")
        url = reverse("workspace:audit-object", args=["sla.businesscalendar", calendar.pk])
        response = signed_in(account_manager).get(url)
        assert response.status_code == 200
        assert b"Labour Day" in response.content
        assert signed_in(technician).get(url).status_code == 403
        detail = signed_in(account_manager).get(reverse("sla:calendar-detail", args=[calendar.pk]))
        assert url.encode() in detail.content

    def test_unaudited_or_unknown_records_are_not_found(self, admin_user):
        http = signed_in(admin_user)
        assert (
            http.get(reverse("workspace:audit-object", args=["msp.heartbeat", 1])).status_code
            == 404
        )
        assert http.get(reverse("workspace:audit-object", args=["nope.nope", 1])).status_code == 404


@pytest.mark.postgres
@pytest.mark.skipif(not settings.POSTGRES_AVAILABLE, reason="needs PostgreSQL")
def test_postgresql_refuses_to_change_or_delete_audit_rows(technician):
    from msp.audit.context import audit_actor_set, audit_source
    from tests.factories import StaffFactory

    someone = StaffFactory(role=UserRole.ADMIN)
    with audit_source("test"):
        audit_actor_set(actor=someone)
        token, _ = api_token_create(user=technician, name="t", scope="read")
    entry = entries_for(ApiToken, token.pk)[0]
    assert entry.actor == someone
    for statement in (
        "UPDATE auditlog_logentry SET object_repr = 'x' WHERE id = %s",
        "UPDATE auditlog_logentry SET actor_id = NULL, actor_email = '' WHERE id = %s",
        "DELETE FROM auditlog_logentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    # Deleting a user unlinks the rows that name them, which keep their email.
    someone.delete()
    entry.refresh_from_db()
    assert entry.actor is None
    assert entry.actor_email == someone.email


def test_token_authentication_names_the_actor_inside_the_middlewares_scope(rf, technician):
    from msp.audit.context import AuditContext, audit_scope

    _, secret = api_token_create(user=technician, name="n", scope="read")
    request = rf.get("/api/v1/", HTTP_AUTHORIZATION=f"Bearer {secret}")
    with audit_scope(AuditContext(source="api", request=request)) as context:
        TokenAuthentication().authenticate(request)
        assert context.current_actor() == technician
        assert context.token.name == "n"


def test_team_membership_and_clients_are_recorded(technician, client_a):
    from msp.models import Team
    from tests.factories import TeamFactory

    team = TeamFactory(name="Pod audit")
    team.members.add(technician)
    team.clients.add(client_a)
    changes = [entry.changes for entry in entries_for(Team, team.pk)]
    assert {"members": {"type": "m2m", "operation": "add", "objects": [str(technician)]}} in changes
    assert {"clients": {"type": "m2m", "operation": "add", "objects": [str(client_a)]}} in changes


def test_rows_hold_the_objects_own_values_never_a_related_manager(policy):
    from auditlog.models import LogEntry

    from tests.factories import ContractFactory

    ContractFactory()
    text = repr(list(LogEntry.objects.values_list("changes_text", "changes")))
    assert ".None" not in text
