"""The rows a person reads: a compact table, and one record in full.

A page of rows holds every logged field (24 columns in the demo, thousands of
pixels wide), so the table starts from the columns a reviewer reads first and
offers the rest in a chooser; the clicked row opens in a detail panel with
every field, its projections, its files and its feedback events in time order."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..client import Client
from ..store import Selection
from ..store.filters import Filter
from .cell_files import StoredLink, link_stored_files, stored_file

#: Presigned S3 URLs open in the browser; local blob paths do not (the
#: detail panel hands those over instead, see cell_files.stored_file).
_LINKS = ("http://", "https://")


def _is_link(value: Any) -> bool:
    """A presigned link `link_stored_files` made, never logged text."""
    return isinstance(value, StoredLink) and value.startswith(_LINKS)
_SIGNIFICANT = 4
_SECTIONS = ("inputs", "outputs", "feedback", "tags", "projections")


def compact_columns(
    columns: Sequence[str], accepted_field: str, flag_field: str, tag: str | None
) -> list[str]:
    """The columns shown until the viewer picks others: time, version, the
    first inputs and outputs, acceptance, flag and the chosen tag."""
    inputs = [c for c in columns if c.startswith("inputs.")][:2]
    outputs = [c for c in columns if c.startswith("outputs.")][:2]
    wanted = ["timestamp", "version", *inputs, *outputs, accepted_field, flag_field, tag]
    return [c for c in dict.fromkeys(wanted) if c and c in columns]


def table(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The page's chosen columns for display: times to the second, numbers
    to four significant digits, presigned links as Markdown links; with each
    column's datatype. An empty page has no columns (no placeholder headers)."""
    if frame.empty:
        return pd.DataFrame(), []
    shown = frame[[c for c in columns if c in frame]].copy()
    types = []
    for column in shown.columns:
        values = shown[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            shown[column] = values.dt.strftime("%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_float_dtype(values):
            shown[column] = values.map(_rounded)
        links = shown[column].map(_is_link)
        if links.any():
            shown[column] = [
                f"[open]({value})" if is_link else value
                for value, is_link in zip(shown[column], links, strict=True)
            ]
            types.append("markdown")
        else:
            types.append("str")
    return shown, types


def column_widths(columns: Sequence[str]) -> list[str]:
    """Shares of the table's width: logged text gets the room, so the chosen
    columns fit the panel instead of scrolling off to the side."""
    weights = [
        3.0 if c.startswith(("inputs.", "outputs.")) else 1.6 if c == "timestamp" else 1.0
        for c in columns
    ]
    total = sum(weights) or 1.0
    return [f"{100 * weight / total:.1f}%" for weight in weights]


def detail(client: Client, application: str, join_key: Any) -> str:
    """One record in full, as HTML: every field by section, its stored files
    (as download links, for this record's own files only), its feedback
    events with their times. "" for a key this application does not have."""
    if not isinstance(join_key, str) or not join_key:
        return ""
    if not client.store.has_application(application):
        return ""
    only = Selection(application, filters=[Filter("join_key", "==", join_key)])
    return record_html(client, application, client.store.rows(only, limit=1))


def record_html(client: Client, application: str, found: pd.DataFrame) -> str:
    """`detail` of a record already read (one row of `rows`), for callers
    that have it in hand: its files are linked here, its events read."""
    found = link_stored_files(client, application, found)
    if found.empty:
        return ""
    record = found.iloc[0]
    join_key = record["join_key"]
    parts = [f"<h4>Record <code>{html.escape(join_key)}</code></h4>", "<dl>"]
    for name in ("timestamp", "version"):
        parts.append(f"<dt>{name}</dt><dd>{html.escape(str(record.get(name)))}</dd>")
    parts.append("</dl>")
    for section in _SECTIONS:
        cells = [
            (column, value)
            for column, value in record.items()
            if column.startswith(section + ".") and not _missing(value)
        ]
        if cells:
            parts.append(_section(client, application, join_key, section, cells))
    parts.append(_events(client.store.feedback_events(application, join_key)))
    return "\n".join(parts)


def _section(
    client: Client, application: str, join_key: str, title: str, cells: list[tuple[str, Any]]
) -> str:
    rows = []
    for column, value in cells:
        shown = html.escape(value if isinstance(value, str) else _plain(value))
        file = stored_file(client, application, join_key, value) if isinstance(value, str) else ""
        if _is_link(value) and not file:
            file = f'<a href="{html.escape(value)}" target="_blank" rel="noopener">open file</a>'
        rows.append(
            f"<tr><td><code>{html.escape(column)}</code></td>"
            f"<td style='white-space:pre-wrap'>{shown}</td><td>{file}</td></tr>"
        )
    return f"<h5>{title}</h5><table>{''.join(rows)}</table>"


def _events(events: pd.DataFrame) -> str:
    if events.empty:
        return "<h5>feedback events</h5><p>No feedback yet.</p>"
    items = "".join(
        f"<li>{when:%Y-%m-%d %H:%M:%S} UTC: <code>{html.escape(_plain(values))}</code></li>"
        for when, values in zip(events["timestamp"], events["feedback"], strict=True)
    )
    return f"<h5>feedback events (oldest first)</h5><ol>{items}</ol>"


def _rounded(value: Any) -> Any:
    if value is None or pd.isna(value):
        return None
    return float(f"{value:.{_SIGNIFICANT}g}")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return value if isinstance(value, str) else json.dumps(value, default=str)
