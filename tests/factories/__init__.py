from tests.factories.contracts import ContractFactory, the_default_policy
from tests.factories.msp import (
    AssetFactory,
    ClientFactory,
    ClientUserFactory,
    ContactFactory,
    SiteFactory,
    StaffFactory,
    TeamFactory,
)
from tests.factories.reporting import ReportFactory
from tests.factories.sla import (
    BusinessCalendarFactory,
    HolidayFactory,
    SLAPolicyFactory,
    WorkingIntervalFactory,
    business_hours_calendar,
)
from tests.factories.tickets import TicketFactory

__all__ = [
    "AssetFactory",
    "BusinessCalendarFactory",
    "ClientFactory",
    "ClientUserFactory",
    "ContactFactory",
    "ContractFactory",
    "HolidayFactory",
    "ReportFactory",
    "SLAPolicyFactory",
    "SiteFactory",
    "StaffFactory",
    "TeamFactory",
    "TicketFactory",
    "WorkingIntervalFactory",
    "business_hours_calendar",
    "the_default_policy",
]
