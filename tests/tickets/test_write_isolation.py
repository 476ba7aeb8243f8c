"""Tenancy on every write path (SPEC section 11): each way of changing the record (API
actions, alert intake in both formats, email intake, portal forms, workspace forms, CSAT
links), given references to another client's objects, answers 400/403/404 and changes
nothing of that client's record.

The matrix is one table: add a row whenever a write path is added, and the footprint check
covers it for every kind of record at once."""

from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.utils import timezone

from contracts.services import contract_create
from msp.choices import Tier, UserRole
from sla.models import SLAClock
from tests.factories import AssetFactory, ContactFactory, SiteFactory, StaffFactory
from tickets import services
from tickets.csat import SALT
from tickets.intake.mail import email_ingest
from tickets.models import (
    Alert,
    Attachment,
    Comment,
    EmailThreadMessage,
    SatisfactionSurvey,
    Ticket,
    TimeEntry,
    TimelineEvent,
)

pytestmark = pytest.mark.django_db
REFUSED = {400, 403, 404}


@pytest.fixture
def world(client_a, client_b, policy, client_user_a, client_user_b, api_as):
    """Each client with a contact, site, asset, an open ticket with a conversation, a file,
    time and a firing alert, and a resolved ticket with a satisfaction survey."""
    technician = StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1)
    rows = {}
    for key, client, user in (("a", client_a, client_user_a), ("b", client_b, client_user_b)):
        from datetime import date

        contract_create(
            client=client,
            number=f"C-{key}",
            name="Managed",
            start_date=date(2026, 1, 1),
            sla_policy=policy,
        )
        contact = ContactFactory(client=client, email=f"it@{key}.example", user=user)
        site = SiteFactory(client=client)
        asset = AssetFactory(client=client, hostname=f"srv-{key}", rmm_id=f"RMM-{key}")
        ticket = services.ticket_open(
            client=client, contact=contact, site=site, asset=asset, subject=f"Open {key}"
        )
        services.ticket_reply(ticket=ticket, author=technician, body="Looking")
        services.attachment_add(
            ticket=ticket,
            upload=SimpleUploadedFile("log.txt", b"log", content_type="text/plain"),
            user=technician,
        )
        services.time_entry_log(ticket=ticket, user=technician, minutes=15)
        resolved = services.ticket_open(client=client, contact=contact, subject=f"Done {key}")
        services.ticket_resolve(ticket=resolved, actor=technician, resolution="Fixed")
        alerts = api_as(user, "alerts")
        alerts.post(
            "/api/v1/alerts/alertmanager/",
            {
                "version": "4",
                "status": "firing",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": "DiskFull", "instance": f"{asset.hostname}:9100"},
                        "fingerprint": "disk",
                    }
                ],
            },
            format="json",
        )
        alerts.post(
            "/api/v1/alerts/",
            {
                "source": "zabbix",
                "fingerprint": "disk",
                "severity": "critical",
                "summary": "Disk full",
                "asset": asset.rmm_id,
            },
            format="json",
        )
        rows[key] = {
            "client": client,
            "user": user,
            "contact": contact,
            "site": site,
            "asset": asset,
            "ticket": ticket,
            "resolved": resolved,
            "file": Attachment.objects.get(ticket=ticket),
            "survey": SatisfactionSurvey.objects.get(ticket=resolved),
        }
    rows["technician"] = technician
    return rows


def footprint(client) -> dict:
    """Everything of one client's record that a write could change."""
    return {
        "tickets": list(
            Ticket.objects.filter(client=client)
            .order_by("pk")
            .values(
                "pk",
                "status",
                "priority",
                "tier",
                "assignee_id",
                "contact_id",
                "site_id",
                "asset_id",
                "parent_id",
                "merged_into_id",
                "updated_at",
            )
        ),
        "comments": list(
            Comment.objects.filter(ticket__client=client).order_by("pk").values_list("pk", "body")
        ),
        "events": TimelineEvent.objects.filter(ticket__client=client).count(),
        "clocks": list(
            SLAClock.objects.filter(client=client).order_by("pk").values_list("pk", "updated_at")
        ),
        "time": TimeEntry.objects.filter(ticket__client=client).count(),
        "files": list(Attachment.objects.filter(ticket__client=client).values_list("pk", "ticket")),
        "alerts": list(
            Alert.objects.filter(client=client)
            .order_by("pk")
            .values_list("pk", "occurrences", "resolved_at", "ticket_id")
        ),
        "surveys": list(
            SatisfactionSurvey.objects.filter(ticket__client=client).values_list(
                "pk", "rating", "comment"
            )
        ),
    }


