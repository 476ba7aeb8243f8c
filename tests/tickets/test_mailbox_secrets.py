"""IMAP passwords at rest: encrypted in the database, never rendered back, kept out of errors
and logs, and re-encrypted on key rotation."""

import imaplib
import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from msp.secrets import SecretUnreadable
from tests.helpers import mailbox_on
from tickets.admin import MailboxAdmin
from tickets.intake import mailboxes
from tickets.intake.mailboxes import mailbox_poll
from tickets.models import Mailbox

pytestmark = pytest.mark.django_db
PASSWORD = "Plain-Imap-Pa55word"


@pytest.fixture
def mailbox():
    return Mailbox.objects.create(
        name="support", host="127.0.0.1", port=1, username="support", password=PASSWORD
    )


def stored(mailbox: Mailbox) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM tickets_mailbox WHERE id = %s", [mailbox.pk])
        return cursor.fetchone()[0]


def test_the_column_holds_a_token_and_the_model_the_password(mailbox):
    assert PASSWORD not in stored(mailbox)
    assert stored(mailbox).startswith("gAAAAA")  # a Fernet token
    assert Mailbox.objects.get().password == PASSWORD
    assert Mailbox.objects.values_list("password", flat=True).get() == PASSWORD


def test_the_admin_never_renders_the_password(client, admin_user, mailbox):
    client.force_login(admin_user)
    for url in (
        reverse("admin:tickets_mailbox_changelist"),
        reverse("admin:tickets_mailbox_change", args=[mailbox.pk]),
        reverse("admin:tickets_mailbox_add"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert PASSWORD not in response.content.decode(), url
        assert stored(mailbox) not in response.content.decode(), url


def _change(client, mailbox, **overrides):
    data = {
        "name": mailbox.name,
        "host": mailbox.host,
        "port": mailbox.port,
        "use_ssl": "",
        "username": mailbox.username,
        "password": "",
        "folder": mailbox.folder,
        "default_client": "",
        "is_active": "on",
        **overrides,
    }
    return client.post(reverse("admin:tickets_mailbox_change", args=[mailbox.pk]), data)


def test_an_empty_password_field_keeps_the_password_and_a_new_one_replaces_it(
    client, admin_user, mailbox
):
    client.force_login(admin_user)
    assert _change(client, mailbox, folder="Support").status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.folder, mailbox.password) == ("Support", PASSWORD)
    assert _change(client, mailbox, password="Another-Pa55").status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.password == "Another-Pa55"


def test_a_new_mailbox_needs_a_password(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:tickets_mailbox_add"),
        {"name": "x", "host": "h", "port": 993, "username": "u", "password": ""},
    )
    assert response.status_code == 200
    assert not Mailbox.objects.exists()


def test_error_reports_of_the_admin_form_hide_the_posted_password(
    client, admin_user, mailbox, monkeypatch
):
    seen = {}

    def save_model(self, request, obj, form, change):
        seen["post"] = SafeExceptionReporterFilter().get_post_parameters(request)

    monkeypatch.setattr(MailboxAdmin, "save_model", save_model)
    client.force_login(admin_user)
    _change(client, mailbox, password="Another-Pa55")
    assert seen["post"]["password"] != "Another-Pa55"
    assert seen["post"]["username"] == mailbox.username


class _RefusingServer:
    """An IMAP server that quotes the password back in its refusal, the worst case."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def login(self, user, password):
        password.encode("ascii")  # imaplib sends LOGIN in ASCII
        raise imaplib.IMAP4.error(f"LOGIN {user} {password} failed")


def test_login_errors_keep_the_password_out_of_last_error_and_logs(mailbox, monkeypatch, caplog):
    monkeypatch.setattr(mailboxes, "_connect", lambda mailbox: _RefusingServer())
    with caplog.at_level(logging.DEBUG):
        result = mailbox_poll(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert "LOGIN support [password] failed" in mailbox.last_error
    assert PASSWORD not in mailbox.last_error + result.error + caplog.text


def test_a_password_imap_cannot_send_is_an_error_without_the_password(mailbox, monkeypatch):
    mailbox.password = "Pässwörd-Ünicode"
    mailbox.save()
    monkeypatch.setattr(mailboxes, "_connect", lambda mailbox: _RefusingServer())
    result = mailbox_poll(mailbox=mailbox)
    assert "characters IMAP LOGIN cannot send" in result.error
    assert "Pässwörd" not in result.error and "ä" not in result.error


def test_a_wrong_password_on_a_real_server_is_not_recorded(imap_server, client_a):
    mailbox = mailbox_on(imap_server, password="Wrong-Pa55-Xyz")
    result = mailbox_poll(mailbox=mailbox)
    mailbox.refresh_from_db()
    assert result.error and mailbox.last_error == result.error
    assert "Wrong-Pa55-Xyz" not in mailbox.last_error


class TestRotation:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    def test_the_old_key_still_reads_and_the_command_re_encrypts(self, settings):
        settings.SECRETS_KEYS = [self.old]
        mailbox = Mailbox.objects.create(name="m", host="h", username="u", password=PASSWORD)
        Mailbox.objects.create(name="empty", host="h", username="u", password="")
        under_old = stored(mailbox)

        settings.SECRETS_KEYS = [self.new, self.old]
        assert Mailbox.objects.get(pk=mailbox.pk).password == PASSWORD
        out = _rotate()
        assert "1 secret(s) re-encrypted, 0 already under the newest key" in out
        assert stored(mailbox) != under_old
        assert "0 secret(s) re-encrypted, 1 already" in _rotate()

        settings.SECRETS_KEYS = [self.new]  # the old key dropped
        assert Mailbox.objects.get(pk=mailbox.pk).password == PASSWORD
        assert Fernet(self.new).decrypt(stored(mailbox).encode()).decode() == PASSWORD

    def test_a_key_dropped_too_early_is_an_error_and_nothing_changes(self, settings):
        settings.SECRETS_KEYS = [self.old]
        mailbox = Mailbox.objects.create(name="m", host="h", username="u", password=PASSWORD)
        settings.SECRETS_KEYS = [self.new]
        with pytest.raises(SecretUnreadable):
            Mailbox.objects.get(pk=mailbox.pk)
        with pytest.raises(CommandError, match="Nothing was changed"):
            _rotate()
        settings.SECRETS_KEYS = [self.old]
        assert Mailbox.objects.get(pk=mailbox.pk).password == PASSWORD


def _rotate() -> str:
    from io import StringIO

    out = StringIO()
    call_command("secrets_rotate", stdout=out)
    return out.getvalue()


def test_the_data_migration_encrypts_existing_plain_passwords():
    """Rows written before the migration (a plain text column) are encrypted in place."""
    from importlib import import_module

    migration = import_module("tickets.migrations.0019_mailbox_password_encrypt")
    before = MigrationLoader(connection).project_state(("tickets", "0018_mailbox_password_text"))
    OldMailbox = before.apps.get_model("tickets", "Mailbox")
    OldMailbox.objects.create(name="legacy", host="h", username="u", password=PASSWORD)
    OldMailbox.objects.create(name="blank", host="h", username="u", password="")

    migration.encrypt_passwords(before.apps, None)

    legacy = Mailbox.objects.get(name="legacy")
    assert legacy.password == PASSWORD and PASSWORD not in stored(legacy)
    assert Mailbox.objects.get(name="blank").password == ""
    migration.decrypt_passwords(before.apps, None)
    assert stored(legacy) == PASSWORD
