"""Who may see monitoring data: the credential every monitoring handler checks.

The tab shows every user's inputs, so it needs a credential by default, even
from 127.0.0.1: a reverse proxy (nginx's default `proxy_pass` rewrites Host and
adds no X-Forwarded-For) or any TCP forwarder makes a remote browser look
local, so "the request comes from this machine" proves nothing on its own.
Three ways to give access, one at a time:

- `allowed_users`: Gradio logins (launch with `auth=...`);
- an access token (the default, Jupyter's model): given, read from
  GANTRY_MONITORING_TOKEN, or generated and printed; the page reads it from
  the link's `#monitoring_token=...` (or an older `?monitoring_token=...`)
  or the "Access token" field;
- `access="loopback"`: the explicit opt-out for a trusted single-user machine,
  where requests made on this machine (loopback client, local Host, no proxy
  headers) are served without a credential."""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import gradio as gr

TOKEN_ENV = "GANTRY_MONITORING_TOKEN"
TOKEN_PARAM = "monitoring_token"
MIN_TOKEN_LENGTH = 16
ACCESS_MODES = ("token", "loopback")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
_PROXY_HEADERS = ("x-forwarded-for", "x-forwarded-host", "x-real-ip", "forwarded")


#: Events that are not endpoints of the public API, so Gradio's run history
#: (kept in the viewer's browser) never stores the data they return.
PRIVATE_EVENT = {"api_name": False, "api_visibility": "private"}
#: Takes the token from the link (`#monitoring_token=`, or an older link's
#: `?monitoring_token=`) into the token field, and out of the address bar.
TOKEN_FROM_ADDRESS_JS = f"""(typed) => {{
    const search = new URLSearchParams(window.location.search);
    const hash = new URLSearchParams(window.location.hash.slice(1));
    const token = hash.get("{TOKEN_PARAM}") ?? search.get("{TOKEN_PARAM}");
    if (token === null) return typed;
    search.delete("{TOKEN_PARAM}");
    hash.delete("{TOKEN_PARAM}");
    const query = search.toString(), fragment = hash.toString();
    const rest = (query ? "?" + query : "") + (fragment ? "#" + fragment : "");
    window.history.replaceState(window.history.state, "", window.location.pathname + rest);
    return typed || token;
}}"""


class AccessDenied(gr.Error):
    """Shown to the requester as it is: it says what credential is missing."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or the name localhost."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def access_url(base_url: str, token: str) -> str:
    """The link to open: the app's URL with the token in its fragment
    (`#monitoring_token=...`). A browser never sends a fragment, neither in
    the request line nor in the Referer of the page's asset requests, so the
    token reaches no proxy or server log; the page moves it into its field
    and out of the address bar, and sends it in each event's body."""
    parts = urlsplit(base_url)
    return urlunsplit(
        parts._replace(path=parts.path or "/", fragment=urlencode({TOKEN_PARAM: token}))
    )


def new_token() -> str:
    return secrets.token_urlsafe(24)


def validated_users(allowed_users: Iterable[str] | None) -> frozenset[str] | None:
    """A string would be iterated as characters and an empty list would allow
    nobody (it used to mean loopback-only, silently): refuse both."""
    if allowed_users is None:
        return None
    if isinstance(allowed_users, (str, bytes)):
        raise TypeError(
            f"allowed_users takes a list of Gradio logins like [{allowed_users!r}], not a string"
        )
    try:
        users = list(allowed_users)
    except TypeError:
        raise TypeError(
            f"allowed_users takes a list of Gradio logins, not {type(allowed_users).__name__}"
        ) from None
    if not users:
        raise ValueError(
            "allowed_users=[] would let nobody see the tab; list Gradio logins, or leave "
            "it None to use the access token"
        )
    bad = [u for u in users if not isinstance(u, str) or not u.strip()]
    if bad:
        raise TypeError(f"allowed_users must be non-empty login names (strings); got {bad[0]!r}")
    return frozenset(users)


