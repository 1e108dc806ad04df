"""What a rows-table cell may open: a short-lived link, or the stored file itself.

Why so strict: a cell's text is whatever the application logged. A URI typed
as text (`s3://bucket/prefix/lake/app=other/_manifest.json`, a local path to
the lake or to another application's file) must stay text. A link or a file
is made only for a record blob that this application's own record referenced
when it was written (store/blob_refs.py), on S3 and local folders alike."""

from __future__ import annotations

import base64
import html
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ..client import Client

#: How long a presigned link in the rows table stays valid.
LINK_SECONDS = 900
#: The largest file a clicked cell hands over inline.
INLINE_BYTES = 10 * 1024 * 1024


class StoredLink(str):
    """A cell's value that `link_stored_files` made: the only values the
    table and the record detail show as links. Logged text that merely looks
    like a URL ("https://…") stays text."""


def _referenced_uris(
    client: Client, application: str, join_keys: Iterable[Any]
) -> dict[str, set[str]]:
    """Per join key, the URIs of the blobs its record references."""
    keys = [key for key in join_keys if isinstance(key, str)]
    refs = client.store.referenced_blobs(application, keys)
    return {key: {client.blobs.uri_for(blob) for blob in blobs} for key, blobs in refs.items()}


def link_stored_files(client: Client, application: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The page with each cell that holds a blob its own record references
    turned into a short-lived link (presigned on S3, a path on a local
    folder, which a click hands over: see `stored_file`)."""
    if frame.empty or "join_key" not in frame:
        return frame
    uris = _referenced_uris(client, application, frame["join_key"])
    if not uris:
        return frame
    frame = frame.copy()
    keys = list(frame["join_key"])
    for column in frame.columns:
        values = list(frame[column])
        if not any(isinstance(value, str) for value in values):
            continue
        linked = [
            StoredLink(client.blob_url(value, expires_in=LINK_SECONDS))
            if isinstance(value, str) and value in uris.get(key, ())
            else value
            for value, key in zip(values, keys, strict=True)
        ]
        # Object dtype: a string dtype would turn the links back into plain text.
        frame[column] = pd.Series(linked, index=frame.index, dtype=object)
    return frame


def stored_file(client: Client, application: str, join_key: Any, value: str) -> str:
    """The local record file a clicked cell shows, as a download link that
    holds the file itself (a `data:` URL), or "" for anything else, whatever
    the viewer sends (the click's row and value come from the browser).

    Why not a file Gradio serves: Gradio copies a returned file into its
    cache and serves it at a URL that needs no token and never expires. A
    `data:` link travels only in the answer to this viewer's access-checked
    click, leaves no copy on disk and is gone with the page. Files over
    INLINE_BYTES are not inlined (read them with `client.read_blob`). S3
    files appear as presigned links, which open by themselves and expire."""
    if getattr(client.blobs, "root", None) is None or not isinstance(join_key, str):
        return ""
    for uri in _referenced_uris(client, application, [join_key]).get(join_key, ()):
        path = Path(client.blob_url(uri))
        if str(path) != value or not path.is_file():
            continue
        size = path.stat().st_size
        name = html.escape(path.name)
        if size > INLINE_BYTES:
            return (
                f"<p>{name} ({size:,} bytes) is too large to hand over here; read it with "
                f"<code>client.read_blob({html.escape(repr(uri))})</code>.</p>"
            )
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        data = base64.b64encode(path.read_bytes()).decode()
        return (
            f'<a download="{name}" href="data:{kind};base64,{data}">'
            f"Download {name} ({size:,} bytes)</a>"
        )
    return ""
