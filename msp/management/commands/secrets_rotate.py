"""Re-encrypt every stored secret with the newest key in SECRETS_KEYS (the first)."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from msp.secrets import EncryptedTextField, SecretUnreadable, is_current


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest key in SECRETS_KEYS. Run it after "
        "putting a new key in front; then the old key can be dropped."
    )

    def handle(self, *args, **options) -> None:
        rotated = kept = 0
        try:
            with transaction.atomic():
                for model, field in _encrypted_fields():
                    # values_list decrypts; the raw tokens tell which rows are already current.
                    for pk, plain, token in _rows(model, field):
                        if is_current(token):
                            kept += 1
                            continue
                        model._base_manager.filter(pk=pk).update(**{field.name: plain})
                        rotated += 1
        except SecretUnreadable as exc:
            raise CommandError(f"{exc} Nothing was changed.") from None
        self.stdout.write(f"{rotated} secret(s) re-encrypted, {kept} already under the newest key.")


def _encrypted_fields():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def _rows(model, field):
    # Cast to a plain text column: the stored token, not decrypted.
    rows = model._base_manager.exclude(**{field.name: ""}).annotate(
        _token=Cast(field.name, output_field=TextField())
    )
    yield from rows.values_list("pk", field.name, "_token")
