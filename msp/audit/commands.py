"""Management commands act as the system, named "command:<name>" in the audit trail.

Django sends no signal around a command, so BaseCommand.execute is wrapped once, here: every
command (ours, Django's createsuperuser or loaddata, call_command in code) runs inside its
own audit scope. Servers are left out: their requests open scopes of their own."""

import functools

from django.core.management.base import BaseCommand

from msp.audit.context import audit_source

UNSCOPED_COMMANDS = frozenset({"runserver", "testserver"})


def install() -> None:
    original = BaseCommand.execute
    if getattr(original, "audit_scoped", False):
        return

    @functools.wraps(original)
    def execute(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        if name in UNSCOPED_COMMANDS:
            return original(self, *args, **options)
        with audit_source(f"command:{name}"):
            return original(self, *args, **options)

    execute.audit_scoped = True
    BaseCommand.execute = execute
