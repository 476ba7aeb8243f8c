from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from msp.choices import Tier
from msp.models import TimeStampedModel
from msp.querysets import ClientScopedQuerySet
from msp.secrets import EncryptedTextField
from sla.choices import Priority
from sla.clock import MilestoneKey
from tickets.choices import (
    OPEN_STATUSES,
    TIME_ENTRY_EDITABLE_STATES,
    EventKind,
    Impact,
    InboundStatus,
    TicketSource,
    TicketStatus,
    TicketType,
    TimeEntryState,
    Urgency,
    WorkType,
)
from tickets.querysets import TicketChildQuerySet, TicketQuerySet


def _in_choices(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


class PriorityMatrixCell(models.Model):
    """Impact x urgency -> priority: the editable priority matrix."""

    impact = models.CharField(max_length=10, choices=Impact.choices)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    priority = models.CharField(max_length=2, choices=Priority.choices)

    class Meta:
        ordering = ["impact", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["impact", "urgency"], name="matrix_unique_cell"),
            _in_choices("priority", Priority, "matrix_priority_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.impact} impact x {self.urgency} urgency = {self.priority}"


class Ticket(TimeStampedModel):
    """A request or incident of a client, worked against its SLA clocks. Its number is its id."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="tickets")
    contact = models.ForeignKey(
        "msp.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    site = models.ForeignKey(
        "msp.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    asset = models.ForeignKey(
        "msp.Asset", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=TicketType.choices, default=TicketType.INCIDENT)
    category = models.CharField(
        max_length=60, blank=True, help_text='What it is about, e.g. "Email", "Printing".'
    )
    source = models.CharField(
        max_length=10, choices=TicketSource.choices, default=TicketSource.PHONE
    )
    impact = models.CharField(max_length=10, choices=Impact.choices, default=Impact.LOW)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.MEDIUM)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    priority_override_reason = models.CharField(
        max_length=300, blank=True, help_text="Set when the priority differs from the matrix."
    )
    status = models.CharField(max_length=25, choices=TicketStatus.choices, default=TicketStatus.NEW)
    tier = models.CharField(max_length=2, choices=Tier.choices, default=Tier.L1)
    team = models.ForeignKey(
        "msp.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        help_text="The client's active contract when the ticket opened.",
    )
    sla_policy = models.ForeignKey(
        "sla.SLAPolicy", on_delete=models.PROTECT, related_name="tickets"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_tickets"
    )
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The nearest deadline of the ticket's running SLA clocks, kept up to date by the services,
    # so that queues sort by SLA urgency through an index.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    sla_breached = models.BooleanField(default=False)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            _in_choices("status", TicketStatus, "ticket_status_valid"),
            _in_choices("type", TicketType, "ticket_type_valid"),
            _in_choices("source", TicketSource, "ticket_source_valid"),
            _in_choices("impact", Impact, "ticket_impact_valid"),
            _in_choices("urgency", Urgency, "ticket_urgency_valid"),
            _in_choices("priority", Priority, "ticket_priority_valid"),
            _in_choices("tier", Tier, "ticket_tier_valid"),
        ]
        indexes = [
            # Open queues, sorted by SLA urgency (all open, my tier, breaching soon).
            models.Index(
                "sla_due_at",
                "id",
                name="ticket_open_sla_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(
                "assignee",
                "sla_due_at",
                name="ticket_open_assignee_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(
                "tier",
                "sla_due_at",
                name="ticket_open_tier_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            # The queue's other sorts on open tickets (priority, last change) read a page in
            # index order instead of sorting every open ticket; one client's in SLA order.
            models.Index(
                "priority",
                "sla_due_at",
                "id",
                name="ticket_open_priority_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(
                "updated_at",
                "id",
                name="ticket_open_updated_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(
                "client",
                "sla_due_at",
                "id",
                name="ticket_open_client_idx",
                condition=Q(status__in=OPEN_STATUSES),
            ),
            models.Index(fields=["client", "status"], name="ticket_client_status_idx"),
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            # A client's tickets newest first: the API list of a client, and every client token.
            models.Index(fields=["client", "-created_at"], name="ticket_client_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def number(self) -> str:
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TimelineEvent(models.Model):
    """An immutable record of one change to a ticket: who, when, what, old -> new."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    comment = models.ForeignKey(
        "tickets.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    objects = TicketChildQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [_in_choices("kind", EventKind, "event_kind_valid")]
        indexes = [models.Index(fields=["ticket", "at"], name="event_ticket_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id} at {self.at:%Y-%m-%d %H:%M}"

    def _label(self, value: str) -> str:
        if self.kind in (EventKind.STATUS, EventKind.REOPENED, EventKind.MERGED):
            return TicketStatus(value).label if value in TicketStatus.values else value
        if self.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACH):
            return _milestone_label(value)
        return value

    @property
    def old_label(self) -> str:
        return self._label(self.old_value)

    @property
    def new_label(self) -> str:
        return self._label(self.new_value)


def _milestone_label(key: str) -> str:
    """ "warning-75" -> "75 % warning", "unack-4" -> "not acknowledged", "breach" -> "breach"."""
    try:
        return MilestoneKey.parse(key).label
    except ValueError:
        return key


class Comment(TimeStampedModel):
    """A public reply (seen by the client) or an internal note, in Markdown."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_public = models.BooleanField(default=True)
    is_automatic = models.BooleanField(
        default=False, help_text="Sent by the system; does not count as a response."
    )
    body = models.TextField()
    body_html = models.TextField(help_text="Sanitised HTML rendering of the Markdown body.")
    email_sender = models.CharField(
        max_length=320, blank=True, help_text="The From address, for a message received by email."
    )
    sender_verified = models.BooleanField(
        default=True,
        help_text="False for an email whose sender is not proven (no signed reply address issued "
        "to that sender, or DMARC failed): shown as unverified, it never acts for staff.",
    )
    reached_nobody = models.BooleanField(
        default=False,
        help_text="A public staff reply that no one was sent (no contact with an email address): "
        "not a response.",
    )

    objects = TicketChildQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_idx")]

    def __str__(self) -> str:
        return f"{'Reply' if self.is_public else 'Note'} on {self.ticket_id}"


class Attachment(TimeStampedModel):
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="attachments"
    )
    comment = models.ForeignKey(
        "tickets.Comment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="attachments",
    )
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = TicketChildQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.filename


class TimeEntry(TimeStampedModel):
    """Time a technician spent on a ticket, and its approval: draft -> submitted -> approved or
    rejected (with a reason). Approved time is locked: billing reads it (an invoiced mistake is
    corrected by a credit note, never by changing the entry).

    With a start and an end, `minutes` is end - start rounded up to the whole minute, and the
    entry counts on the local day it started (spent_on); it may run past midnight, never
    beyond 24 hours."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="time_entries"
    )
    # The ticket's client, copied: reports and billing read a client's month through an index.
    client = models.ForeignKey(
        "msp.Client", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="time_entries"
    )
    minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    billable = models.BooleanField(default=True)
    work_type = models.CharField(max_length=10, choices=WorkType.choices, default=WorkType.REMOTE)
    note = models.CharField(max_length=500, blank=True)
    spent_on = models.DateField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=10,
        choices=TimeEntryState.choices,
        default=TimeEntryState.DRAFT,
        db_default=TimeEntryState.DRAFT,
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Who approved or rejected it. No database constraint nor index of its own (added to a
    # large table while the app serves, docs/upgrades.md); PROTECT is kept by Django.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True, db_default="")

    objects = TicketChildQuerySet.as_manager()

    class Meta:
        ordering = ["spent_on", "pk"]
        verbose_name_plural = "time entries"
        constraints = [
            _in_choices("work_type", WorkType, "time_entry_work_type_valid"),
            models.CheckConstraint(
                condition=Q(minutes__gte=1, minutes__lte=1440), name="time_entry_minutes_range"
            ),
            _in_choices("state", TimeEntryState, "time_entry_state_valid"),
            models.CheckConstraint(
                condition=Q(started_at__isnull=True, ended_at__isnull=True)
                | Q(started_at__isnull=False, ended_at__gt=models.F("started_at")),
                name="time_entry_end_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(state=TimeEntryState.REJECTED) | ~Q(rejection_reason=""),
                name="time_entry_rejection_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "spent_on"], name="time_entry_client_day_idx"),
            # A technician's timesheet: their entries of a week.
            models.Index(fields=["user", "spent_on"], name="time_entry_user_day_idx"),
            # The approval page: entries waiting for a manager.
            models.Index(
                fields=["user", "spent_on"],
                condition=Q(state=TimeEntryState.SUBMITTED),
                name="time_entry_submitted_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on {self.ticket_id}"

    @property
    def is_editable(self) -> bool:
        """Whether its author may still change or delete it."""
        return self.state in TIME_ENTRY_EDITABLE_STATES


class RunningTimer(models.Model):
    """A technician's running timer on a ticket: one per person at a time. Stopping it logs
    a draft time entry from started_at to the stop, rounded up to the whole minute."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="running_timer"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="running_timers"
    )
    started_at = models.DateTimeField()

    objects = TicketChildQuerySet.as_manager()

    def __str__(self) -> str:
        return f"timer of {self.user_id} on {self.ticket_id} since {self.started_at:%H:%M}"


class MaintenancePause(models.Model):
    """A ticket's resolution clock paused by one occurrence of a maintenance window, so that
    the window's end resumes only what the window paused."""

    window = models.ForeignKey(
        "contracts.MaintenanceWindow", on_delete=models.CASCADE, related_name="ticket_pauses"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="maintenance_pauses"
    )
    occurrence_start = models.DateTimeField()
    occurrence_end = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["occurrence_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "ticket", "occurrence_start"], name="maintenance_pause_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["occurrence_end"],
                condition=models.Q(resumed_at__isnull=True),
                name="maintenance_pause_open_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} paused by {self.window_id} at {self.occurrence_start}"


class Alert(models.Model):
    """One episode of a monitoring alert, from first firing to resolution. While it is open
    (not resolved), its client, source and fingerprint are unique, so that repeats, even
    concurrent ones, find it instead of opening another ticket; another client's alert with the
    same fingerprint is another alert."""

    source = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=200)
    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="alerts")
    asset = models.ForeignKey(
        "msp.Asset", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    severity = models.CharField(max_length=30)
    summary = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    flaps = models.PositiveIntegerField(
        default=0, help_text="How many times the alert has cleared and fired again on its ticket."
    )
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    outages = models.ManyToManyField(
        "contracts.Outage",
        blank=True,
        related_name="alerts",
        help_text="Outages this episode opened on the services covering its asset.",
    )

    objects = ClientScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-first_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "source", "fingerprint"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_per_client_fingerprint",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.fingerprint}"


class AlertSettings(models.Model):
    """The MSP's alert rules that an admin tunes without a deploy (one row, pk 1)."""

    flap_window_minutes = models.PositiveIntegerField(
        default=30,
        help_text="An alert firing again within this many minutes of clearing reopens the "
        "ticket it resolved automatically instead of opening a new one.",
    )
    storm_threshold = models.PositiveIntegerField(
        default=5,
        validators=[MinValueValidator(2)],
        help_text="This many alert tickets for one client within the storm window are grouped "
        "under one parent incident.",
    )
    storm_window_minutes = models.PositiveIntegerField(default=5)

    class Meta:
        verbose_name = verbose_name_plural = "alert settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="alert_settings_singleton")]

    def __str__(self) -> str:
        return "Alert settings"

    @classmethod
    def current(cls) -> "AlertSettings":
        return cls.objects.get_or_create(pk=1)[0]


class AlertStorm(models.Model):
    """A burst of alerts for one site, or across one client: one parent incident ticket, whose
    children are the alerts' tickets. It takes new alert tickets while alerts keep coming
    within the storm window of each other and its incident is open."""

    client = models.ForeignKey("msp.Client", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "msp.Site",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Blank: a storm across the client's sites.",
    )
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="alert_storm"
    )
    started_at = models.DateTimeField()
    last_alert_at = models.DateTimeField()
    alert_tickets = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["client", "-last_alert_at"], name="alert_storm_recent")]

    def __str__(self) -> str:
        return f"Alert storm {self.ticket_id}"


class UnroutedAlert(models.Model):
    """An alert whose client or asset could not be found: kept as received, listed for
    dispatchers, and routed to a client by hand. `scope_client` is the sender's own client when
    the sender is a client user: the alert can only ever be routed there."""

    source = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=200)
    status = models.CharField(max_length=10)
    severity = models.CharField(max_length=30)
    summary = models.CharField(max_length=200)
    details = models.JSONField(default=dict, blank=True)
    asset_reference = models.CharField(max_length=255, blank=True)
    client_reference = models.CharField(max_length=80, blank=True)
    reason = models.CharField(max_length=255)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scope_client = models.ForeignKey(
        "msp.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sender reported it cleared, if it has."
    )
    routed_client = models.ForeignKey(
        "msp.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    routed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=Q(routed_at__isnull=True),
                name="unrouted_alert_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.fingerprint} (unrouted)"


class Mailbox(models.Model):
    """An inbound mailbox polled over IMAP. Mail from unknown senders goes to the default
    client when one is set; otherwise the sender's contact or email domain decides."""

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    use_ssl = models.BooleanField(default=True)
    username = models.CharField(max_length=255)
    # Encrypted at rest (msp.secrets); the attribute holds the plain text for the IMAP login.
    password = EncryptedTextField()
    folder = models.CharField(max_length=255, default="INBOX")
    default_client = models.ForeignKey(
        "msp.Client", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"


class InboundEmail(models.Model):
    """Every message received, kept raw, processed once (by Message-ID). Those that could
    not be processed stay quarantined with the reason and can be retried."""

    mailbox = models.ForeignKey(
        "tickets.Mailbox", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message_id = models.CharField(max_length=998, unique=True)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    raw = models.BinaryField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=InboundStatus.choices)
    reason = models.TextField(blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    attempts = models.PositiveSmallIntegerField(default=1)
    sender_verified = models.BooleanField(
        default=False,
        help_text="Sent to a signed reply address issued to this very sender, DMARC not failed.",
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [_in_choices("status", InboundStatus, "inbound_status_valid")]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


class EmailThreadMessage(models.Model):
    """A Message-ID we sent or received for a ticket: replies find their ticket through
    In-Reply-To and References."""

    message_id = models.CharField(max_length=998, unique=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="email_thread"
    )
    outbound = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.message_id


class SatisfactionSurvey(models.Model):
    """The satisfaction question sent to the ticket's contact when staff resolve it: one per
    resolution, answered once (1-5 and an optional comment) through a signed link."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="surveys")
    # The ticket's client, copied, for the reports' index.
    client = models.ForeignKey(
        "msp.Client", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey("msp.Contact", on_delete=models.CASCADE, related_name="+")
    resolved_at = models.DateTimeField(help_text="The resolution asked about.")
    sent_at = models.DateTimeField()
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "resolved_at"], name="survey_once_per_resolution"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="survey_rating_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True, answered_at__isnull=True)
                | Q(rating__isnull=False, answered_at__isnull=False),
                name="survey_answer_complete",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "sent_at"], name="survey_client_sent_idx"),
            models.Index(fields=["client", "answered_at"], name="survey_client_answered_idx"),
        ]

    def __str__(self) -> str:
        return f"Survey of {self.ticket_id}: {self.rating or 'unanswered'}"


class SavedView(TimeStampedModel):
    """A named queue with its filters and sort (the queue page's query string): a person's
    own, or shared with every staff member (each sees it through their own client scope)."""

    # A person's views go with them: nothing else points at a saved view.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    shared = models.BooleanField(default=False)
    querystring = models.CharField(max_length=1000, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_unique")
        ]
        indexes = [models.Index(fields=["shared"], name="saved_view_shared_idx")]

    def __str__(self) -> str:
        return self.name


class CannedResponse(TimeStampedModel):
    """A reply text kept for reuse, in Markdown with placeholders (tickets/canned.py lists
    them): a person's own (`owner`), or shared with every staff member (no owner)."""

    # A person's own texts go with them; shared ones stay when their author leaves.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        help_text="Empty: shared with every staff member.",
    )
    title = models.CharField(max_length=100)
    body = models.TextField(help_text="Markdown, with placeholders such as {{contact.name}}.")

    class Meta:
        ordering = ["title", "pk"]
        indexes = [models.Index(fields=["owner", "title"], name="canned_owner_title_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None
