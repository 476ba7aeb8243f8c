"""The nginx block of docs/storage.md, run for real: Debian's nginx on a loopback port in
front of the app (live_server), ATTACHMENT_SERVING=x-accel-redirect. The app checks who may
have the file and nginx sends it; the internal location cannot be reached from outside."""

import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from msp import storage
from tests.conftest import _missing_service
from tests.factories import StaffFactory, TeamFactory
from tickets.services import attachment_add, ticket_open

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
NGINX = "/usr/sbin/nginx"
CONFIG = """
user root;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_set_header Host $host;
        }}
{documented}
    }}
}}
"""


def _documented_block(media: Path) -> str:
    blocks = re.findall(r"```nginx\n(.*?)```", DOCS.read_text(), re.DOTALL)
    (block,) = [block for block in blocks if "internal;" in block]
    assert "alias /srv/psa/media/;" in block
    return block.replace("/srv/psa/media/", f"{media}/")


@pytest.fixture
def nginx(live_server, tmp_path):
    if not shutil.which(NGINX):
        _missing_service(f"{NGINX} is not installed (apt-get install nginx-light)")
    root, media = tmp_path / "nginx", tmp_path / "media"
    root.mkdir()
    media.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "nginx.conf"
    config.write_text(
        CONFIG.format(
            root=root, port=port, upstream=live_server.url, documented=_documented_block(media)
        )
    )
    process = subprocess.Popen(
        [NGINX, "-c", str(config), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"nginx did not start: {(root / 'error.log').read_text()[-2000:]}")
            time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "media": media}
    process.terminate()
    process.wait(timeout=10)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer of its own here (302 to the sign-in page)


OPENER = urllib.request.build_opener(_NoRedirects)


def _get(url: str, user=None):
    """(status, headers, body) of a GET as `user` (signed in) or nobody."""
    headers = {}
    if user is not None:
        browser = HttpClient()
        browser.force_login(user)
        headers["Cookie"] = f"sessionid={browser.cookies['sessionid'].value}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.mark.django_db(transaction=True)
def test_nginx_sends_the_file_only_after_the_apps_check(
    nginx, settings, policy, client_a, client_b, client_user_a, client_user_b
):
    settings.MEDIA_ROOT = nginx["media"]
    settings.ATTACHMENT_SERVING = storage.X_ACCEL_REDIRECT
    tech_a = StaffFactory(teams=[TeamFactory(name="Team A")])
    tech_a.teams.get().clients.add(client_a)
    tech_b = StaffFactory(teams=[TeamFactory(name="Team B")])
    tech_b.teams.get().clients.add(client_b)
    ticket = ticket_open(client=client_a, subject="Firewall logs")
    content = bytes(range(256)) * 20_000  # 5 MB
    attachment = attachment_add(
        ticket=ticket,
        upload=SimpleUploadedFile("fw log é.bin", content, content_type="application/x-foo"),
        user=tech_a,
    )
    workspace = nginx["url"] + reverse("tickets:attachment", args=[ticket.pk, attachment.pk])
    portal = nginx["url"] + reverse("portal:attachment", args=[ticket.pk, attachment.pk])

    status, headers, body = _get(workspace, tech_a)
    assert status == 200
    assert body == content
    assert headers["Content-Length"] == str(len(content))
    assert headers["Content-Type"] == "application/x-foo"
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''fw%20log%20%C3%A9.bin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in headers["Cache-Control"]
    assert "X-Accel-Redirect" not in headers  # nginx consumes it

    status, _, body = _get(portal, client_user_a)
    assert (status, body) == (200, content)

    for url, user, refused in (
        (workspace, tech_b, 404),
        (portal, client_user_b, 404),
        (workspace, client_user_a, 403),
        (workspace, None, 302),
    ):
        status, headers, body = _get(url, user)
        assert (status, body != content) == (refused, True), (url, user)
        assert "X-Accel-Redirect" not in headers
    # The internal location answers nobody directly, signed in or not.
    assert "é" in attachment.file.name  # stored under its own name, quoted in the header
    direct = f"{nginx['url']}/protected-media/{quote(attachment.file.name)}"
    assert _get(direct, tech_a)[0] == 404
    assert _get(direct)[0] == 404
