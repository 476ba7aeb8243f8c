import hashlib

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone

from msp.choices import (
    AssetKind,
    ClientStatus,
    ContactRole,
    OutboxChannel,
    OutboxStatus,
    Tier,
    TokenScope,
    UserRole,
)
from msp.querysets import (
    ClientQuerySet,
    ClientScopedQuerySet,
    UserQuerySet,
    VisibleClients,
    visible_clients,
)
from msp.secrets import EncryptedTextField
from msp.validators import validate_timezone_name
from msp.webhooks.choices import WebhookDeliveryStatus


def _choices_check(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


def _require_same_client(instance: models.Model, **labels: str) -> None:
    """Each named related row (site, user...) must belong to the instance's own client."""
    for field, label in labels.items():
        related = getattr(instance, field) if getattr(instance, f"{field}_id") else None
        if related is not None and related.client_id != instance.client_id:
            raise ValidationError({field: f"{label} belongs to another client."})


class TimeStampedModel(models.Model):
    """Created/updated instants for every table."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(role=UserRole.ADMIN, is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin, TimeStampedModel):
    """One login model for MSP staff and client users; a client user belongs to one client."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=UserRole.choices, default=UserRole.TECHNICIAN)
    tier = models.CharField(max_length=2, choices=Tier.choices, blank=True)
    client = models.ForeignKey(
        "msp.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="Set for client (portal) users only.",
    )
    phone = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May open the Django admin site (administrators)."
    )
    sessions_revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="Signed out everywhere: sessions older than this end."
    )
    # Blank: the browser's zone (static/js/timezone.js), else the MSP's (msp/middleware.py).
    timezone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        validators=[validate_timezone_name],
        help_text="Times are shown in this zone; blank: the browser's.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    _visible_clients: VisibleClients | None = None

    class Meta:
        ordering = ["full_name"]
        constraints = [
            _choices_check("role", UserRole, "user_role_valid"),
            models.CheckConstraint(
                condition=Q(tier="") | Q(tier__in=Tier.values), name="user_tier_valid"
            ),
            # Client users have a client and no tier; staff have no client.
            models.CheckConstraint(
                condition=(Q(role=UserRole.CLIENT, client__isnull=False, tier=""))
                | (~Q(role=UserRole.CLIENT) & Q(client__isnull=True)),
                name="user_client_iff_client_role",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    # A session holds this hash and ends when it changes: Django's is an HMAC of the password
    # hash; signing out everywhere (sessions_revoked_at) changes it as a new password would.
    def get_session_auth_hash(self) -> str:
        return self._revocable(super().get_session_auth_hash())

    def get_session_auth_fallback_hash(self):
        for fallback in super().get_session_auth_fallback_hash():
            yield self._revocable(fallback)

    def _revocable(self, password_hmac: str) -> str:
        if self.sessions_revoked_at is None:
            return password_hmac
        revoked = self.sessions_revoked_at.isoformat()
        return hashlib.sha256(f"{password_hmac}|{revoked}".encode()).hexdigest()

    @property
    def is_msp_staff(self) -> bool:
        """Staff of the MSP (any role but client user)."""
        return self.role != UserRole.CLIENT

    def clean(self) -> None:
        super().clean()
        self.email = self.email.lower()
        if self.role == UserRole.CLIENT:
            if self.client_id is None:
                raise ValidationError({"client": "A client user must belong to a client."})
            if self.tier:
                raise ValidationError({"tier": "Client users have no tier."})
        elif self.client_id is not None:
            raise ValidationError({"client": "Only client users belong to a client."})

    def visible_clients(self) -> VisibleClients:
        """The clients whose data this user sees, read once and kept on this instance (one
        request's user): every scoped queryset asks for it through `for_user`."""
        if self._visible_clients is None:
            self._visible_clients = visible_clients(self)
        return self._visible_clients

    def visible_client_ids(self) -> frozenset[int] | None:
        """The ids of visible_clients(); None when the user sees every client."""
        visible = self.visible_clients()
        return None if visible.every else visible.ids

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Team(TimeStampedModel):
    """A group of technicians, usually one per tier (service desk L1, engineers L2...)."""

    name = models.CharField(max_length=100, unique=True)
    tier = models.CharField(max_length=2, choices=Tier.choices, blank=True)
    lead = models.ForeignKey(
        "msp.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="led_teams",
        limit_choices_to=~Q(role=UserRole.CLIENT),
    )
    members = models.ManyToManyField(
        "msp.User", related_name="teams", blank=True, limit_choices_to=~Q(role=UserRole.CLIENT)
    )
    email = models.EmailField(blank=True, help_text="Shared mailbox for notifications.")
    # Which clients' data the team's members and lead see (msp.querysets.visible_clients).
    serves_all_clients = models.BooleanField(
        default=False,
        help_text="Members and lead see every client; untick to limit them to the clients below.",
    )
    clients = models.ManyToManyField(
        "msp.Client",
        related_name="teams",
        blank=True,
        help_text="The clients this team serves (when it does not serve all clients).",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tier="") | Q(tier__in=Tier.values), name="team_tier_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Client(TimeStampedModel):
    """A client organisation whose IT the MSP runs."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    account_manager = models.ForeignKey(
        "msp.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="managed_clients",
        limit_choices_to={"role": UserRole.ACCOUNT_MANAGER},
    )
    status = models.CharField(
        max_length=20, choices=ClientStatus.choices, default=ClientStatus.ACTIVE
    )
    email_domains = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated mail domains of this client."
    )
    notes = models.TextField(blank=True)
    require_mfa = models.BooleanField(
        "require two-factor sign-in",
        default=False,
        help_text="This client's portal users must sign in with a second factor.",
    )

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [_choices_check("status", ClientStatus, "client_status_valid")]

    def __str__(self) -> str:
        return self.name


class Site(TimeStampedModel):
    """A location of a client (office, data centre)."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_timezone_name],
        help_text="Leave blank to use the client's time zone.",
    )

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["client", "name"], name="site_unique_name_per_client")
        ]

    def __str__(self) -> str:
        return self.name


