import json
import os
import signal
import sys
import time
import urllib.request

from django.core.management.base import BaseCommand

from msp.demo import DEMO_PASSWORD, demo_logins
from msp.selectors import health_report

POLL_SECONDS = 1.0


def _stop(signum, frame) -> None:
    # honcho stops every process of the Procfile with SIGTERM: end quietly, with success.
    sys.exit(0)


class Command(BaseCommand):
    help = (
        "Wait until the embedded default is healthy and the demo's emails are written, then "
        "print the demo logins and where to sign in, last; then wait to be stopped. "
        "A process of Procfile.dev (bin/run), so that the sign-in line is not lost in the logs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="The web process.")
        parser.add_argument(
            "--warn-after",
            type=float,
            default=300.0,
            help="Seconds after which to print the logins anyway, with what is not healthy yet.",
        )

    def handle(self, *args, url: str, warn_after: float, **options) -> None:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        url = url.rstrip("/")
        waited_from = time.monotonic()
        while (problem := self._not_ready(url)) is not None:
            if time.monotonic() - waited_from > warn_after:
                # Whatever is wrong, the logins must not stay hidden: say it, then show them.
                self.stdout.write(
                    self.style.WARNING(f"Not ready after {warn_after:.0f} s: {problem}")
                )
                break
            time.sleep(POLL_SECONDS)
        # The web logs the request just made; let that line come first, the sign-in line last.
        time.sleep(POLL_SECONDS)
        self._greet(url, ready=problem is None)
        while True:
            signal.pause()

    def _not_ready(self, url: str) -> str | None:
        """What the demo still waits for, or None once it is ready."""
        # The processes' own figures first, read in this process: polling the web's /healthz
        # every second would fill the terminal with request lines.
        try:
            report = health_report()
        except Exception as exc:  # any: this process must not end, honcho would stop them all
            return f"health report: {exc}"
        failing = [name for name, check in report["checks"].items() if not check["ok"]]
        if failing:
            return "failing checks: " + ", ".join(failing)
        pending = report["checks"]["outbox"]["pending"]
        if pending:
            return f"{pending} emails still to write"
        # Then the web process itself, once, with the SLA sweep's figure it adds.
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:  # noqa: S310
                status = json.load(response)["status"]
        except (OSError, ValueError) as exc:  # not listening yet, or 503 while a check fails
            return f"{url}/healthz: {exc}"
        return None if status == "ok" else f"{url}/healthz says {status}"

    def _greet(self, url: str, *, ready: bool) -> None:
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for login in demo_logins():
            self.stdout.write(f"  {login.email:<24} {login.role}")
        self.stdout.write("Emails the app sends are under Sent mail (signed in as admin@demo.msp).")
        started = os.environ.get("MSP_RUN_STARTED_AT", "")
        took = f" in {time.time() - int(started):.0f} s" if started.isdigit() else ""
        line = f"Open {url} and sign in with one of the logins above (Ctrl-C stops everything)."
        if ready:
            self.stdout.write(self.style.SUCCESS(f"Ready{took}. {line}"))
        else:
            self.stdout.write(self.style.WARNING(f"Not all is well (see above). {line}"))
