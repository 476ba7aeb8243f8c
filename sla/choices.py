from django.db import models


class Priority(models.TextChoices):
    P1 = "P1", "P1 - Critical"
    P2 = "P2", "P2 - High"
    P3 = "P3", "P3 - Medium"
    P4 = "P4", "P4 - Low"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class HolidaySource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    PRESET = "preset", "Country preset"


class PausableStatus(models.TextChoices):
    """Ticket statuses that a policy may declare as pausing the resolution clock.

    The values are the ticket statuses of the same name (tickets.choices.TicketStatus).
    """

    WAITING_ON_CLIENT = "waiting_on_client", "Waiting on client"
    WAITING_ON_THIRD_PARTY = "waiting_on_third_party", "Waiting on third party"
    SCHEDULED = "scheduled", "Scheduled"


class ClockKind(models.TextChoices):
    RESPONSE = "response", "Response"
    RESOLUTION = "resolution", "Resolution"
    NEXT_UPDATE = "next_update", "Next update"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    # A next-update cycle that a later client message replaced before it was decided: kept,
    # with no outcome of its own (a cycle that had breached stays breached).
    SUPERSEDED = "superseded", "Superseded"


class EscalationTrigger(models.TextChoices):
    FIRST_WARNING = "first_warning", "First warning threshold reached"
    SECOND_WARNING = "second_warning", "Second warning threshold reached"
    BREACH = "breach", "Target breached"
    UNACKNOWLEDGED = "unacknowledged", "Not acknowledged for N minutes"