# Each path gets the world and returns the HTTP status (or an equivalent for email) of an
# attempt by client A's people (or staff) to write with client B's references.


def _api(world, api_as, user_key="a", scope="write"):
    user = world["technician"] if user_key == "staff" else world[user_key]["user"]
    return api_as(user, scope)


def api_ticket_action(action, body=None):
    def attempt(world, api_as, whose="b"):
        other = world[whose]["resolved" if action == "reopen" else "ticket"]
        url = f"/api/v1/tickets/{other.pk}/{action}/"
        return _api(world, api_as).post(url, body or {}, format="json").status_code

    return attempt


def api_attach(world, api_as, whose="b"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/api/v1/tickets/{world[whose]['ticket'].pk}/attachments/"
    upload = {"file": SimpleUploadedFile("mine.txt", b"mine")}
    return _api(world, api_as).post(url, upload, format="multipart").status_code


def api_staff_parent_across(world, api_as, whose="b"):
    url = f"/api/v1/tickets/{world['a']['ticket'].pk}/parent/"
    body = {"parent": world[whose]["ticket"].pk}
    return _api(world, api_as, "staff").post(url, body, format="json").status_code


def api_create_with(field):
    def attempt(world, api_as, whose="b"):
        body = {"subject": "Mine", field: world[whose][field].pk}
        return _api(world, api_as).post("/api/v1/tickets/", body, format="json").status_code

    return attempt


def api_staff_create_with(field):
    def attempt(world, api_as, whose="b"):
        body = {"client": world["a"]["client"].pk, "subject": "Mine", field: world[whose][field].pk}
        client = _api(world, api_as, "staff")
        return client.post("/api/v1/tickets/", body, format="json").status_code

    return attempt


def api_staff_merge_across(world, api_as, whose="b"):
    url = f"/api/v1/tickets/{world['a']['ticket'].pk}/merge/"
    client = _api(world, api_as, "staff")
    return client.post(url, {"into": world[whose]["ticket"].pk}, format="json").status_code


def api_staff_contact_across(world, api_as, whose="b"):
    url = f"/api/v1/tickets/{world['a']['ticket'].pk}/contact/"
    client = _api(world, api_as, "staff")
    return client.post(url, {"contact": world[whose]["contact"].pk}, format="json").status_code


def api_directory_patch(resource, key):
    def attempt(world, api_as, whose="b"):
        url = f"/api/v1/{resource}/{world[whose][key].pk}/"
        return _api(world, api_as).patch(url, {"name": "Mine"}, format="json").status_code

    return attempt


def generic_alert(status, **target):
    def attempt(world, api_as, whose="b"):
        body = {
            "source": "zabbix",
            "fingerprint": "disk",
            "status": status,
            "severity": "critical",
            "summary": "Disk full",
            **{k: v(world, whose) for k, v in target.items()},
        }
        response = _api(world, api_as, "a", "alerts").post("/api/v1/alerts/", body, format="json")
        return _alert_status(world[whose], response)

    return attempt


def alertmanager_alert(status, **labels):
    def attempt(world, api_as, whose="b"):
        alert = {
            "status": status,
            "labels": {
                "alertname": "DiskFull",
                "severity": "critical",
                **{k: v(world, whose) for k, v in labels.items()},
            },
            "annotations": {"summary": "Disk full"},
            "startsAt": "2026-11-22T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "disk",
        }
        body = {
            "version": "4",
            "groupKey": "{}:{}",
            "status": status,
            "receiver": "psa",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [alert],
        }
        client = _api(world, api_as, "a", "alerts")
        return _alert_status(
            world[whose], client.post("/api/v1/alerts/alertmanager/", body, format="json")
        )

    return attempt


def _alert_status(target: dict, response) -> int:
    """A 2xx alert answer is a refusal only when it names none of the target client's tickets."""
    if response.status_code != 202:
        return response.status_code
    theirs = set(Ticket.objects.filter(client=target["client"]).values_list("pk", flat=True))
    named = {result["ticket"] for result in response.json()["results"]}
    return 404 if not named & theirs else 202


def portal_reply(world, api_as, whose="b"):
    browser = HttpClient()
    browser.force_login(world["a"]["user"])
    url = f"/portal/tickets/{world[whose]['ticket'].pk}/"
    return browser.post(url, {"body": "Hello"}).status_code


def portal_create_with(field):
    def attempt(world, api_as, whose="b"):
        browser = HttpClient()
        browser.force_login(world["a"]["user"])
        form = {
            "subject": "Mine",
            "description": "Broken",
            "type": "incident",
            "impact": "low",
            "urgency": "medium",
            field: world[whose][field].pk,
        }
        return browser.post("/portal/tickets/new/", form).status_code

    return attempt


def workspace_post(action, field_value):
    def attempt(world, api_as, whose="b"):
        browser = HttpClient()
        browser.force_login(world["technician"])
        field, value = field_value(world, whose)
        url = f"/workspace/tickets/{world['a']['ticket'].pk}/{action}/"
        return browser.post(url, {field: value}).status_code

    return attempt


def workspace_create_with(field):
    def attempt(world, api_as, whose="b"):
        browser = HttpClient()
        browser.force_login(world["technician"])
        form = {
            "client": world["a"]["client"].pk,
            "subject": "Phone call",
            "description": "Broken",
            "type": "incident",
            "impact": "low",
            "urgency": "medium",
            "source": "phone",
            field: world[whose][field].pk,
        }
        return browser.post("/workspace/tickets/new/", form).status_code

    return attempt


def email_from_a(threading):
    def attempt(world, api_as, whose="b"):
        other = world[whose]["ticket"]
        message = EmailMessage()
        message["From"] = f"Client A IT <{world['a']['contact'].email}>"
        message["To"] = "support@demo.msp"
        message["Date"] = format_datetime(timezone.now())
        message["Message-ID"] = make_msgid(domain="a.example")
        message["Subject"] = f"RE: [{other.number}] {other.subject}"
        if threading == "references":
            message.replace_header("Subject", "RE: your ticket")
            sent = EmailThreadMessage.objects.filter(ticket=other).first()
            message["In-Reply-To"] = sent.message_id
            message["References"] = sent.message_id
        message.set_content("Please close this one.\n")
        email_ingest(raw=message.as_bytes())
        return (
            404
            if not Comment.objects.filter(ticket=other, body__contains="close").exists()
            else 200
        )

    return attempt


def csat_forged(path):
    def attempt(world, api_as, whose="b"):
        # A link to the other client's survey that its contact was never sent.
        token = signing.dumps(world[whose]["survey"].pk, salt=SALT + "-guess", compress=True)
        browser = HttpClient()
        browser.force_login(world["a"]["user"])
        if path == "rate":
            return browser.get(f"/csat/{token}/1/").status_code
        return browser.post(f"/csat/{token}/comment/", {"comment": "Bad"}).status_code

    return attempt


WRITE_PATHS = {
    # The API, as client A's user.
    "api create with B's contact": api_create_with("contact"),
    "api create with B's site": api_create_with("site"),
    "api create with B's asset": api_create_with("asset"),
    "api reply on B's ticket": api_ticket_action("reply", {"body": "x"}),
    "api reopen B's ticket": api_ticket_action("reopen", {"reason": "x"}),
    "api note": api_ticket_action("note", {"body": "x"}),
    "api acknowledge": api_ticket_action("acknowledge"),
    "api assign": api_ticket_action("assign", {"assignee": None}),
    "api status": api_ticket_action("status", {"status": "in_progress"}),
    "api priority": api_ticket_action("priority", {"priority": "P1", "reason": "x"}),
    "api escalate": api_ticket_action("escalate", {"reason": "x"}),
    "api resolve": api_ticket_action("resolve", {"resolution": "x"}),
    "api merge": api_ticket_action("merge", {"into": 1}),
    "api log time": api_ticket_action("log-time", {"minutes": 5}),
    "api patch B's site": api_directory_patch("sites", "site"),
    "api patch B's contact": api_directory_patch("contacts", "contact"),
    "api patch B's asset": api_directory_patch("assets", "asset"),
    # The API, as staff, mixing two clients' objects.
    "api staff create for A with B's contact": api_staff_create_with("contact"),
    "api staff create for A with B's site": api_staff_create_with("site"),
    "api staff create for A with B's asset": api_staff_create_with("asset"),
    "api staff merge A into B": api_staff_merge_across,
    "api contact": api_ticket_action("contact", {"contact": None}),
    "api close": api_ticket_action("close"),
    "api parent": api_ticket_action("parent", {"parent": None}),
    "api attachments on B's ticket": api_attach,
    "api staff parent of A is B": api_staff_parent_across,
    "api staff contact of A is B's": api_staff_contact_across,
    # Alerts, with client A's alert token.
    "alert fire on B's asset": generic_alert(
        "firing", asset=lambda w, whose: w[whose]["asset"].rmm_id
    ),
    "alert fire on B's host": generic_alert(
        "firing", host=lambda w, whose: w[whose]["asset"].hostname
    ),
    "alert fire naming B": generic_alert("firing", client=lambda w, whose: w[whose]["client"].slug),
    "alert resolve B's fingerprint": generic_alert("resolved"),
    "alert resolve naming B's asset": generic_alert(
        "resolved", asset=lambda w, whose: w[whose]["asset"].rmm_id
    ),
    "alertmanager fire on B's host": alertmanager_alert(
        "firing", instance=lambda w, whose: f"{w[whose]['asset'].hostname}:9100"
    ),
    "alertmanager fire naming B": alertmanager_alert(
        "firing", client=lambda w, whose: w[whose]["client"].slug
    ),
    "alertmanager resolve B's fingerprint": alertmanager_alert("resolved"),
    # Email from client A's contact, threaded at B's ticket.
    "email with B's ticket tag": email_from_a("subject"),
    "email in reply to B's thread": email_from_a("references"),
    # Portal forms, as client A's user.
    "portal reply on B's ticket": portal_reply,
    "portal ticket with B's site": portal_create_with("site"),
    "portal ticket with B's asset": portal_create_with("asset"),
    # Workspace forms, as staff, mixing two clients' objects.
    "workspace merge A into B": workspace_post(
        "merge", lambda w, whose: ("target", w[whose]["ticket"].pk)
    ),
    "workspace contact of A is B's": workspace_post(
        "contact", lambda w, whose: ("contact", w[whose]["contact"].pk)
    ),
    "workspace parent of A is B": workspace_post(
        "parent", lambda w, whose: ("parent", w[whose]["ticket"].pk)
    ),
    "workspace new ticket for A with B's contact": workspace_create_with("contact"),
    "workspace new ticket for A with B's site": workspace_create_with("site"),
    "workspace new ticket for A with B's asset": workspace_create_with("asset"),
    # Satisfaction links that were never sent.
    "csat rate B's survey": csat_forged("rate"),
    "csat comment on B's survey": csat_forged("comment"),
}


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_no_write_path_reaches_another_clients_record(path, world, api_as):
    theirs = footprint(world["b"]["client"])
    tickets_before = Ticket.objects.count()

    answer = WRITE_PATHS[path](world, api_as)

    assert answer in REFUSED
    assert footprint(world["b"]["client"]) == theirs
    if not path.startswith("email"):  # an email may open a ticket of its own client
        assert Ticket.objects.count() == tickets_before


def test_the_matrix_covers_every_ticket_api_action(world):
    """A new ticket action must get a row above."""
    from tickets.api import TicketViewSet

    writes = {
        action.url_path for action in TicketViewSet.get_extra_actions() if "post" in action.mapping
    }
    covered = {name.split()[1] for name in WRITE_PATHS if name.startswith("api ")} | {"log-time"}
    assert writes <= covered, writes - covered


CONTROLS = [
    "api create with B's contact",
    "api create with B's site",
    "api create with B's asset",
    "api reply on B's ticket",
    "api reopen B's ticket",
    "api attachments on B's ticket",
    "api patch B's site",
    "api staff create for A with B's contact",
    "api staff create for A with B's asset",
    "alert fire on B's asset",
    "alert fire on B's host",
    "alert resolve B's fingerprint",
    "alertmanager fire on B's host",
    "alertmanager resolve B's fingerprint",
    "email with B's ticket tag",
    "email in reply to B's thread",
    "portal reply on B's ticket",
    "portal ticket with B's site",
    "portal ticket with B's asset",
    "workspace new ticket for A with B's contact",
    "workspace contact of A is B's",
    "api staff contact of A is B's",
    "workspace new ticket for A with B's asset",
]


@pytest.mark.parametrize("path", CONTROLS)
def test_the_same_write_with_ones_own_references_goes_through(path, world, api_as):
    """Controls for the matrix: each refusal above is about whose objects were named, not a
    request that would fail anyway. (Directory writes stay staff-only: 403 for both.)"""
    answer = WRITE_PATHS[path](world, api_as, whose="a")
    expected = {403} if path.startswith("api patch") else {200, 201, 202, 302}
    assert answer in expected


def test_a_signed_link_still_works(world):
    """The refusals above are about the references, not a broken path."""
    from tickets.csat import survey_token

    survey = world["b"]["survey"]
    assert HttpClient().get(f"/csat/{survey_token(survey)}/5/").status_code == 200
    survey.refresh_from_db()
    assert survey.rating == 5
    assert survey.sent_at <= timezone.now() + timedelta(seconds=1)


# Staff scoped to their teams' clients: a technician whose only team serves client A tries
# every ticket action on client B's ticket, over the API and in the workspace.


def _ticket_api_posts() -> list[str]:
    from tickets.api import TicketViewSet

    return sorted(
        action.url_path
        for action in TicketViewSet.get_extra_actions()
        if action.detail and "post" in action.mapping
    )


def _workspace_ticket_posts() -> list[str]:
    from django.urls import get_resolver

    names = get_resolver().namespace_dict["tickets"][1].reverse_dict.keys()
    return sorted(
        name
        for name in names
        if isinstance(name, str)
        and name not in ("detail", "sla", "attachment", "queue", "create", "client-fields")
        and name != "unrouted-alerts"
        # GET-only (polls, the canned menu and insert: their GETs of another client's ticket
        # are 404 in tests/msp/test_workspace_isolation.py) or no ticket at all (canned pages).
        and name not in ("live", "queue-live", "canned-menu", "canned-insert")
        and not name.startswith("canned-")
        # Not one ticket's URL: bulk changes (another client's tickets are refused as not found
        # in tests/msp/test_workspace_isolation.py and tests/tickets/test_bulk.py) and saved
        # views (a person's filters, no client's data).
        and name != "bulk"
        and not name.startswith("saved-view-")
    )


@pytest.fixture
def scoped_technician(world):
    from tests.factories import TeamFactory

    team = TeamFactory(name="Pod A")
    team.clients.set([world["a"]["client"]])
    return StaffFactory(role=UserRole.TECHNICIAN, tier=Tier.L1, teams=[team])


SCOPED_BODY = {
    "body": "x",
    "reason": "x",
    "resolution": "x",
    "minutes": 5,
    "status": "in_progress",
    "priority": "P1",
    "impact": "high",
    "urgency": "high",
    "assignee": None,
    "contact": None,
    "into": 1,
    "target": 1,
    "parent": 1,
}


@pytest.mark.parametrize("action", _ticket_api_posts())
def test_scoped_technician_changes_nothing_of_another_client_over_the_api(
    action, world, scoped_technician, api_as
):
    theirs = footprint(world["b"]["client"])
    url = f"/api/v1/tickets/{world['b']['resolved' if action == 'reopen' else 'ticket'].pk}/"
    answer = api_as(scoped_technician).post(f"{url}{action}/", SCOPED_BODY, format="json")
    assert answer.status_code == 404
    assert footprint(world["b"]["client"]) == theirs


@pytest.mark.parametrize("name", _workspace_ticket_posts())
def test_scoped_technician_changes_nothing_of_another_client_in_the_workspace(
    name, world, scoped_technician
):
    from django.urls import reverse

    theirs = footprint(world["b"]["client"])
    browser = HttpClient()
    browser.force_login(scoped_technician)
    form = {key: value for key, value in SCOPED_BODY.items() if value is not None}
    answer = browser.post(reverse(f"tickets:{name}", args=[world["b"]["ticket"].pk]), form)
    assert answer.status_code == 404
    assert footprint(world["b"]["client"]) == theirs


def test_the_scoped_matrix_covers_the_ticket_actions():
    assert {"reply", "note", "assign", "merge", "log-time", "reopen"} <= set(_ticket_api_posts())
    assert {"reply", "assign", "merge", "attach", "take", "time"} <= set(_workspace_ticket_posts())


@pytest.mark.parametrize("action", ["note", "reply", "log-time"])
def test_scoped_technician_works_their_own_clients_tickets(
    action, world, scoped_technician, api_as
):
    """Control: the same technician acts on client A's ticket."""
    url = f"/api/v1/tickets/{world['a']['ticket'].pk}/{action}/"
    answer = api_as(scoped_technician).post(url, {"body": "x", "minutes": 5}, format="json")
    assert answer.status_code in (200, 201), answer.json()


def test_scoped_technician_merges_and_links_only_within_their_clients(
    world, scoped_technician, api_as
):
    theirs = footprint(world["b"]["client"])
    own = world["a"]["ticket"]
    client = api_as(scoped_technician)
    answer = client.post(
        f"/api/v1/tickets/{own.pk}/merge/", {"into": world["b"]["ticket"].pk}, format="json"
    )
    assert answer.status_code == 400
    browser = HttpClient()
    browser.force_login(scoped_technician)
    url = f"/workspace/tickets/{own.pk}/parent/"
    assert browser.post(url, {"parent": world["b"]["ticket"].pk}).status_code == 400
    assert footprint(world["b"]["client"]) == theirs
