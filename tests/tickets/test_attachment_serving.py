"""Ticket files leave only through the three permission-checked views (workspace, portal, API),
which share one response: streamed, handed to nginx (X-Accel-Redirect) or Apache (X-Sendfile),
always as a download that no shared cache keeps. The bucket (S3) side is in
test_attachment_serving_s3.py."""

from urllib.parse import unquote

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from msp import storage
from tests.factories import StaffFactory, TeamFactory
from tests.helpers import signed_in
from tickets.attachments import attachment_content_type
from tickets.services import attachment_add, ticket_note, ticket_open
from tickets.services.files import attach
from tickets.services.write import TicketWrite

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _files_of(client, author):
    """A ticket of `client` with a public file and a file on an internal note."""
    ticket = ticket_open(client=client, subject="Printer jams")
    public = attachment_add(
        ticket=ticket,
        upload=SimpleUploadedFile("jam.png", b"\x89PNG public", content_type="image/png"),
        user=author,
    )
    note = ticket_note(ticket=ticket, author=author, body="Internal: the tray is cracked")
    internal = attach(
        TicketWrite(ticket, author, ticket.created_at),
        SimpleUploadedFile("quote.txt", b"internal price", content_type="text/plain"),
        note,
    )
    return ticket, public, internal


@pytest.fixture
def world(client_a, client_b, client_user_a, client_user_b):
    """Two clients, each with a public and an internal file; a technician of a team serving
    client A only and one serving client B only."""
    tech_a = StaffFactory(teams=[TeamFactory(name="Team A")])
    tech_a.teams.get().clients.add(client_a)
    tech_b = StaffFactory(teams=[TeamFactory(name="Team B")])
    tech_b.teams.get().clients.add(client_b)
    ticket_a, public_a, internal_a = _files_of(client_a, tech_a)
    return {
        "tech_a": tech_a,
        "tech_b": tech_b,
        "user_a": client_user_a,
        "user_b": client_user_b,
        "public": (ticket_a, public_a),
        "internal": (ticket_a, internal_a),
    }


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _get(view: str, viewer, ticket, attachment, api_as):
    if view == "api":
        return api_as(viewer, "read").get(
            f"/api/v1/tickets/{ticket.pk}/attachments/{attachment.pk}/"
        )
    return signed_in(viewer).get(reverse(view, args=[ticket.pk, attachment.pk]))


# Who gets a file through which view: 200 with the bytes, or 404 (no hint that it exists).
# Client users are refused the workspace view, and staff the portal view (403).
MATRIX = [
    ("tickets:attachment", "tech_a", "public", 200),
    ("tickets:attachment", "tech_a", "internal", 200),
    ("tickets:attachment", "tech_b", "public", 404),
    ("tickets:attachment", "tech_b", "internal", 404),
    ("tickets:attachment", "user_a", "public", 403),
    ("tickets:attachment", "user_b", "public", 403),
    ("portal:attachment", "user_a", "public", 200),
    ("portal:attachment", "user_a", "internal", 404),
    ("portal:attachment", "user_b", "public", 404),
    ("portal:attachment", "user_b", "internal", 404),
    ("portal:attachment", "tech_a", "public", 403),
    ("api", "tech_a", "public", 200),
    ("api", "tech_a", "internal", 200),
    ("api", "tech_b", "public", 404),
    ("api", "tech_b", "internal", 404),
    ("api", "user_a", "public", 200),
    ("api", "user_a", "internal", 404),
    ("api", "user_b", "public", 404),
    ("api", "user_b", "internal", 404),
]


@pytest.mark.parametrize("mode", [storage.STREAM, storage.X_ACCEL_REDIRECT, storage.X_SENDFILE])
@pytest.mark.parametrize("view, viewer, which, expected", MATRIX)
def test_cross_client_matrix(world, api_as, settings, mode, view, viewer, which, expected):
    settings.ATTACHMENT_SERVING = mode
    ticket, attachment = world[which]
    response = _get(view, world[viewer], ticket, attachment, api_as)
    assert response.status_code == expected
    offload = {"X-Accel-Redirect", "X-Sendfile"} & set(response.headers)
    if expected == 200:
        assert response["Content-Disposition"].startswith("attachment;")
        if mode == storage.STREAM:
            assert _body(response) == attachment.file.open("rb").read()
        else:
            assert offload
    else:
        assert not offload, "a refused request must not hand the file to the web server"
        assert not getattr(response, "streaming", False)


@pytest.mark.parametrize("view", ["tickets:attachment", "portal:attachment", "api"])
def test_a_file_of_another_ticket_is_not_found_through_this_ticket(world, api_as, view):
    """The file id alone is not enough: it must belong to the ticket in the URL."""
    viewer = world["user_a"] if view == "portal:attachment" else world["tech_a"]
    ticket, attachment = world["public"]
    other = ticket_open(client=ticket.client, subject="Another")
    assert _get(view, viewer, other, attachment, api_as).status_code == 404


def test_streamed_download_headers(world):
    ticket, attachment = world["public"]
    response = signed_in(world["tech_a"]).get(
        reverse("tickets:attachment", args=[ticket.pk, attachment.pk])
    )
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="jam.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert response["Content-Length"] == str(len(b"\x89PNG public"))
    assert "ETag" not in response


