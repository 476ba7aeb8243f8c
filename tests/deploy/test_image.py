"""The image's parts that can be checked without Docker: the build context (.dockerignore, as
bin/deploy-check reads it), the Dockerfile against bin/setup, gunicorn's settings, the health
probe, and the systemd units."""

import importlib.machinery
import importlib.util
import re
import runpy
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import pytest
import yaml
from gunicorn.config import Config

from tests.conftest import _missing_service
from tests.deploy.sources import DEPLOY, ROOT, SYSTEMD, readme_section

DOCKERFILE = (ROOT / "Dockerfile").read_text()
HEALTHCHECK = DEPLOY / "healthcheck"


def _deploy_check():
    loader = importlib.machinery.SourceFileLoader("deploy_check", str(ROOT / "bin/deploy-check"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


deploy_check = _deploy_check()


# The build context ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "path", "ignored"),
    [
        ("var", "var/msp.sqlite3", True),
        ("var", "msp/var.py", False),
        ("/tests", "tests/conftest.py", True),
        ("**/__pycache__", "msp/settings/__pycache__/base.cpython-311.pyc", True),
        ("**/*.py[co]", "manage.pyc", True),
        ("*.egg-info", "msp_psa.egg-info/PKG-INFO", True),
        ("*.egg-info", "msp/x.egg-info", False),  # * stops at a folder
        ("docs\n!docs/keep.md", "docs/keep.md", False),
        ("docs\n!docs/keep.md", "docs/other.md", True),
        ("bin/?un", "bin/run", True),
    ],
)
def test_dockerignore_patterns_match_as_docker_matches_them(pattern, path, ignored):
    rules = deploy_check.dockerignore_rules(pattern)
    assert deploy_check.dockerignored(path, rules) is ignored


def test_the_build_context_has_the_app_and_nothing_of_a_developers():
    context = deploy_check.build_context(ROOT)
    for needed in (
        "manage.py",
        "pyproject.toml",
        "README.md",  # the package's readme, which pip reads
        "deploy/install",
        "deploy/start",
        "deploy/healthcheck",
        "deploy/gunicorn.conf.py",
        "msp/settings/prod.py",
        "templates/base.html",
        "static/css/app.css",
    ):
        assert needed in context
    for package in ("msp", "sla", "contracts", "tickets", "reporting"):
        assert any(path.startswith(f"{package}/") for path in context)
    rules = deploy_check.dockerignore_rules((ROOT / ".dockerignore").read_text())
    for local in (".venv/bin/python", "var/msp.sqlite3", ".env", ".git/HEAD", "x/__pycache__/y"):
        assert deploy_check.dockerignored(local, rules), local
    assert not any(path.startswith(("tests/", "bench/", ".ci/")) for path in context)


# The Dockerfile -------------------------------------------------------------------------------


def test_the_image_installs_the_pdf_libraries_bin_setup_installs():
    setup = (ROOT / "bin" / "setup").read_text()
    on_a_host = re.search(r"apt_install (libpango[^\\\n]*)", setup).group(1)
    runtime_stage = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    in_the_image = re.search(r"--no-install-recommends \\\n\s+([^\\\n]+)", runtime_stage).group(1)
    assert set(on_a_host.split()) <= set(in_the_image.split())
    assert "postgresql-client" in in_the_image.split()  # bin/backup's pg_dump


def test_the_composed_database_is_the_version_of_the_image_pg_dump():
    """Debian bookworm's postgresql-client is 15; pg_dump refuses a newer server."""
    assert "FROM ${PYTHON_IMAGE}" in DOCKERFILE and "bookworm" in DOCKERFILE
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["postgres"]["image"] == "postgres:15"


def test_the_image_builds_runs_and_probes_with_the_deploy_scripts():
    assert "RUN deploy/install" in DOCKERFILE
    assert 'ENTRYPOINT ["/app/deploy/start"]' in DOCKERFILE
    assert 'CMD ["web"]' in DOCKERFILE
    assert 'CMD ["/app/deploy/healthcheck"]' in DOCKERFILE
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.MULTILINE)
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.MULTILINE)) == 2


def test_dockers_healthcheck_outlasts_the_probe_which_outlasts_healthz():
    """/healthz answers within a second; the probe gives it 3 s and Docker gives the probe 5."""
    docker_timeout = int(re.search(r"HEALTHCHECK .*--timeout=(\d+)s", DOCKERFILE).group(1))
    probe_timeout = runpy.run_path(str(HEALTHCHECK))["TIMEOUT_SECONDS"]
    assert 1 < probe_timeout < docker_timeout <= 10


