from tests.factories.msp import (
    AssetFactory,
    ClientFactory,
    ClientUserFactory,
    ContactFactory,
    SiteFactory,
    StaffFactory,
    TeamFactory,
)
from tests.factories.sla import (
    BusinessCalendarFactory,
    HolidayFactory,
    SLAPolicyFactory,
    WorkingIntervalFactory,
    business_hours_calendar,
)

__all__ = [
    "AssetFactory",
    "BusinessCalendarFactory",
    "ClientFactory",
    "ClientUserFactory",
    "ContactFactory",
    "HolidayFactory",
    "SLAPolicyFactory",
    "SiteFactory",
    "StaffFactory",
    "TeamFactory",
    "WorkingIntervalFactory",
    "business_hours_calendar",
]
