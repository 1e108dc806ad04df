"""The shape of a spool entry, checked before delivery trusts any of it.

Why: the spool is a file on disk. A line written by an older version, a
damaged disk or a hostile local user is input like any other; a staged blob
name like `../../etc/x` must never reach `unlink` or the blob store, and an
entry the writer cannot read must be rejected alone, not stall the rest."""

from __future__ import annotations

from typing import Any

from ..blobs.keys import STAGED_NAME, blob_key
from .join_key import check_join_key

_SECTIONS = ("inputs", "outputs", "tags")
_MAX_NAME = 200


class BadEntry(ValueError):
    """A spool entry that cannot be delivered; the message says why."""


def check_entry(entry: Any) -> dict[str, Any]:
    """Return the entry if the writer and the blob upload can rely on its
    shape; raise BadEntry otherwise."""
    if not isinstance(entry, dict):
        raise BadEntry(f"spool entry is a JSON {type(entry).__name__}, not an object")
    _text(entry, "id", 64)
    _text(entry, "application", _MAX_NAME)
    try:
        check_join_key(entry.get("join_key"))
    except (TypeError, ValueError) as exc:
        raise BadEntry(f"spool entry has a bad join_key: {exc}") from None
    for name in ("timestamp", "logged_at"):
        value = entry.get(name)
        if type(value) is not int or abs(value) >= 2**63:
            raise BadEntry(f"spool entry's {name!r} is not an integer of microseconds")
    if entry.get("version") is not None:
        _text(entry, "version", 10_000)
    prediction, feedback = entry.get("prediction"), entry.get("feedback")
    if prediction is None and not feedback:
        raise BadEntry("spool entry has neither a prediction nor feedback")
    if prediction is not None:
        if not isinstance(prediction, dict):
            raise BadEntry("spool entry's 'prediction' is not an object")
        for section in _SECTIONS:
            if not isinstance(prediction.get(section), (dict, type(None))):
                raise BadEntry(f"spool entry's prediction {section!r} is not an object")
    if feedback is not None and not isinstance(feedback, dict):
        raise BadEntry("spool entry's 'feedback' is not an object")
    _check_blobs(entry.get("blobs", []))
    return entry


def _text(entry: dict, name: str, limit: int) -> None:
    value = entry.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise BadEntry(f"spool entry's {name!r} is not a text of 1 to {limit} characters")


def _check_blobs(blobs: Any) -> None:
    """Each blob is [key, staged name, content type], as the spool wrote it:
    the key is the staged name under its first two characters, nothing else."""
    if not isinstance(blobs, list):
        raise BadEntry("spool entry's 'blobs' is not a list")
    for blob in blobs:
        parts_are_text = isinstance(blob, list) and all(isinstance(p, str) for p in blob)
        if not (parts_are_text and len(blob) == 3):
            raise BadEntry("spool entry has a blob that is not [key, staged name, content type]")
        key, staged, content_type = blob
        if not STAGED_NAME.fullmatch(staged) or key != blob_key(staged):
            raise BadEntry(f"spool entry names a blob outside the spool: {staged[:100]!r}")
        if len(content_type) > _MAX_NAME:
            raise BadEntry("spool entry's blob content type is too long")
