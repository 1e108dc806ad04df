"""Which values are files Gradio received from a user, and nothing else.

A client can put any path into a payload: only files inside Gradio's own upload
folder may be read, and only when a file component handed them over (see
components.py), so `/etc/passwd` or text naming someone else's upload is never
copied to the blob store."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from gradio.utils import get_upload_folder

from ..ingest.values import File


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
