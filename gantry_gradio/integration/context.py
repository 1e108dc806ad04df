"""What Gradio knows about the event being handled, read without touching the
user's function signature.

Gradio sets a context variable with the `gr.Request` of the event it is running
(it is how `gr.Request` and `gr.Progress` get injected), so the wrapper and the
flagging callback can see the session and username of the call they are in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradio.context import LocalContext
from gradio.utils import get_upload_folder

from .._values import File


def current_request() -> Any | None:
    return LocalContext.request.get(None)


def current_blocks() -> Any | None:
    return LocalContext.blocks.get(None)


def session_and_user() -> tuple[str | None, str | None]:
    request = current_request()
    if request is None:
        return None, None
    return getattr(request, "session_hash", None), getattr(request, "username", None)


def as_upload(value: Any) -> Any:
    """Turn Gradio's references to uploaded files into `File`s to store.

    Only files inside Gradio's own upload folder qualify: a client can put any
    path into a payload, and `/etc/passwd` must never reach the blob store."""
    path = value.get("path") if isinstance(value, dict) else value
    if not isinstance(path, str) or not path:
        return value
    try:
        resolved = Path(path).resolve()
    except (OSError, ValueError):
        return value
    upload_root = Path(get_upload_folder()).resolve()
    if resolved.is_relative_to(upload_root) and resolved.is_file():
        return File(resolved)
    return value


def uploads_in(value: Any) -> Any:
    """`as_upload` through lists and tuples (gallery items, audio tuples…)."""
    if isinstance(value, (list, tuple)):
        return [uploads_in(item) for item in value]
    return as_upload(value)
