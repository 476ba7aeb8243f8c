from django.core.management.base import BaseCommand, CommandError

from msp.models import Client
from sla.rollups import sla_rollups_rebuild


class Command(BaseCommand):
    help = (
        "Build the SLA clock roll-ups again from the clocks: every client's, or those named "
        "(by slug), e.g. after a client's time zone changed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("clients", nargs="*", metavar="slug")

    def handle(self, *args, clients: list[str], **options) -> None:
        client_ids = None
        if clients:
            found = dict(Client.objects.filter(slug__in=clients).values_list("slug", "pk"))
            unknown = sorted(set(clients) - found.keys())
            if unknown:
                raise CommandError(f"No client {', '.join(unknown)}.")
            client_ids = list(found.values())
        made = sla_rollups_rebuild(client_ids=client_ids)
        self.stdout.write(f"{made} roll-up rows built.")
