"""The Sent mail page: administrators read the email the embedded default writes to files."""

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.urls import reverse

from msp.sent_mail import FILE_BACKEND, sent_mail_files, sent_mail_read
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def files_backend(settings, tmp_path):
    """Email written to files, in DEBUG: what msp.settings.dev sets up."""
    settings.DEBUG = True
    settings.EMAIL_BACKEND = FILE_BACKEND
    settings.EMAIL_FILE_PATH = tmp_path / "sent-mail"
    return settings.EMAIL_FILE_PATH


def _send_report_email() -> None:
    message = EmailMessage(
        subject="Monthly service report: October 2026",
        body="Hello Erin,\n\nYour report is attached.\n",
        from_email="PSA <psa@localhost>",
        to=["erin@acme.example"],
    )
    message.attach("acme-2026-10.pdf", b"%PDF-1.7 not really a report", "application/pdf")
    message.send()


def _only_mail():
    (file,) = sent_mail_files()
    (sent,) = sent_mail_read(file)
    return sent


def test_the_list_shows_subject_recipient_and_attachment_names(files_backend, admin_user):
    _send_report_email()
    mail.send_mail(
        "[#12] VPN drops every hour", "We are looking into it.", None, ["bill@x.example"]
    )
    response = signed_in(admin_user).get(reverse("workspace:sent-mail-list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Monthly service report: October 2026" in page
    assert "erin@acme.example" in page
    assert "acme-2026-10.pdf" in page
    assert "[#12] VPN drops every hour" in page
    # Newest first.
    assert page.index("[#12] VPN drops") < page.index("Monthly service report")


def test_a_message_shows_its_text_and_its_attachment_downloads(files_backend, admin_user):
    _send_report_email()
    sent = _only_mail()
    http = signed_in(admin_user)
    detail = http.get(reverse("workspace:sent-mail-detail", args=[sent.file, sent.index]))
    assert detail.status_code == 200
    assert "Your report is attached." in detail.content.decode()
    assert "application/pdf" in detail.content.decode()
    download = http.get(reverse("workspace:sent-mail-attachment", args=[sent.file, sent.index, 0]))
    assert download.status_code == 200
    assert download.content == b"%PDF-1.7 not really a report"
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="acme-2026-10.pdf"'


def test_messages_sharing_one_file_are_each_listed(files_backend, admin_user):
    # One connection, one file: the backend separates the messages with a line of dashes.
    messages = [
        EmailMessage(subject=f"Survey {number}", body="How did we do?", to=["a@x.example"])
        for number in (1, 2)
    ]
    mail.get_connection().send_messages(messages)
    (file,) = sent_mail_files()
    assert [sent.subject for sent in sent_mail_read(file)] == ["Survey 1", "Survey 2"]
    page = signed_in(admin_user).get(reverse("workspace:sent-mail-list")).content.decode()
    assert "Survey 1" in page and "Survey 2" in page
    second = reverse("workspace:sent-mail-detail", args=[file, 1])
    assert second in page


def test_only_administrators_may_read_it(files_backend, client, dispatcher, client_user_a):
    _send_report_email()
    url = reverse("workspace:sent-mail-list")
    assert signed_in(dispatcher).get(url).status_code == 403
    assert signed_in(client_user_a).get(url).status_code == 403
    assert client.get(url).status_code == 302  # to the sign-in page
    sent = _only_mail()
    attachment = reverse("workspace:sent-mail-attachment", args=[sent.file, sent.index, 0])
    assert signed_in(dispatcher).get(attachment).status_code == 403


@pytest.mark.parametrize(
    "file",
    ["../msp.sqlite3", "..", "notes.txt", "20261130-182751-1.log.bak", "20261130-182751-9.log"],
)
def test_only_the_backends_files_can_be_named(files_backend, admin_user, file):
    _send_report_email()
    response = signed_in(admin_user).get(f"/workspace/sent-mail/{file}/0/")
    assert response.status_code == 404


def test_a_message_or_attachment_that_is_not_there_is_a_404(files_backend, admin_user):
    _send_report_email()
    sent = _only_mail()
    http = signed_in(admin_user)
    assert http.get(reverse("workspace:sent-mail-detail", args=[sent.file, 1])).status_code == 404
    missing_part = reverse("workspace:sent-mail-attachment", args=[sent.file, 0, 1])
    assert http.get(missing_part).status_code == 404


def test_nothing_sent_yet(files_backend, admin_user):
    response = signed_in(admin_user).get(reverse("workspace:sent-mail-list"))
    assert response.status_code == 200
    assert "Nothing sent yet." in response.content.decode()


def test_administrators_reach_it_from_the_navigation(files_backend, admin_user, dispatcher):
    url = reverse("workspace:sent-mail-list")
    assert url in signed_in(admin_user).get(reverse("tickets:queue")).content.decode()
    assert url not in signed_in(dispatcher).get(reverse("tickets:queue")).content.decode()


@pytest.mark.parametrize(
    ("debug", "backend"),
    [(False, FILE_BACKEND), (True, "django.core.mail.backends.smtp.EmailBackend")],
)
def test_gone_unless_email_goes_to_files_in_development(
    files_backend, settings, admin_user, debug, backend
):
    settings.DEBUG = debug
    settings.EMAIL_BACKEND = backend
    url = reverse("workspace:sent-mail-list")
    http = signed_in(admin_user)
    assert http.get(url).status_code == 404
    assert url not in http.get(reverse("tickets:queue")).content.decode()


def test_the_list_reads_only_the_files_of_its_page(files_backend, admin_user):
    for number in range(53):
        mail.send_mail(f"Message {number}", "Body", None, ["a@x.example"])
    http = signed_in(admin_user)
    first = http.get(reverse("workspace:sent-mail-list"))
    assert len(first.context["sent_mails"]) == 50
    second = http.get(reverse("workspace:sent-mail-list") + "?page=2")
    assert len(second.context["sent_mails"]) == 3