def test_x_accel_redirect_names_the_internal_location_and_sends_no_body(world, settings, media):
    settings.ATTACHMENT_SERVING = storage.X_ACCEL_REDIRECT
    ticket, attachment = world["public"]
    response = signed_in(world["tech_a"]).get(
        reverse("tickets:attachment", args=[ticket.pk, attachment.pk])
    )
    target = response["X-Accel-Redirect"]
    assert target == f"/protected-media/{attachment.file.name}"
    assert (media / unquote(target.removeprefix("/protected-media/"))).read_bytes() == (
        b"\x89PNG public"
    )
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="jam.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_x_sendfile_gives_apache_the_absolute_path(world, settings, media):
    settings.ATTACHMENT_SERVING = storage.X_SENDFILE
    ticket, attachment = world["internal"]
    response = signed_in(world["tech_a"]).get(
        reverse("tickets:attachment", args=[ticket.pk, attachment.pk])
    )
    path = unquote(response["X-Sendfile"])
    assert path == str(media / attachment.file.name)
    with open(path, "rb") as sent:
        assert sent.read() == b"internal price"
    assert response.content == b""
    assert response["Content-Disposition"] == 'attachment; filename="quote.txt"'


def test_a_name_outside_ascii_is_sent_as_rfc_6266_filename_star(client_a, technician, settings):
    ticket = ticket_open(client=client_a, subject="Invoice")
    attachment = attachment_add(
        ticket=ticket,
        upload=SimpleUploadedFile('Rechnung "März" €.pdf', b"%PDF", content_type="application/pdf"),
        user=technician,
    )
    for mode in (storage.STREAM, storage.X_ACCEL_REDIRECT):
        settings.ATTACHMENT_SERVING = mode
        response = signed_in(technician).get(
            reverse("tickets:attachment", args=[ticket.pk, attachment.pk])
        )
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment; filename*=utf-8''")
        assert unquote(disposition.split("''", 1)[1]) == attachment.filename
        # The header itself is plain ASCII: nothing a proxy could mangle or split.
        disposition.encode("ascii")
        assert "\n" not in disposition and '"M' not in disposition


@pytest.mark.parametrize(
    "claimed, sent",
    [
        ("image/png", "image/png"),
        ("TEXT/PLAIN", "text/plain"),
        ("", "application/octet-stream"),
        ("text/html\r\nX-Injected: 1", "application/octet-stream"),
        ("text/html; charset=utf-8", "application/octet-stream"),
        ("not a type", "application/octet-stream"),
    ],
)
def test_the_claimed_content_type_is_sent_only_when_it_is_a_plain_type(claimed, sent):
    from tickets.models import Attachment

    assert attachment_content_type(Attachment(content_type=claimed)) == sent


def test_a_file_missing_from_storage_is_a_404(world, media):
    ticket, attachment = world["public"]
    (media / attachment.file.name).unlink()
    response = signed_in(world["tech_a"]).get(
        reverse("tickets:attachment", args=[ticket.pk, attachment.pk])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "environment, message",
    [
        ({"ATTACHMENT_STORAGE": "ftp"}, "must be local or s3"),
        ({"ATTACHMENT_SERVING": "x-accel"}, "must be one of"),
        ({"ATTACHMENT_SERVING": "redirect"}, "does not work with ATTACHMENT_STORAGE=local"),
        (
            {
                "ATTACHMENT_STORAGE": "s3",
                "AWS_STORAGE_BUCKET_NAME": "b",
                "ATTACHMENT_SERVING": "x-sendfile",
            },
            "does not work with ATTACHMENT_STORAGE=s3",
        ),
        ({"ATTACHMENT_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME is required"),
    ],
)
def test_storage_settings_that_cannot_work_stop_start_up(monkeypatch, environment, message):
    for name in ("ATTACHMENT_STORAGE", "ATTACHMENT_SERVING", "AWS_STORAGE_BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        storage.serving_mode_from_env(storage.default_storage_from_env())


def test_s3_without_the_s3_extra_stops_start_up(monkeypatch):
    import importlib.util

    monkeypatch.setenv("ATTACHMENT_STORAGE", "s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "msp-files")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "storages" else real_find_spec(name, *args),
    )
    with pytest.raises(ImproperlyConfigured, match=r"pip install '\.\[s3\]'"):
        storage.default_storage_from_env()


def test_s3_storage_options_from_the_environment(monkeypatch):
    monkeypatch.setenv("ATTACHMENT_STORAGE", "s3")
    monkeypatch.setenv("AWS_STORAGE_BUCKET_NAME", "msp-files")
    monkeypatch.setenv("AWS_S3_ENDPOINT_URL", "https://minio.internal:9000")
    monkeypatch.setenv("ATTACHMENT_SERVING", "redirect")
    chosen = storage.default_storage_from_env()
    assert chosen["BACKEND"] == "storages.backends.s3.S3Storage"
    options = chosen["OPTIONS"]
    assert options["bucket_name"] == "msp-files"
    assert options["endpoint_url"] == "https://minio.internal:9000"
    assert options["file_overwrite"] is False and options["default_acl"] is None
    assert storage.serving_mode_from_env(chosen) == storage.SIGNED_REDIRECT