# gunicorn ---------------------------------------------------------------------------------------


def gunicorn_settings(monkeypatch, **env: str) -> dict:
    for name in ("WEB_BIND", "WEB_CONCURRENCY", "WEB_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def test_every_name_in_gunicorn_conf_is_a_gunicorn_setting(monkeypatch):
    """gunicorn ignores a misspelt setting in its config file; here it fails."""
    settings = gunicorn_settings(monkeypatch)
    config = Config()
    names = {
        name
        for name, value in settings.items()
        if name.islower() and not name.startswith("_")
        if not callable(value) and not isinstance(value, ModuleType)
    }
    assert names - set(config.settings) == set()
    for name in names:
        config.set(name, settings[name])  # gunicorn's own validation


def test_gunicorn_workers_follow_the_cpus_unless_set(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["workers"] == 2 * settings["available_cpus"]()
    assert settings["bind"] == ["0.0.0.0:8000"]
    assert settings["timeout"] == 60
    assert settings["graceful_timeout"] < settings["timeout"]
    assert settings["errorlog"] == "-"
    # The app's own request lines (LOG_REQUESTS) replace gunicorn's, which would repeat them.
    assert settings["accesslog"] is None
    assert gunicorn_settings(monkeypatch, LOG_REQUESTS="false")["accesslog"] == "-"
    assert "%({x-request-id}o)s" in settings["access_log_format"]
    assert "%(r)s" not in settings["access_log_format"]  # the query string may hold a secret
    settings = gunicorn_settings(
        monkeypatch, WEB_CONCURRENCY="5", WEB_TIMEOUT="90", WEB_BIND="127.0.0.1:8001"
    )
    assert (settings["workers"], settings["timeout"]) == (5, 90)
    assert settings["bind"] == ["127.0.0.1:8001"]


def test_a_bad_worker_count_is_named(monkeypatch):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be a positive whole number"):
        gunicorn_settings(monkeypatch, WEB_CONCURRENCY="many")


# The health probe -------------------------------------------------------------------------------


class _Healthz(BaseHTTPRequestHandler):
    status = 200
    hosts: list

    def do_GET(self):
        self.hosts.append((self.path, self.headers["Host"]))
        body = b'{"status": "ok"}' if self.status == 200 else b'{"status": "fail"}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def healthz():
    _Healthz.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    _Healthz.status = 200


def probe(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HEALTHCHECK)], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True
    )


def test_the_probe_asks_healthz_on_web_bind_as_the_first_allowed_host(healthz):
    port = healthz.server_address[1]
    done = probe({"WEB_BIND": f"0.0.0.0:{port}", "ALLOWED_HOSTS": ".example.com,other"})
    assert done.returncode == 0, done.stdout
    assert _Healthz.hosts == [("/healthz", "example.com")]
    _Healthz.status = 503
    done = probe({"WEB_BIND": f"127.0.0.1:{port}", "ALLOWED_HOSTS": "*"})
    assert done.returncode == 1
    assert "answered 503" in done.stdout
    assert _Healthz.hosts[1] == ("/healthz", f"127.0.0.1:{port}")


def test_the_probe_fails_when_nothing_answers():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: a connection is refused at once
        done = probe({"WEB_BIND": f"127.0.0.1:{unused.getsockname()[1]}"})
    assert done.returncode == 1
    assert "/healthz" in done.stdout


# systemd --------------------------------------------------------------------------------------


def test_the_systemd_units_verify_clean(tmp_path):
    """systemd's own checks of the units (keys, values, commands), with the app where this
    repository is."""
    if not shutil.which("systemd-analyze"):
        _missing_service("systemd-analyze is not installed (apt-get install systemd)")
    units = []
    for unit in SYSTEMD.iterdir():
        text = unit.read_text().replace("/opt/psa/app", str(ROOT))
        (tmp_path / unit.name).write_text(text)
        units.append(str(tmp_path / unit.name))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout + done.stderr == ""


def test_the_deployment_guide_names_every_unit():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for unit in SYSTEMD.iterdir():
        assert unit.name in guide
    assert "deploy/psa.env.example" in guide


def test_the_readme_points_at_the_image_its_check_and_the_guide():
    production = readme_section("## Production")
    assert (ROOT / "Dockerfile").is_file()
    assert "bin/deploy-check" in production
    assert "docs/deploy.md" in production
