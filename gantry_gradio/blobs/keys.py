"""How a record's blob is named: by its content (sha256 hex and a short
extension), under its first two characters.

Why here: the spool stages blobs under these names, delivery moves them into
the blob store, and the store, the lake and deletion must recognise a record
blob's key and nothing else; a name like `../../etc/x` is never one."""

from __future__ import annotations

import re

#: A staged blob is named by its content: sha256 hex plus a short extension.
STAGED_NAME = re.compile(r"[0-9a-f]{64}\.[A-Za-z0-9]{1,16}")


def blob_key(staged: str) -> str:
    """Where a staged blob lives in the blob store: under its first two characters."""
    return f"{staged[:2]}/{staged}"


def is_blob_key(key: str) -> bool:
    """Whether `key` is a record blob's key (`ab/ab…ef.ext`), and nothing else."""
    staged = key.rpartition("/")[2]
    return STAGED_NAME.fullmatch(staged) is not None and key == blob_key(staged)
