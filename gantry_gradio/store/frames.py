"""Stored rows back to the frame callers see: dotted columns, JSON decoded,
`extra` laid over the typed columns (shared by every SQL dialect)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..fields import from_column
from .schema import Field

_SECTION_ORDER = {"inputs": 0, "outputs": 1, "feedback": 2, "tags": 3, "projections": 4}


def to_frame(
    raw: pd.DataFrame, fields: dict[str, Field], only: set[str] | None = None
) -> pd.DataFrame:
    """Typed columns back to dotted names, JSON decoded, `extra` laid over them
    (only the `only` paths of it when the caller asked for some fields)."""
    by_column = {f.column: f for f in fields.values()}
    data: dict[str, Any] = {
        "timestamp": pd.to_datetime(raw["timestamp_us"].astype("int64"), unit="us", utc=True),
        "join_key": raw["join_key"],
        "version": raw["version"],
    }
    ordered = sorted(
        by_column.values(), key=lambda f: (_SECTION_ORDER.get(f.path.split(".")[0], 9), f.path)
    )
    for field in ordered:
        values = raw[field.column]
        data[field.path] = (
            values.map(lambda v, k=field.kind: from_column(v, k))
            if field.kind == "json"
            else values
        )
    return _with_extra(pd.DataFrame(data), raw["extra"], only)


def _with_extra(frame: pd.DataFrame, extra: pd.Series, only: set[str] | None) -> pd.DataFrame:
    """Lay each row's `extra` values over the typed columns. Gathered per path
    first: a wide record keeps hundreds of values there, and adding them one
    cell at a time fragmented the frame (seconds for a page of such rows)."""
    by_path: dict[str, dict[Any, Any]] = {}
    for row_index, text in extra.items():
        if isinstance(text, str):  # None, or NaN once pandas saw only Nones
            for path, value in json.loads(text).items():
                if only is not None and path not in only:
                    continue
                by_path.setdefault(path, {})[row_index] = value
    new_paths = [path for path in by_path if path not in frame.columns]
    if new_paths:
        empty = pd.DataFrame(None, index=frame.index, columns=new_paths, dtype=object)
        frame = pd.concat([frame, empty], axis=1)
    for path, values in by_path.items():
        column = frame[path].astype(object)
        for row_index, value in values.items():
            column.at[row_index] = value
        frame[path] = column
    return frame
