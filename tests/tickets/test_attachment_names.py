"""Attachment names are normalised before the blocked-extension check, on every path that
adds a file (workspace, portal, API, email): tricks that hide an executable are refused."""

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from msp.text import file_name
from tests.factories import TicketFactory
from tickets.choices import InboundStatus
from tickets.intake.mail import email_ingest
from tickets.services import attachment_add

EMAILS = Path(__file__).parent / "emails"


@pytest.mark.parametrize(
    "name, stored",
    [
        ("evil.exe ", "evil.exe"),
        ("evil.exe.", "evil.exe"),
        ("evil.exe. . ", "evil.exe"),
        ("evil.EXE", "evil.EXE"),
        ("evil\x00.exe", "evil.exe"),
        ("evil.exe\x00.txt", "evil.exe.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override
        ("evil.e\u200bxe", "evil.exe"),  # zero-width space
        ("evil.\uff45\uff58\uff45", "evil.exe"),  # full-width letters
        ("C:\\Users\\x\\evil.exe", "evil.exe"),
        ("../../evil.exe", "evil.exe"),
        ("evil.exe::$DATA", "evil.exe__$DATA"),
        ("  report.pdf  ", "report.pdf"),
        ("...", "file"),
        ("", "file"),
    ],
)
def test_file_names_are_normalised(name, stored):
    assert file_name(name) == stored


def test_a_long_name_keeps_its_extension():
    assert file_name("a" * 300 + ".exe").endswith(".exe")
    assert len(file_name("a" * 300 + ".exe")) == 255


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["evil.exe ", "evil.exe.", "evil.EXE", "evil.exe\x00", "evil\u202e.exe", "evil.ex\u200be"],
)
def test_disguised_executables_are_refused(policy, client_a, technician, settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path
    ticket = TicketFactory(client=client_a)
    with pytest.raises(ValidationError, match=r"\.exe files are not accepted"):
        attachment_add(ticket=ticket, upload=SimpleUploadedFile(name, b"MZ"), user=technician)
    assert not ticket.attachments.exists()


@pytest.mark.django_db
def test_the_stored_name_is_the_normalised_one(policy, client_a, technician, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = TicketFactory(client=client_a)
    upload = SimpleUploadedFile("notes\u202e.txt ", b"hello")
    assert attachment_add(ticket=ticket, upload=upload, user=technician).filename == "notes.txt"


@pytest.mark.django_db
def test_an_email_with_a_disguised_executable_is_quarantined(paula, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    message = (EMAILS / "multipart_attachment.eml").read_bytes()
    message = message.replace(b'filename="log.txt"', b'filename="log.exe."')
    row = email_ingest(raw=message)
    assert row.status == InboundStatus.QUARANTINED
    assert ".exe files are not accepted" in row.reason
