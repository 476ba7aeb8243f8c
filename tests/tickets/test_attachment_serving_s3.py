"""Ticket files in an S3-compatible bucket (ATTACHMENT_STORAGE=s3, django-storages), against a
real S3 server on loopback (moto's server mode): uploaded through the app, downloaded through
the permission-checked views, streamed or as a short signed link; other clients get a 404."""

import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from msp import storage
from tests.conftest import _missing_service
from tests.factories import StaffFactory, TeamFactory
from tests.helpers import signed_in
from tickets.services import ticket_open

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BUCKET = "msp-ticket-files"


@pytest.fixture(scope="module")
def s3_server():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        _missing_service("moto is not installed (bin/setup --dev installs moto[server])")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings, monkeypatch, tmp_path):
    """The app's default storage switched to a fresh bucket on the loopback S3 server, read
    from the environment the way the settings read it."""
    import boto3

    for name, value in {
        "ATTACHMENT_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_server,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_S3_ADDRESSING_STYLE": "path",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if BUCKET in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    else:
        s3.create_bucket(Bucket=BUCKET)
    settings.MEDIA_ROOT = tmp_path  # must stay empty: nothing is written locally
    settings.STORAGES = {**settings.STORAGES, "default": storage.default_storage_from_env()}
    return s3


@pytest.fixture
def people(client_a, client_b, client_user_a, client_user_b):
    tech_a = StaffFactory(teams=[TeamFactory(name="Team A")])
    tech_a.teams.get().clients.add(client_a)
    tech_b = StaffFactory(teams=[TeamFactory(name="Team B")])
    tech_b.teams.get().clients.add(client_b)
    return {"tech_a": tech_a, "tech_b": tech_b, "user_a": client_user_a, "user_b": client_user_b}


def _uploaded(people, client, name: str, content: bytes):
    """A file attached through the workspace's upload form, as a technician does it."""
    ticket = ticket_open(client=client, subject="Backup job failed")
    response = signed_in(people["tech_a"]).post(
        reverse("tickets:attach", args=[ticket.pk]),
        {"attachments": SimpleUploadedFile(name, content, content_type="text/plain")},
    )
    assert response.status_code == 302
    return ticket, ticket.attachments.get()


def _download(view, viewer, ticket, attachment, api_as):
    if view == "api":
        return api_as(viewer, "read").get(
            f"/api/v1/tickets/{ticket.pk}/attachments/{attachment.pk}/"
        )
    return signed_in(viewer).get(reverse(view, args=[ticket.pk, attachment.pk]))


VIEWS = [
    ("tickets:attachment", "tech_a", 200),
    ("tickets:attachment", "tech_b", 404),
    ("portal:attachment", "user_a", 200),
    ("portal:attachment", "user_b", 404),
    ("api", "user_a", 200),
    ("api", "user_b", 404),
    ("api", "tech_b", 404),
]


def test_an_upload_goes_to_the_bucket_and_is_streamed_back_only_to_those_allowed(
    bucket, people, client_a, api_as, settings, tmp_path
):
    settings.ATTACHMENT_SERVING = storage.STREAM
    content = b"job 4711 failed: disk full\n" * 1000
    ticket, attachment = _uploaded(people, client_a, "backup.log", content)
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [attachment.file.name]
    assert bucket.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read() == content
    assert not any(tmp_path.iterdir()), "the file was written to local disk"
    for view, viewer, expected in VIEWS:
        response = _download(view, people[viewer], ticket, attachment, api_as)
        assert response.status_code == expected, (view, viewer)
        if expected == 200:
            assert b"".join(response.streaming_content) == content, (view, viewer)
            assert response["Content-Disposition"] == 'attachment; filename="backup.log"'
            assert response["X-Content-Type-Options"] == "nosniff"
            assert "no-store" in response["Cache-Control"]


def test_two_files_of_one_name_are_two_objects(bucket, people, client_a):
    _, first = _uploaded(people, client_a, "report.pdf", b"first")
    _, second = _uploaded(people, client_a, "report.pdf", b"second")
    assert first.file.name != second.file.name
    assert first.file.open("rb").read() == b"first"
    assert second.file.open("rb").read() == b"second"


def test_signed_redirect_sends_a_short_link_only_to_those_allowed(
    bucket, people, client_a, api_as, settings
):
    settings.ATTACHMENT_SERVING = storage.SIGNED_REDIRECT
    ticket, attachment = _uploaded(people, client_a, "Übergabe notes.txt", b"handover")
    for view, viewer, expected in VIEWS:
        response = _download(view, people[viewer], ticket, attachment, api_as)
        if expected != 200:
            assert response.status_code == 404, (view, viewer)
            assert "Location" not in response
            continue
        assert response.status_code == 302, (view, viewer)
        assert "no-store" in response["Cache-Control"]
        link = response["Location"]
        query = parse_qs(urlsplit(link).query)
        assert query["X-Amz-Expires"] == ["60"]
        assert "X-Amz-Signature" in query
        # The bucket answers the link itself, with the app's download headers.
        with urllib.request.urlopen(link, timeout=10) as fetched:  # noqa: S310 (loopback)
            assert fetched.read() == b"handover"
            assert fetched.headers["Content-Disposition"].startswith(
                "attachment; filename*=utf-8''"
            )
            assert fetched.headers["Content-Type"] == "text/plain"
