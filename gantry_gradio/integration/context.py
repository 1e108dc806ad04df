"""What Gradio knows about the event being handled, read without touching the
user's function signature.

Gradio sets a context variable with the `gr.Request` of the event it is running
(it is how `gr.Request` and `gr.Progress` get injected), so the wrapper and the
flagging callback can see the session and username of the call they are in."""

from __future__ import annotations

import math
import time
from typing import Any

from gradio.context import LocalContext


def current_request() -> Any | None:
    return LocalContext.request.get(None)


def current_blocks() -> Any | None:
    return LocalContext.blocks.get(None)


def session_and_user() -> tuple[str | None, str | None]:
    """The browser session and the authenticated user name, if any: the Gradio
    login (`auth=`), else the Hugging Face OAuth login of the session."""
    request = current_request()
    if request is None:
        return None, None
    return getattr(request, "session_hash", None), login_name(request)


def login_name(request: Any) -> str | None:
    return getattr(request, "username", None) or _oauth_username(request)


def _oauth_username(request: Any) -> str | None:
    """Read where Gradio itself reads it to inject gr.OAuthProfile: the signed
    session cookie's "oauth_info", ignored once expired (as Gradio does)."""
    underlying = getattr(request, "request", None) or request
    scope = getattr(underlying, "scope", None)
    session = scope.get("session") if isinstance(scope, dict) else None
    info = session.get("oauth_info") if isinstance(session, dict) else None
    if not isinstance(info, dict) or (info.get("expires_at") or math.inf) < time.time():
        return None
    name = (info.get("userinfo") or {}).get("preferred_username")
    return name if isinstance(name, str) and name else None
