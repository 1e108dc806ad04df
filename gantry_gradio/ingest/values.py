"""Make user values storable, on the caller's thread, before log_record returns.

Why on the caller's thread: a value that cannot be stored must fail loudly at the
call that logged it, not later in a background worker where nobody is looking.
Conversions here are the documented ones (docs/guarantees.md, "What gets stored")."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import mimetypes
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..fields import MAX_EXACT_INT, MAX_FIELD_NAME, clean_text, flatten

#: Longer text is moved to the blob store and replaced by its URI, not truncated.
INLINE_TEXT_LIMIT = 1_000_000
MAX_DEPTH = 32
Stage = Callable[[bytes | Path, str], str]


class File:
    """Marks a path as a file to upload (plain strings are always logged as text,
    so a string that happens to look like a path is never read from disk)."""

    def __init__(self, path: str | Path, content_type: str | None = None) -> None:
        self.path = Path(path)
        self.content_type = content_type or (
            mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"
        )


def normalize(value: Any, where: str, stage: Stage, depth: int = 0, in_field: bool = True) -> Any:
    """Return a JSON-safe copy of `value`; `where` names it in error messages.
    `in_field`: `where` is the dotted field name the value will be stored
    under (dicts are flattened into fields; lists are stored whole, as JSON)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > INLINE_TEXT_LIMIT:
            return stage(clean_text(value).encode("utf-8"), "text/plain")
        return clean_text(value)
    if isinstance(value, int):
        return value if abs(value) <= MAX_EXACT_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        raise ValueError(f"{where} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if in_field and _is_flat_and_plain(value, len(where)):
            return dict(value)
        return _normalize_dict(value, where, stage, depth, in_field)
    if isinstance(value, (list, tuple)):
        return [
            normalize(item, f"{where}[{i}]", stage, depth + 1, in_field=False)
            for i, item in enumerate(value)
        ]
    return _normalize_rare(value, where, stage, depth)


def _is_flat_and_plain(value: dict, prefix_length: int) -> bool:
    """Whether every key and value would come out of normalizing unchanged:
    the common `{"text": "...", "score": 0.9}` of a log call, checked in one
    loop instead of a call per value (half the cost of log_record)."""
    room = MAX_FIELD_NAME - prefix_length - 1
    for key, item in value.items():
        if type(key) is not str or not key.isascii() or "\x00" in key or "." in key:
            return False
        if len(key) > room:
            return False
        kind = type(item)
        if kind is str:
            if not item.isascii() or "\x00" in item or len(item) > INLINE_TEXT_LIMIT:
                return False
        elif kind is int:
            if abs(item) > MAX_EXACT_INT:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is not bool and item is not None:
            return False
    return True


def _normalize_dict(value: dict, where: str, stage: Stage, depth: int, in_field: bool) -> dict:
    """Keys become parts of field names: each must stay one distinct name."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{where} has a key of type {type(key).__name__}; keys must be str")
        clean = clean_text(key)
        if clean in out:
            raise ValueError(f"{where} has two keys both stored as {clean!r}; rename one")
        if in_field and len(where) + 1 + len(clean) > MAX_FIELD_NAME:
            raise ValueError(
                f"{where} has a key of {len(clean):,} characters; a field name "
                f"({where}.<key>) may have at most {MAX_FIELD_NAME}. Put such data "
                "under a short key, e.g. {'data': [...]} (lists are stored whole)"
            )
        out[clean] = normalize(item, f"{where}.{clean}", stage, depth + 1, in_field)
    if in_field and any("." in key for key in out):
        flatten(where, out, {})  # raises if a dotted key and a nested path collide
    return out


def _normalize_rare(value: Any, where: str, stage: Stage, depth: int) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return stage(bytes(value), "application/octet-stream")
    if isinstance(value, File):
        if not value.path.is_file():
            raise FileNotFoundError(f"{where}: file {str(value.path)!r} does not exist")
        return stage(value.path, value.content_type)
    if isinstance(value, Path):
        return normalize(File(value), where, stage, depth)
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return stage(buffer.getvalue(), "application/x-npy")
    if isinstance(value, np.generic):
        return normalize(value.item(), where, stage, depth)
    if _is_pil_image(value):
        buffer = io.BytesIO()
        value.save(buffer, format="PNG")
        return stage(buffer.getvalue(), "image/png")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return normalize(float(value), where, stage, depth)
    if isinstance(value, uuid.UUID):
        return value.hex
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}, which cannot be logged; "
        "pass str, number, bool, None, dict, list, bytes, pathlib.Path, "
        "gantry_gradio.File, a numpy array or a PIL image"
    )


def _is_pil_image(value: Any) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(value, pil.Image)
