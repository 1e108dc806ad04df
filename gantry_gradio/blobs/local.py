"""Blobs in a local folder: the embedded default, no server needed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from stat import S_ISREG
from urllib.parse import unquote

from .base import BlobStoreError, partial_path

#: Parts of the deepest key this package writes (a dataset file in a subfolder).
_DEEPEST_KEY = 8


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def uri_for(self, key: str) -> str:
        return (self.root / key).as_uri()

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self.root / key
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = partial_path(target)
        shutil.copyfile(path, partial)
        os.chmod(partial, 0o600)  # private, like the S3 objects
        os.replace(partial, target)

    def replace_bytes(self, key: str, data: bytes, content_type: str) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = partial_path(target)
        partial.write_bytes(data)
        os.chmod(partial, 0o600)
        os.replace(partial, target)

    def delete(self, uri: str) -> None:
        self._path_of(uri).unlink(missing_ok=True)

    def fetch(self, uri: str, cache_dir: Path) -> Path:
        """The file itself: a local folder needs no copy."""
        return self._path_of(uri)

    def list_files(self, prefix: str) -> list[tuple[str, float]]:
        folder = self.root / prefix
        if not folder.resolve().is_relative_to(self.root) or not folder.is_dir():
            return []
        found = []
        for path in folder.rglob("*"):
            try:
                stat = path.stat()
            except FileNotFoundError:  # renamed or deleted by another writer meanwhile
                continue
            if S_ISREG(stat.st_mode):
                found.append((path.as_uri(), stat.st_mtime))
        return found

    def _path_of(self, uri: str) -> Path:
        if not uri.startswith("file://"):
            raise BlobStoreError(f"{uri!r} is not a file:// URI of this blob store")
        # uri_for percent-encodes (Path.as_uri): lake keys hold `=` and `%`
        path = Path(unquote(uri[len("file://") :])).resolve()
        if path.is_relative_to(self.root):
            return path
        moved = self._moved(path)
        if moved is None:
            raise BlobStoreError(f"{uri!r} lies outside the blob folder {self.root}")
        return moved

    def _moved(self, path: Path) -> Path | None:
        """The file a URI written before this folder moved (copied, mounted
        elsewhere) names: the same trailing path under this root, the longest
        one found. Whatever the URI, the answer is a file inside this root."""
        parts = path.parts[1:]
        for start in range(max(0, len(parts) - _DEEPEST_KEY), len(parts)):
            candidate = self.root.joinpath(*parts[start:]).resolve()
            if candidate.is_relative_to(self.root) and candidate.is_file():
                return candidate
        return None

    def read(self, uri: str) -> bytes:
        return self._path_of(uri).read_bytes()

    def url(self, uri: str, *, expires_in: int = 3600) -> str:
        """Local files need no signing; the path is only readable by this user."""
        return str(self._path_of(uri))

