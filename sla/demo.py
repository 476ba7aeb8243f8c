"""Demo data of the SLA app beyond the default policy: the clocks' roll-ups."""

from sla.rollups import sla_rollups_rebuild


def seed_rollups() -> int:
    """The services keep the roll-ups in step as the demo's tickets are worked; built again
    all the same, for a database whose clocks were written before they existed."""
    return sla_rollups_rebuild()
