"""Posting a notification to a webhook an untrusted user may have typed.

Why so careful: anyone who can save an alert rule chooses where this process
sends requests from inside the operator's network. So, by default:
- only public addresses are reached: the host is resolved, and a private,
  loopback, link-local (cloud metadata at 169.254.169.254), multicast or
  reserved address is refused, checked on the address actually connected to
  (no second DNS lookup an attacker could answer differently);
- redirects are not followed (a 3xx is a failed attempt), so a public
  receiver cannot bounce the post to an internal one;
- one post has a total deadline, however slowly the receiver answers (a
  receiver dripping one byte every few seconds would otherwise hold delivery
  forever), and its body is never read or stored;
- errors name the destination's scheme and host and an error class only: a
  webhook URL (a Slack URL is itself a secret) or a response body never
  reaches the database or the log.

Operators whose receivers live on internal addresses list them in
GANTRY_WEBHOOK_ALLOW: comma-separated host names, addresses or networks
(`hooks.internal, 10.1.0.0/16, 127.0.0.1`)."""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

ALLOW_VARIABLE = "GANTRY_WEBHOOK_ALLOW"
#: The most one post may take, from connecting to the receiver's status line.
DEADLINE_SECONDS = 10.0


class DestinationError(RuntimeError):
    """A post that was not made or not accepted; the message holds no secret."""


def destination(url: str) -> str:
    """What may be shown of a webhook URL: its scheme and host."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def check_url(url: str, where: str) -> str:
    """`url` if it is an http(s) URL with a host; the error never repeats it
    (it may be a secret read from the environment)."""
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        has_host = False
    if not isinstance(url, str) or parts.scheme not in ("http", "https") or not has_host:
        raise DestinationError(f"{where} is not an http(s) URL with a host")
    return url


def post(
    url: str, body: bytes, headers: dict[str, str], *, deadline: float = DEADLINE_SECONDS
) -> int:
    """POST and return the HTTP status; DestinationError when the
    destination is refused, cannot be reached in time or answers a redirect."""
    check_url(url, "the webhook URL")
    guard = _Guard(_allowed(), time.monotonic() + deadline)
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: the address checked is the one used
    adapter = _GuardedAdapter(guard)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        with session:
            answer = session.post(
                url,
                data=body,
                headers=headers,
                timeout=(deadline, deadline),
                allow_redirects=False,
                stream=True,  # the body is never read
            )
            answer.close()
    except DestinationError:
        raise
    except requests.RequestException as exc:
        late = " (deadline passed)" if guard.expired() else ""
        raise DestinationError(
            f"{type(exc).__name__}{late} posting to {destination(url)}"
        ) from None
    finally:
        guard.cancel()
    if 300 <= answer.status_code < 400:
        raise DestinationError(
            f"HTTP {answer.status_code} (a redirect, not followed) from {destination(url)}"
        )
    return answer.status_code


def _allowed() -> list[str]:
    return [
        item.strip().lower()
        for item in os.environ.get(ALLOW_VARIABLE, "").split(",")
        if item.strip()
    ]


def _is_allowed(
    host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed: Iterable[str]
) -> bool:
    for item in allowed:
        if item == host.lower():
            return True
        try:
            if address in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


class _Guard:
    """Checks each connection's address and closes every socket at the deadline."""

    def __init__(self, allowed: list[str], deadline_at: float) -> None:
        self.allowed = allowed
        self.deadline_at = deadline_at
        self._timers: list[threading.Timer] = []

    def address(self, host: str, port: int) -> str:
        """The address to connect to: the first the host resolves to, if it is
        public or allowed (every address must be, so a name cannot mix a
        public and an internal one)."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise DestinationError(f"host {host} does not resolve") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
        for address in addresses:
            mapped = getattr(address, "ipv4_mapped", None) or address
            if not mapped.is_global and not _is_allowed(host, mapped, self.allowed):
                raise DestinationError(
                    f"host {host} is a non-public address ({mapped}); webhooks reach public "
                    f"addresses only unless {ALLOW_VARIABLE} lists it"
                )
        return str(addresses[0])

    def watch(self, sock: socket.socket) -> None:
        timer = threading.Timer(max(0.0, self.deadline_at - time.monotonic()), _shut, [sock])
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline_at

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # closed already
        pass


class _GuardedConnection:
    """Connects to the address the guard vetted, under the guard's deadline."""

    guard: _Guard

    def _new_conn(self) -> socket.socket:
        self._dns_host = self.guard.address(self.host, self.port)
        sock = super()._new_conn()
        self.guard.watch(sock)
        return sock


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: _Guard) -> None:
        self.guard = guard
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        guarded = {"guard": self.guard}
        http = type("Http", (_GuardedConnection, HTTPConnection), guarded)
        https = type("Https", (_GuardedConnection, HTTPSConnection), guarded)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("HttpPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("HttpsPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
