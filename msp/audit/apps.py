from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "msp.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice
        from django_otp_webauthn.models import WebAuthnCredential

        from msp.audit import commands, receivers, registry
        from msp.models import (
            ApiToken,
            Client,
            SecuritySettings,
            Team,
            User,
            WebhookEndpoint,
            WebhookSettings,
        )

        registry.connect()
        pre_save.connect(receivers.log_entry_fill, sender=LogEntry, dispatch_uid="msp_audit_fill")
        commands.install()

        # The directory's configuration; the apps above register theirs from their ready().
        # Sign-ins and token use are not changes: last_login and last_used_at are left out.
        registry.audit_register(User, exclude=("last_login",), m2m=("groups",))
        registry.audit_register(Team, m2m=("members", "clients"))
        registry.audit_register(Client)
        # Tokens: made, renamed, revoked; never their hash or the prefix of their secret.
        registry.audit_register(
            ApiToken,
            exclude=("key_hash", "prefix", "last_used_at"),
            label=lambda token: f"{token.name} (token #{token.pk})",
        )
        # Sign-in policy, and second factors added and removed (an administrator's reset too):
        # which device, for whom, never its key, codes or use counters.
        registry.audit_register(SecuritySettings)
        # Webhook endpoints and their settings (secrets are left out by the registry).
        registry.audit_register(WebhookSettings)
        registry.audit_register(WebhookEndpoint, exclude=("failing_since",))
        for device in (TOTPDevice, StaticDevice, WebAuthnCredential):
            kept = {"name", "user", "confirmed"}
            registry.audit_register(
                device,
                parent="user",
                exclude=tuple(f.name for f in device._meta.concrete_fields if f.name not in kept),
            )