class Contact(TimeStampedModel):
    """A person at a client; may have a portal login (a client user)."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="contacts")
    site = models.ForeignKey(
        "msp.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )
    full_name = models.CharField(max_length=150)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=100, blank=True)
    role = models.CharField(
        max_length=20, choices=ContactRole.choices, default=ContactRole.TECHNICAL
    )
    user = models.OneToOneField(
        "msp.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact",
        help_text="Portal login of this contact, if any.",
    )
    is_active = models.BooleanField(default=True)
    # Billing counts a seat on the days it was active (reporting/billing): from active_from
    # (blank: the day it was created) to the day before active_until (blank: still active, or,
    # for a contact deactivated without a date, not counted at all).
    active_from = models.DateField(null=True, blank=True, help_text="First day as a seat.")
    active_until = models.DateField(
        null=True, blank=True, help_text="First day no longer a seat (blank: still one)."
    )
    is_seat = models.BooleanField(
        default=True, help_text="A supported user, counted as a seat by per-seat pricing."
    )
    receives_reports = models.BooleanField(
        default=False, help_text="Monthly reports and QBRs are emailed to this contact."
    )
    unverified_from_email = models.BooleanField(
        default=False,
        help_text="Recorded by email intake for a sender who was not a contact yet: name and "
        "address are as the email claimed. Clear it once the client confirms the person.",
    )

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
        constraints = [
            _choices_check("role", ContactRole, "contact_role_valid"),
            models.UniqueConstraint(
                fields=["client", "email"],
                condition=~Q(email=""),
                name="contact_unique_email_per_client",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    def clean(self) -> None:
        super().clean()
        _require_same_client(self, site="The site", user="The portal login")


class Asset(TimeStampedModel):
    """A configuration item managed for a client (device, VM, cloud service)."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="assets")
    site = models.ForeignKey(
        "msp.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="assets"
    )
    kind = models.CharField(max_length=20, choices=AssetKind.choices, default=AssetKind.WORKSTATION)
    name = models.CharField(max_length=200)
    hostname = models.CharField(max_length=255, blank=True)
    serial_number = models.CharField(max_length=100, blank=True)
    rmm_id = models.CharField(
        max_length=100, blank=True, help_text="Identifier of the device in the RMM tool."
    )
    is_active = models.BooleanField(default=True)
    # Per-device billing counts the days a device was managed: see Contact.active_from.
    active_from = models.DateField(null=True, blank=True, help_text="First day managed.")
    active_until = models.DateField(
        null=True, blank=True, help_text="First day no longer managed (blank: still managed)."
    )
    notes = models.TextField(blank=True)

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            _choices_check("kind", AssetKind, "asset_kind_valid"),
            models.UniqueConstraint(
                fields=["client", "rmm_id"],
                condition=~Q(rmm_id=""),
                name="asset_unique_rmm_id_per_client",
            ),
        ]
        indexes = [
            models.Index(fields=["hostname"], name="asset_hostname_idx"),
            # Alert intake matches assets by RMM id, then host name or name, ignoring case.
            models.Index(fields=["rmm_id"], name="asset_rmm_id_idx"),
            models.Index(Upper("hostname"), name="asset_hostname_upper_idx"),
            models.Index(Upper("name"), name="asset_name_upper_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        _require_same_client(self, site="The site")


class Heartbeat(models.Model):
    """Last run of a periodic task, written by the task itself; read by /healthz."""

    name = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class Notification(TimeStampedModel):
    """An in-app notification for a staff member (unread until opened)."""

    recipient = models.ForeignKey(
        "msp.User", on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["recipient"],
                name="notification_unread_idx",
                condition=Q(read_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.title


class OutboxMessage(TimeStampedModel):
    """A side effect written in the same transaction as the change that causes it, delivered
    after commit by a task and retried with backoff; `key` makes each one unique."""

    key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=10, choices=OutboxChannel.choices)
    recipient = models.ForeignKey(
        "msp.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(blank=True)
    subject = models.CharField(max_length=250)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra email headers (threading, Auto-Submitted)."
    )
    attachment = models.CharField(
        max_length=100,
        blank=True,
        help_text='"kind:id" of a file rendered at sending (OUTBOX_ATTACHMENTS), e.g. "report:7".',
    )
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            _choices_check("channel", OutboxChannel, "outbox_channel_valid"),
            _choices_check("status", OutboxStatus, "outbox_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_idx",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.subject}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the secret is shown once,
    when the token is made. It acts as its user, narrowed by its scope."""

    user = models.ForeignKey("msp.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What uses it, e.g. “RMM alerts”.")
    scope = models.CharField(max_length=10, choices=TokenScope.choices, default=TokenScope.READ)
    prefix = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [_choices_check("scope", TokenScope, "api_token_scope_valid")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _staff_mfa_default() -> bool:
    # On in production (settings.MFA_REQUIRED_FOR_STAFF), until an administrator says otherwise.
    return settings.MFA_REQUIRED_FOR_STAFF


class SecuritySettings(models.Model):
    """The MSP's sign-in policy that an admin sets without a deploy (one row, pk 1)."""

    require_staff_mfa = models.BooleanField(
        "require two-factor sign-in for staff",
        default=_staff_mfa_default,
        help_text="Every staff user must sign in with a second factor (an authenticator app or "
        "a passkey); those without one set it up at their next sign-in.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "security settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="security_settings_singleton")
        ]

    def __str__(self) -> str:
        return "Security settings"

    @classmethod
    def current(cls) -> "SecuritySettings":
        # Read, never written here: until an administrator saves them, the defaults apply.
        return cls.objects.filter(pk=1).first() or cls(pk=1)


# Outbound webhooks (msp/webhooks/) -------------------------------------------------------------


class WebhookSettings(models.Model):
    """Where webhook targets may point, set by an administrator without a deploy (one row, pk
    1). By default only public HTTPS addresses are allowed."""

    allowed_networks = models.TextField(
        blank=True,
        help_text="Networks (CIDR, one per line, e.g. 10.20.0.0/16) that targets may resolve "
        "to although they are private, loopback, link-local or reserved. Blank: none.",
    )
    allow_http = models.BooleanField(
        "allow plain http",
        default=False,
        help_text="Accept http:// targets (unencrypted). For testing receivers only.",
    )
    clients_may_subscribe = models.BooleanField(
        default=False,
        help_text="Client users may subscribe endpoints of their own to their own tickets.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "webhook settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="webhook_settings_singleton")]

    def __str__(self) -> str:
        return "Webhook settings"

    @classmethod
    def current(cls) -> "WebhookSettings":
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class WebhookEndpointQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def for_user(self, user):
        """Administrators see every endpoint; a client user those of their client that a
        client user made; other staff none."""
        if not user.is_authenticated:
            return self.none()
        if user.role == UserRole.ADMIN:
            return self.live()
        if user.role == UserRole.CLIENT:
            return self.live().filter(client_id=user.client_id, owned_by_client=True)
        return self.none()


class WebhookEndpoint(TimeStampedModel):
    """An HTTPS endpoint subscribed to event types, optionally to one client's events only.
    Deleting one keeps the row (deleted_at) so that deliveries written in a transaction that
    raced the deletion still point at a row."""

    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="Names of the events sent here.")
    client = models.ForeignKey(
        "msp.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="Only this client's events. Blank: every client's, and events of no client.",
    )
    owned_by_client = models.BooleanField(
        default=False, help_text="Subscribed by a client user, for the client's own tickets."
    )
    is_active = models.BooleanField("active", default=True)
    secret = EncryptedTextField(help_text="whsec_… signing secret (encrypted at rest).")
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_until = models.DateTimeField(
        null=True, blank=True, help_text="The previous secret also signs until then (rotation)."
    )
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failure since the last success."
    )
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        "msp.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owned_by_client=False) | Q(client__isnull=False),
                name="webhook_endpoint_client_owned_has_client",
            ),
        ]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint: the exact body that is signed and sent, written in the
    transaction of the change, delivered after commit and retried with back-off. The event id
    is the webhook-id header, the same on every attempt and replay (receivers dedupe by it)."""

    endpoint = models.ForeignKey(
        "msp.WebhookEndpoint", on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=40)
    client = models.ForeignKey(
        "msp.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            _choices_check("status", WebhookDeliveryStatus, "webhook_delivery_status_valid"),
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["endpoint", "created_at"], name="webhook_delivery_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, for the endpoint's delivery log."""

    delivery = models.ForeignKey(
        "msp.WebhookDelivery", on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
