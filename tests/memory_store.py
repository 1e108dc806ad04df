"""A second implementation of the read contract, in pandas, for tests only.

Why it exists: if the tab, baselines, curators and the projector give the same
answers on this store as on the SQL one, they use nothing but the contract.
It is filled from another store through the contract too (`copy_of`)."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gantry_gradio.store import RecordStore, Selection, UnknownApplicationError, View, ViewError
from gantry_gradio.store.contract import MAX_FINE_BINS, bucket_start, check_bins, to_times
from gantry_gradio.store.filters import Filter, FilterError, time_bound

_BASE_KINDS = {"timestamp": "number", "join_key": "text", "version": "text"}
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclasses.dataclass
class MemoryRecordStore(RecordStore):
    records: dict[str, pd.DataFrame]
    kinds: dict[str, dict[str, str]]
    views: dict[str, list[View]]
    baselines: dict[tuple[str, str, str], np.ndarray] = dataclasses.field(default_factory=dict)
    #: application -> join key -> blob keys its record stored
    blobs: dict[str, dict[str, set[str]]] = dataclasses.field(default_factory=dict)
    #: application -> join key -> its feedback events (feedback_events).
    events: dict[str, dict[str, pd.DataFrame]] = dataclasses.field(default_factory=dict)

    @classmethod
    def copy_of(cls, source: RecordStore, baseline: str = "default") -> MemoryRecordStore:
        apps = source.list_applications()
        kinds = {app: source.fields(app) for app in apps}
        store = cls(
            records={app: source.rows(Selection(app)) for app in apps},
            kinds=kinds,
            views={app: source.list_views(app) for app in apps},
        )
        for app in apps:
            keys = list(store.records[app]["join_key"])
            store.blobs[app] = source.referenced_blobs(app, keys)
            store.events[app] = {key: source.feedback_events(app, key) for key in keys}
            for path, kind in kinds[app].items():
                values = source.baseline_values(app, baseline, path)
                if kind == "number" and values.size:
                    store.baselines[(app, baseline, path)] = values
        return store

    # -- applications, fields, views -----------------------------------------------

    def list_applications(self) -> list[str]:
        return sorted(self.records)

    def has_application(self, application: str) -> bool:
        return application in self.records

    def fields(self, application: str) -> dict[str, str]:
        if application not in self.kinds:
            raise UnknownApplicationError(f"application {application!r} has no records")
        return dict(self.kinds[application])

    def get_view(self, application: str, name: str) -> View:
        for view in self.list_views(application):
            if view.name == name:
                return view
        raise ViewError(f"no view {name!r} for {application!r}")

    def list_views(self, application: str) -> list[View]:
        self.fields(application)
        return list(self.views.get(application, []))

    # -- selecting -----------------------------------------------------------------

    def _kind(self, application: str, field: str) -> str:
        kinds = {**_BASE_KINDS, **self.fields(application)}
        if field not in kinds:
            raise FilterError(f"unknown field {field!r}")
        return kinds[field]

    def _select(self, selection: Selection) -> pd.DataFrame:
        selection = self.resolve(selection)
        self.fields(selection.application)  # unknown applications raise
        frame = self.records[selection.application]
        keep = pd.Series(True, index=frame.index)
        if selection.start is not None:
            keep &= frame["timestamp"] >= selection.start
        if selection.end is not None:
            keep &= frame["timestamp"] < selection.end
        for f in selection.filters:
            self._kind(selection.application, f.field)
            keep &= _matches(frame[f.field], f)
        return frame[keep]

    def _values(self, selection: Selection, field: str, kind: str | None = None) -> pd.DataFrame:
        found = self._kind(selection.application, field)
        if kind is not None and found != kind:
            raise FilterError(f"{field!r} holds {found} values, not {kind}")
        frame = self._select(selection)
        return frame.assign(_us=_micros(frame["timestamp"]))

    # -- records -------------------------------------------------------------------

    def rows(
        self,
        selection: Selection,
        *,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        newest_first: bool = False,
        order_by: str | None = None,
        ascending: bool = True,
    ) -> pd.DataFrame:
        frame = self._select(selection)
        keys, order = ["timestamp", "join_key"], [not newest_first, True]
        if order_by is not None:
            self._kind(selection.application, order_by)
            keys, order = [order_by, *keys], [ascending, *order]
        frame = frame.sort_values(keys, ascending=order, kind="mergesort")
        if fields is not None:
            frame = frame[["timestamp", "join_key", "version", *fields]]
        end = None if limit is None else offset + limit
        return frame.iloc[offset:end].reset_index(drop=True)

    def keys(self, selection: Selection, field: str | None = None) -> pd.DataFrame:
        frame = self.rows(selection)
        if field is None:
            return frame[["join_key"]]
        self._kind(selection.application, field)
        return frame[["join_key", field]].rename(columns={field: "value"})

    def referenced_blobs(self, application: str, join_keys: Sequence[str]) -> dict[str, set[str]]:
        stored = self.blobs.get(application, {})
        return {key: stored[key] for key in join_keys if key in stored}

    def feedback_events(self, application: str, join_key: str) -> pd.DataFrame:
        empty = pd.DataFrame(columns=["timestamp", "feedback"])
        return self.events.get(application, {}).get(join_key, empty)

    def stored_join_keys(self, application: str, join_keys: Sequence[str]) -> set[str]:
        if not self.has_application(application):
            return set()
        return set(join_keys) & set(self.records[application]["join_key"])

    # -- aggregations --------------------------------------------------------------

    def summary(self, selection: Selection, fields: Sequence[str]) -> dict[str, Any]:
        frame = self._select(selection)
        kinds = self.fields(selection.application)
        result: dict[str, Any] = {"predictions": len(frame)}
        for field in (f for f in fields if f in kinds):
            result[field] = {"count": int(frame[field].notna().sum())}
            if kinds[field] == "boolean":
                result[field]["true"] = int((frame[field] == True).sum())  # noqa: E712
        return result

    def percent_true(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        frame = self._values(selection, field, "boolean")
        frame = pd.DataFrame(
            {
                "start": bucket_start(frame["_us"], bucket),
                "predictions": 1,
                "count": frame[field].notna().astype("int64"),
                "true": (frame[field] == True).astype("int64"),  # noqa: E712
            }
        )
        grouped = frame.groupby("start", as_index=False)[["predictions", "count", "true"]].sum()
        grouped = grouped.astype({"predictions": "int64", "count": "int64", "true": "int64"})
        grouped["percent_true"] = grouped["true"] / grouped["count"].where(grouped["count"] > 0)
        grouped["start"] = to_times(grouped["start"])
        return grouped

    def value_counts(self, selection: Selection, field: str, bucket: str | None) -> pd.DataFrame:
        frame = self._values(selection, field)
        frame = frame[frame[field].notna()]
        if bucket is None:
            counts = frame.groupby(field).size()
            return pd.DataFrame({"value": counts.index, "count": counts.to_numpy()})
        frame = pd.DataFrame({"start": bucket_start(frame["_us"], bucket), "value": frame[field]})
        counts = frame.groupby(["start", "value"], as_index=False).size()
        counts = counts.rename(columns={"size": "count"})
        counts["start"] = to_times(counts["start"])
        return counts

    def mean_over_time(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        frame = self._values(selection, field, "number")
        frame = frame[frame[field].notna()]
        frame = pd.DataFrame({"start": bucket_start(frame["_us"], bucket), "v": frame[field]})
        grouped = frame.groupby("start", as_index=False).agg(
            count=("v", "count"), mean=("v", "mean")
        )
        grouped["start"] = to_times(grouped["start"])
        return grouped[["start", "count", "mean"]]

    def value_range(self, selection: Selection, field: str) -> tuple[Any, Any]:
        values = self._values(selection, field, "number")[field].dropna()
        return (None, None) if values.empty else (values.min(), values.max())

    def histogram(
        self,
        selection: Selection,
        field: str,
        bins: int,
        value_range: tuple[float, float] | None = None,
        split_by: str | None = None,
        keep_missing: bool = False,
    ) -> pd.DataFrame:
        bins = check_bins(bins, limit=MAX_FINE_BINS)
        frame = self._values(selection, field, "number")
        low, high = value_range or self.value_range(selection, field)
        if low is None:
            return pd.DataFrame({"bin_start": [], "bin_end": [], "count": []})
        high = low + 1.0 if high <= low else high
        width = (high - low) / bins
        values = frame[field].astype(float)
        inside = frame[(values >= low) & (values <= high)]
        index = np.where(
            inside[field] >= high, bins - 1, np.floor((inside[field] - low) / width)
        ).astype(int)
        edges = pd.DataFrame(
            {
                "bin_start": [low + i * width for i in range(bins)],
                "bin_end": [low + (i + 1) * width for i in range(bins)],
            }
        )

        def counted(positions: np.ndarray) -> pd.DataFrame:
            return edges.assign(count=np.bincount(positions, minlength=bins).astype("int64"))

        if split_by is None:
            return counted(index)
        self._kind(selection.application, split_by)
        by = inside[split_by]
        parts = [
            counted(index[(by == value).to_numpy()]).assign(**{split_by: value})
            for value in sorted(by.dropna().unique())
        ]
        if keep_missing and by.isna().any():
            parts.append(counted(index[by.isna().to_numpy()]).assign(**{split_by: None}))
        if not parts:
            return pd.DataFrame(columns=["bin_start", "bin_end", "count", split_by])
        return pd.concat(parts, ignore_index=True)

    # -- baselines -----------------------------------------------------------------

    def baseline_values(self, application: str, baseline: str, path: str) -> np.ndarray:
        return self.baselines.get((application, baseline, path), np.array([], dtype=float))

    def save_baseline_values(
        self, application: str, baseline: str, values: dict[str, list[float]]
    ) -> None:
        for key in [k for k in self.baselines if k[:2] == (application, baseline)]:
            del self.baselines[key]
        for path, numbers in values.items():
            self.baselines[(application, baseline, path)] = np.array(numbers, dtype=float)


def _micros(times: pd.Series) -> pd.Series:
    return times.map(lambda t: int(t.as_unit("us").asm8.astype("int64"))).astype("int64")


def _matches(column: pd.Series, f: Filter) -> pd.Series:
    """SQL semantics: a missing value matches only 'is null'."""
    present = column.notna()
    if f.op == "is null":
        return ~present
    if f.op == "is not null":
        return present
    value = f.value
    if f.field == "timestamp":
        value = pd.Timestamp(time_bound(value, "filter") * 1000, tz="UTC")
    if f.op in ("in", "not in"):
        inside = column.isin(list(value))
        return present & (inside if f.op == "in" else ~inside)
    if f.op == "contains":
        return column.map(lambda v: isinstance(v, str) and value in v).astype(bool)
    result = pd.Series(False, index=column.index)
    result[present] = _COMPARE[f.op](column[present], value)
    return result