@dataclass(frozen=True)
class MonitoringAccess:
    """How requests prove they may see the data; see the module docstring."""

    mode: Literal["users", "token", "loopback"]
    users: frozenset[str] = frozenset()
    token: str | None = None
    generated: bool = False

    @classmethod
    def configure(
        cls,
        *,
        allowed_users: Iterable[str] | None = None,
        access: str = "token",
        access_token: str | None = None,
    ) -> MonitoringAccess:
        """Validate the keywords of `monitoring_tab`; contradictory ones are an error."""
        users = validated_users(allowed_users)
        if access not in ACCESS_MODES:
            raise ValueError(f"access must be one of {', '.join(ACCESS_MODES)}, not {access!r}")
        if users is not None:
            if access != "token" or access_token is not None:
                raise ValueError(
                    "allowed_users already decides who sees the tab; drop access= and access_token="
                )
            return cls("users", users=users)
        if access == "loopback":
            if access_token is not None:
                raise ValueError("access='loopback' serves this machine without a token")
            return cls("loopback")
        token = access_token if access_token is not None else os.environ.get(TOKEN_ENV)
        if token is None:
            return cls("token", token=new_token(), generated=True)
        if not isinstance(token, str) or len(token.strip()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"the monitoring access token ({TOKEN_ENV} or access_token=) must be a "
                f"string of at least {MIN_TOKEN_LENGTH} characters"
            )
        return cls("token", token=token.strip())

    def announce(self, application: str | None) -> None:
        """Print a generated token where the person starting the app looks, as
        Jupyter does; a given one they know already."""
        if not self.generated:
            return
        port = os.environ.get("GRADIO_SERVER_PORT", "7860")
        what = f"monitoring tab of {application!r}" if application else "monitoring dashboard"
        print(
            f"gantry_gradio: the {what} needs its access token; open "
            f"{access_url(f'http://127.0.0.1:{port}/', self.token)} "
            f"(your app's address with #{TOKEN_PARAM}=...), or paste {self.token} "
            "in its Access token field",
            file=sys.stderr,
            flush=True,
        )

    def token_in(self, request: gr.Request | None) -> str:
        """The token the page was opened with (`?monitoring_token=`), or ''."""
        params = getattr(request, "query_params", None) or {}
        value = dict(params).get(TOKEN_PARAM, "")
        return value if isinstance(value, str) else ""

    def check(self, request: gr.Request | None, typed_token: str | None = None) -> None:
        """Raise AccessDenied unless this request may see monitoring data."""
        if request is None:
            raise AccessDenied("Monitoring data is only served to Gradio requests.")
        if self.mode == "users":
            if request.username not in self.users:
                raise AccessDenied(
                    "You are not allowed to see monitoring data; log in as a user "
                    "listed in allowed_users."
                )
        elif self.mode == "loopback":
            if not _made_on_this_machine(request):
                raise AccessDenied(
                    "This monitoring tab (access='loopback') is served only on localhost; "
                    "use an access token or allowed_users to reach it from elsewhere."
                )
        else:
            given = (typed_token or "").strip() or self.token_in(request)
            if not given:
                raise AccessDenied(
                    "The monitoring tab needs its access token: open the link printed when "
                    f"the app started (…/?{TOKEN_PARAM}=…) or paste the token in the "
                    "Access token field."
                )
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                raise AccessDenied("Wrong monitoring access token.")


def _made_on_this_machine(request: gr.Request) -> bool:
    """Loopback client, a local Host and no proxy headers. Not a credential: a
    proxy that adds no header looks exactly like this (hence the opt-in)."""
    headers = {k.lower(): v for k, v in dict(request.headers or {}).items()}
    host = headers.get("host", "").rsplit(":", 1)[0]
    loopback = is_loopback(getattr(request.client, "host", "") or "")
    proxied = any(h in headers for h in _PROXY_HEADERS)
    return loopback and host in _LOCAL_HOSTS and not proxied
