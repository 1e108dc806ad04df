"""The contract every blob store keeps."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Protocol


class BlobStoreError(RuntimeError):
    """A blob could not be stored or read; the message says what to fix."""


class BlobStore(Protocol):
    """Content-addressed storage: keys come from the content's hash, so a put is
    idempotent and a user's file name never reaches the key."""

    def uri_for(self, key: str) -> str: ...

    def put_file(self, key: str, path: Path, content_type: str) -> None: ...

    def read(self, uri: str) -> bytes: ...

    def url(self, uri: str, *, expires_in: int = 3600) -> str: ...

    # The Parquet lake's files are named by the exporter, not by content: it
    # replaces its manifest, deletes superseded partitions, and reads files
    # through a local path (a query engine scans them many times).

    def replace_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def delete(self, uri: str) -> None: ...

    def fetch(self, uri: str, cache_dir: Path) -> Path: ...

    def list_files(self, prefix: str) -> list[tuple[str, float]]:
        """(URI, last modified as epoch seconds) of every file under the key
        `prefix` (which should end with "/")."""
        ...


def partial_path(target: Path) -> Path:
    """Where to write `target` before renaming it into place: unique per
    write, so two threads or processes writing one key each finish their own
    file, and the last rename wins whole."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
