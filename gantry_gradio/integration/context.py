"""What Gradio knows about the event being handled, read without touching the
user's function signature.

Gradio sets a context variable with the `gr.Request` of the event it is running
(it is how `gr.Request` and `gr.Progress` get injected), so the wrapper and the
flagging callback can see the session and username of the call they are in."""

from __future__ import annotations

import functools
import os
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


def _upload_roots() -> tuple[str, ...]:
    return _roots_of(os.environ.get("GRADIO_TEMP_DIR"))


@functools.lru_cache(maxsize=8)
def _roots_of(_configured: str | None) -> tuple[str, ...]:
    """Gradio's upload folder, as configured and as resolved (it may sit behind
    a symlink, e.g. /tmp on macOS); cached per GRADIO_TEMP_DIR, since resolving
    it costs file-system calls on every logged value otherwise."""
    folder = get_upload_folder()
    return tuple({folder.rstrip("/") + "/", str(Path(folder).resolve()) + "/"})


def as_upload(value: Any) -> Any:
    """Turn Gradio's references to uploaded files into `File`s to store.

    Only files inside Gradio's own upload folder qualify: a client can put any
    path into a payload, and `/etc/passwd` must never reach the blob store. The
    prefix test comes first so ordinary text costs no file-system call."""
    path = value.get("path") if isinstance(value, dict) else value
    if not isinstance(path, str):
        return value
    roots = _upload_roots()
    if not path.startswith(roots):
        return value
    try:
        resolved = Path(path).resolve()
    except (OSError, ValueError):
        return value
    if str(resolved).startswith(roots) and resolved.is_file():
        return File(resolved)
    return value


def uploads_in(value: Any) -> Any:
    """`as_upload` through lists and tuples (gallery items, audio tuples…)."""
    if isinstance(value, (list, tuple)):
        return [uploads_in(item) for item in value]
    return as_upload(value)
