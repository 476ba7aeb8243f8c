"""The configuration agrees everywhere: every environment variable the app reads is documented in
README's "Configuration" table and set or defaulted in docker-compose.yml, with the settings'
own defaults; nothing is documented or set that is no longer read; every command compose and
the systemd units give exists."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.deploy.sources import (
    DEPLOY,
    ROOT,
    START,
    app_services,
    compose,
    configuration_variables,
    production_variables,
    readme_configuration_table,
    start_roles,
    systemd_units,
    unit_commands,
)

# Set by compose on purpose to another value than the settings' default, and why.
COMPOSE_CHOICES = {
    "EMAIL_BACKEND": "production sends its mail; the settings' default prints it to the log",
}
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def test_every_variable_read_is_documented():
    undocumented = configuration_variables() - set(readme_configuration_table())
    assert not undocumented, f"add a row to README's Configuration table for {undocumented}"


def test_every_documented_variable_is_read():
    stale = set(readme_configuration_table()) - configuration_variables()
    assert not stale, f"README's Configuration table documents what nothing reads: {stale}"


@pytest.mark.parametrize("service", sorted(app_services()))
def test_compose_sets_every_production_variable_and_no_other(service):
    environment = set(app_services()[service]["environment"])
    missing, unread = production_variables() - environment, environment - production_variables()
    assert not missing, f"not in docker-compose.yml's environment: {missing}"
    assert not unread, f"set in docker-compose.yml, read by nothing: {unread}"


def interpolate(value: str, dotenv: dict[str, str]) -> str:
    """compose's ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error} and $$."""

    def replace(match: re.Match) -> str:
        name, operator, argument = match.group(1) or match.group(4), match.group(2), match.group(3)
        value = dotenv.get(name)
        if operator == ":?" and not value:
            raise AssertionError(f"{name} is required: {argument}")
        if operator == ":-" and not value:
            return argument
        if operator == "-" and value is None:
            return argument
        return value or ""

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def passes_through(name: str, value: str) -> bool:
    """Whether compose gives the operator's value of name, or a default: ${NAME:-default}."""
    return re.fullmatch(rf"\$\{{{name}:-[^}}]*\}}", value) is not None


def production_settings(environment: dict[str, str]) -> dict[str, str]:
    """Every setting of msp.settings.prod in this environment, as repr()."""
    script = (
        "import json; from django.conf import settings; settings._setup();"
        "print(json.dumps({name: repr(getattr(settings, name))"
        " for name in dir(settings._wrapped) if name.isupper()}))"
    )
    # One hash seed, so that sets print in one order in both runs.
    env = {"PATH": os.environ["PATH"], "PYTHONHASHSEED": "0", **environment}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_compose_defaults_are_the_settings_own():
    """A compose default the settings read otherwise changes production behind the table's
    back: `${MFA_REQUIRED_FOR_STAFF:-}` would be false, `${CSRF_TRUSTED_ORIGINS:-x}` a list.
    So the production settings must come out the same with compose's defaults as with none."""
    dotenv = {
        "SECRET_KEY": "k" * 20 + "-compose-check-" + "z" * 20,
        "SECRETS_KEYS": "Hs4Yq0m0oK1y3CwJtB8tQ6m7oW2cG4rEo3pY2wQ1x0s=",
        "ALLOWED_HOSTS": "psa.example.com",
    }
    environment = app_services()["web"]["environment"]
    resolved = {name: interpolate(str(value), dotenv) for name, value in environment.items()}
    defaulted = {
        name
        for name, value in environment.items()
        if passes_through(name, str(value)) and name not in COMPOSE_CHOICES
    }
    without_defaults = {name: value for name, value in resolved.items() if name not in defaulted}
    assert production_settings(resolved) == production_settings(without_defaults)


def test_every_app_service_runs_the_one_image():
    services = app_services()
    assert set(services) == {"migrate", "web", "worker", "beat"}
    assert {service["image"] for service in services.values()} == {"msp-psa:latest"}
    assert {service["build"] for service in services.values()} == {"."}


@pytest.mark.parametrize("service", sorted(app_services()))
def test_every_compose_command_is_a_role_of_deploy_start(service):
    """The image's entrypoint is deploy/start, so a command is a role and its arguments."""
    command = app_services()[service]["command"]
    assert command[0] in start_roles(), f"{service}: deploy/start has no role {command[0]}"


def test_deploy_start_runs_what_exists():
    text = START.read_text()
    assert start_roles() == {"migrate", "web", "worker", "beat"}
    assert "manage.py migrate" in text
    assert "--config deploy/gunicorn.conf.py" in text
    assert (DEPLOY / "gunicorn.conf.py").is_file()
    assert text.count("celery --app msp") == 2
    assert (ROOT / "msp" / "celery.py").is_file()
    assert os.access(START, os.X_OK)


def test_deploy_start_refuses_an_unknown_role():
    done = subprocess.run([str(START), "serve"], capture_output=True, text=True, check=False)
    assert done.returncode == 64
    assert "usage: deploy/start {migrate|web|worker|beat}" in done.stderr


def test_only_web_has_a_healthcheck():
    """The image's HEALTHCHECK asks /healthz on port 8000; the other services serve nothing,
    so theirs is off (web's /healthz reports beat's heartbeat, which a worker runs)."""
    services = compose()["services"]
    assert "healthcheck" not in services["web"], "web keeps the image's healthcheck"
    for name in ("migrate", "worker", "beat"):
        assert services[name]["healthcheck"] == {"disable": True}
    assert services["web"]["ports"] == ["8000:8000"]
    assert services["web"]["environment"]["WEB_BIND"] == "0.0.0.0:8000"


def test_every_systemd_unit_runs_deploy_start_with_a_role():
    commands = {
        name: unit_commands(unit) for name, unit in systemd_units().items() if unit_commands(unit)
    }
    assert set(commands) == {
        "psa-migrate.service",
        "psa-web.service",
        "psa-worker.service",
        "psa-worker-timers.service",
        "psa-beat.service",
    }
    for name, (command,) in commands.items():
        assert command[0] == "/opt/psa/app/deploy/start", name
        assert command[1] in start_roles(), name
        assert name == f"psa-{command[1]}.service" or command[1] == "worker"


def test_the_example_environment_file_sets_only_what_is_read():
    lines = (DEPLOY / "psa.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0].lstrip("#") for line in lines if re.match(r"#?[A-Z_]+=", line)}
    assert names <= configuration_variables()
    assert "DJANGO_SETTINGS_MODULE=msp.settings.prod" in lines
