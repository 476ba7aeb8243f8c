"""Where a webhook may be sent (the SSRF guard), and the one HTTP request of an attempt.

A target's host is resolved and every address must be public unless an administrator listed
its network (WebhookSettings.allowed_networks): checked when an endpoint is saved and again at
every delivery, since DNS can change. The request then connects to the address that was
checked (not a second lookup, which could answer differently) and follows no redirect."""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10
EXCERPT_CHARS = 1000
USER_AGENT = "MSP-PSA-Webhooks/1"


class TargetRefused(ValueError):
    """A URL that webhooks may not be sent to; the message says why."""


def networks_parse(text: str) -> list[Network]:
    """The administrator's list of allowed networks, one CIDR a line (ValueError if bad)."""
    networks = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                networks.append(ipaddress.ip_network(line, strict=False))
            except ValueError:
                raise ValueError(f"{line!r} is not a network (e.g. 10.20.0.0/16).") from None
    return networks


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked address the request connects to


def target_check(url: str, *, allowed: list[Network], allow_http: bool) -> Target:
    """Resolve the URL's host and refuse it unless every address is public or allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise TargetRefused("Webhook URLs start with https://.")
    if parts.scheme == "http" and not allow_http:
        raise TargetRefused("Plain http is not allowed; use https://.")
    if parts.username or parts.password:
        raise TargetRefused("Put no user name or password in the URL.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("The URL's port is not a number.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"{parts.hostname} does not resolve.") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        if not _is_public(address) and not any(address in network for network in allowed):
            raise TargetRefused(
                f"{parts.hostname} resolves to {address}, a private, loopback, link-local, "
                "multicast or reserved address; an administrator may allow its network in "
                "the webhook settings."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, str(addresses[0]))


@dataclass(frozen=True)
class Response:
    status: int | None
    excerpt: str
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(target: Target, *, body: str, headers: dict[str, str]) -> Response:
    """POST the body to the checked address; a redirect is an answer like any other (not
    followed). Every socket operation has a timeout."""
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host,
            target.port,
            timeout=CONNECT_TIMEOUT_SECONDS,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(
            target.host, target.port, timeout=CONNECT_TIMEOUT_SECONDS
        )

    # Connect to the address checked, not to whatever the name resolves to now; TLS still
    # verifies the certificate against the host name (SNI).
    def connect_checked(address, timeout, source_address=None):
        sock = socket.create_connection((target.address, address[1]), timeout, source_address)
        sock.settimeout(READ_TIMEOUT_SECONDS)
        return sock

    connection._create_connection = connect_checked
    started = time.monotonic()
    try:
        connection.request(
            "POST",
            target.path,
            body=body.encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
        )
        answer = connection.getresponse()
        excerpt = answer.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
        status = answer.status
    except (OSError, http.client.HTTPException) as exc:
        return Response(None, "", _elapsed(started), f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    return Response(status, excerpt, _elapsed(started))


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
