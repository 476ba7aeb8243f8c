from django.core.management.base import BaseCommand

from contracts.demo import seed_contracts, seed_evaluations
from msp.demo import DEMO_PASSWORD, seed_directory
from reporting.billing.demo import seed_invoices
from reporting.demo import seed_reports
from sla.demo import seed_rollups
from sla.services import default_policy_ensure
from tickets.demo import seed_history, seed_tickets


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser) -> None:
        # bin/run prints the logins itself, last, once the processes are up (demo_ready).
        parser.add_argument("--no-logins", action="store_true", help="Do not print the logins.")

    def handle(self, *args, **options) -> None:
        logins = seed_directory()
        policy = default_policy_ensure()
        # Contracts before tickets, so demo tickets take their contract and its SLA policy.
        contracts = seed_contracts()
        if contracts:
            self.stdout.write(f"{contracts} demo contracts activated.")
        created = seed_tickets()
        if created:
            self.stdout.write(f"{created} demo tickets opened, in every state.")
        history = seed_history()
        if history:
            self.stdout.write(f"{history} worked tickets over the last six months.")
        seed_rollups()
        evaluated = seed_evaluations()
        if evaluated:
            self.stdout.write(f"{evaluated} contract months evaluated.")
        reports = seed_reports()
        if reports:
            self.stdout.write(f"{reports} reports generated and sent (monthly and QBR).")
        invoices = seed_invoices()
        if invoices:
            self.stdout.write(f"{invoices} invoices finalised for the last two months.")
        self.stdout.write(self.style.SUCCESS(f"Demo data ready (default SLA policy: {policy})."))
        if options["no_logins"]:
            return
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for login in logins:
            self.stdout.write(f"  {login.email:<24} {login.role}")
