"""The numbers behind each panel of the monitoring tab, computed in the store.

Kept apart from the Gradio layout so they can be tested on known data and
reused by other front ends. Every function takes the same `Scope` (a
`Selection` plus the time bucket) and reads only through `client.store`, the
read contract, so any engine that implements it can fill the tab."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from .._timestamps import now_us, to_epoch_us, to_timestamp
from ..client import Client
from ..projections.baseline import compare
from ..store import BUCKETS, Selection
from ..store.filters import Filter
from .bins import Bins, covering, histogram_on_chosen_bins
from .cell_files import link_stored_files

PRESETS = {"last 24 h": 24, "last 7 d": 24 * 7, "last 30 d": 24 * 30, "all": None}
#: "auto" picks the bucket from the window's span (`chosen_bucket`).
BUCKET_CHOICES = ["auto", *BUCKETS]
_HOUR_US = 3600 * 1_000_000
#: The longest span (in hours) auto draws in hour, then day buckets; longer: weeks.
_AUTO_SPANS = (("hour", 72), ("day", 24 * 120))
_PANEL_THREADS = 4
#: Field path -> kind, as `RecordStore.fields` gives it (None: look it up).
Kinds = dict[str, str] | None


@dataclass(frozen=True)
class Scope(Selection):
    """What the tab shows: a selection, and the bucket its time series use."""

    bucket: str = "day"

    @classmethod
    def from_preset(cls, application: str, preset: str, **options: Any) -> Scope:
        if preset not in PRESETS:
            raise ValueError(f"time range must be one of {', '.join(PRESETS)}, not {preset!r}")
        hours = PRESETS[preset]
        start = None if hours is None else to_timestamp(now_us() - hours * _HOUR_US)
        return cls(application, start=start, **options)

    def previous(self) -> Scope | None:
        """The window of the same length just before this one (None for open
        windows). It starts no earlier than 1970: no record can be older, so the
        clipped window holds exactly the records of the full one."""
        if self.start is None:
            return None
        start = to_epoch_us(self.start, what="start", allow_future=True)
        end = now_us() if self.end is None else to_epoch_us(self.end, what="end", allow_future=True)
        return replace(self, start=to_timestamp(max(2 * start - end, 0)), end=to_timestamp(start))


def headline(client: Client, scope: Scope, accepted_field: str, flag_field: str) -> dict[str, Any]:
    """Predictions, feedback count, acceptance rate and flags, with the same for
    the previous period when the window has a start."""
    # The view written out: its window has a previous period too.
    resolved = client.store.resolve(scope)
    current = window_numbers(client, resolved, accepted_field, flag_field)
    previous_scope = resolved.previous()
    current["previous"] = (
        window_numbers(client, previous_scope, accepted_field, flag_field)
        if previous_scope
        else None
    )
    return current


def window_numbers(
    client: Client, scope: Scope, accepted_field: str, flag_field: str
) -> dict[str, Any]:
    """Predictions, feedback count, acceptance rate and flags of one window, in
    one pass. The acceptance rate needs a boolean field; any other kind (or
    none yet) gives no rate, never 0%."""
    summary = client.store.summary(scope, [accepted_field, flag_field])
    accepted = summary.get(accepted_field, {"count": 0})
    return {
        "predictions": summary["predictions"],
        "feedback": accepted["count"],
        "acceptance": accepted["true"] / accepted["count"]
        if accepted["count"] and "true" in accepted
        else None,
        "flags": summary.get(flag_field, {"count": 0})["count"],
    }


def acceptance_over_time(
    client: Client, scope: Scope, accepted_field: str, *, kinds: Kinds = None
) -> pd.DataFrame:
    if _kind(client, scope, accepted_field, kinds) != "boolean":
        return pd.DataFrame(columns=["start", "predictions", "count", "true", "percent_true"])
    return client.store.percent_true(scope, accepted_field, scope.bucket)


def flags_over_time(
    client: Client, scope: Scope, flag_field: str, *, kinds: Kinds = None
) -> pd.DataFrame:
    if _kind(client, scope, flag_field, kinds) is None:
        return pd.DataFrame(columns=["start", "value", "count"])
    return client.store.value_counts(scope, flag_field, scope.bucket)


def split_distribution(
    client: Client,
    scope: Scope,
    field_name: str,
    accepted_field: str,
    bins: int | None = None,
    *,
    kinds: Kinds = None,
) -> pd.DataFrame:
    """Histogram of a numeric field for accepted and for rejected predictions,
    on the same bins (e.g. account age: are rejections from young accounts?);
    one histogram of every record (`accepted` missing) while the accepted
    field holds no true/false values. Bins come from the data (see bins.py)
    unless `bins` asks for that many equal-width ones over its range; `label`
    names each bin as the chart shows it."""
    return distribution_on_bins(client, scope, field_name, accepted_field, bins, kinds=kinds)[1]


def distribution_on_bins(
    client: Client,
    scope: Scope,
    field_name: str,
    accepted_field: str,
    bins: int | None = None,
    *,
    kinds: Kinds = None,
) -> tuple[Bins | None, pd.DataFrame, pd.DataFrame]:
    """`split_distribution`, the bins it chose, and every record's histogram
    on them (bin_start, count; with or without feedback), all from one scan:
    the split counts records without feedback apart, and they are added back
    for the totals. A window without true/false feedback shows the totals."""
    columns = ["bin_start", "bin_end", "label", "accepted", "count"]
    split_by = accepted_field if _kind(client, scope, accepted_field, kinds) == "boolean" else None
    if bins is None:
        chosen, frame = histogram_on_chosen_bins(
            client.store, scope, field_name, split_by, keep_missing=True
        )
    else:
        low, high = client.store.value_range(scope, field_name)
        chosen = None
        if low is not None:
            width = (float(high) - float(low)) / bins or 1.0
            chosen = Bins(float(low), width, bins, integer=False)
            frame = client.store.histogram(
                scope, field_name, chosen.count, chosen.value_range, split_by, keep_missing=True
            )
    if chosen is None:
        return None, pd.DataFrame(columns=columns), pd.DataFrame(columns=["bin_start", "count"])
    keys = ["bin_start", "bin_end"]
    totals = frame.groupby(keys, as_index=False)["count"].sum()
    if split_by is not None:
        frame = frame[frame[split_by].notna()]
    if split_by is None or frame.empty:
        frame = totals.assign(accepted=pd.NA)
    else:
        frame = frame.rename(columns={split_by: "accepted"})
        frame["accepted"] = frame["accepted"].astype(bool)
    frame = frame.assign(label=[chosen.label(start) for start in frame["bin_start"]])
    return chosen, frame[columns].reset_index(drop=True), totals[["bin_start", "count"]]


def baseline_shares(
    client: Client,
    scope: Scope,
    field_name: str,
    production_bins: Bins | None,
    production: pd.DataFrame,
) -> pd.DataFrame:
    """Production (`production`: bin_start, count on `production_bins`, as
    `distribution_on_bins` counts it) and the baseline as shares of their
    records on the bins the distribution chart chose, widened on the same
    grid to hold the baseline's values, so both charts bin a field alike. The
    distances (PSI, JS, KS) keep their own bins: see projections/baseline.py."""
    columns = ["bin_start", "bin", "share", "source"]
    reference = client.store.baseline_values(scope.application, "default", field_name)
    if production_bins is None or reference.size == 0:
        return pd.DataFrame(columns=columns)
    chosen = covering(production_bins, reference)
    low, high = chosen.value_range
    edges = np.linspace(low, high, chosen.count + 1)
    position = np.rint((production["bin_start"].to_numpy(float) - low) / chosen.width)
    counted = np.zeros(chosen.count)
    np.add.at(counted, position.astype(int), production["count"].to_numpy(float))
    baseline = np.histogram(reference, edges)[0]
    labels = [chosen.label(start) for start in edges[:-1]]
    parts = [
        pd.DataFrame(
            {"bin_start": edges[:-1], "bin": labels, "share": counts / max(counts.sum(), 1)}
        ).assign(source=source)
        for source, counts in (("production", counted), ("baseline", baseline))
    ]
    both = pd.concat(parts, ignore_index=True)
    # Bins neither side has would draw a zigzag through zero.
    held = both.groupby("bin_start")["share"].transform("sum") > 0
    return both[held][columns].reset_index(drop=True)


def chosen_bucket(bucket: str, window: tuple[int | None, int | None]) -> str:
    """The bucket a time series uses: the user's, or for "auto" the finest
    that keeps the window to a readable number of points."""
    if bucket != "auto":
        if bucket not in BUCKETS:
            raise ValueError(f"bucket must be one of {', '.join(BUCKET_CHOICES)}, not {bucket!r}")
        return bucket
    low, high = window
    if low is None or high is None:
        return "day"
    hours = (high - low) / _HOUR_US
    return next((name for name, most in _AUTO_SPANS if hours <= most), "week")


def time_window(client: Client, resolved: Selection) -> tuple[int | None, int | None]:
    """The window's ends in µs; an open end is the first or last record's time
    (None when there is no record)."""
    start = None if resolved.start is None else to_epoch_us(resolved.start, allow_future=True)
    end = None if resolved.end is None else to_epoch_us(resolved.end, allow_future=True)
    if end is None and start is not None:
        end = now_us()
    if start is None:
        first, last = (_as_us(v) for v in client.store.value_range(resolved, "timestamp"))
        if first is None:
            return None, end
        start = first
        end = last + 1 if end is None else end
    return start, end


def projection_over_time(client: Client, scope: Scope, field_name: str) -> pd.DataFrame:
    return client.store.mean_over_time(scope, field_name, scope.bucket)


#: Series drawn when a chart is split by a field: its most frequent values.
SPLIT_SERIES = 6


def split_fields(kinds: dict[str, str]) -> list[str]:
    """What a time series can be split by: the model version and text or
    true/false tags (numeric tags have too many values to draw one line each)."""
    tags = (p for p, kind in kinds.items() if p.startswith("tags.") and kind in ("text", "boolean"))
    return ["version", *sorted(tags)]


def split_values(client: Client, scope: Scope, field_name: str) -> list[Any]:
    """The field's most frequent values in the window, most frequent first."""
    counts = client.store.value_counts(scope, field_name, None)
    counts = counts.sort_values(["count", "value"], ascending=[False, True], kind="stable")
    return list(counts["value"].head(SPLIT_SERIES))


def split_series(
    client: Client, scope: Scope, field_name: str, series: Callable[..., pd.DataFrame], *args: Any
) -> pd.DataFrame:
    """One time series per frequent value of `field_name` (a `series` column
    names it): `series(client, scope, *args)` run on each value's records."""
    parts = [
        series(client, _only(scope, field_name, value), *args).assign(series=str(value))
        for value in split_values(client, scope, field_name)
    ]
    parts = [part for part in parts if not part.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["series"])


def flags_per_series(
    client: Client, scope: Scope, field_name: str, flags: Callable[..., pd.DataFrame], *args: Any
) -> pd.DataFrame:
    """Flags per bucket for each frequent value of `field_name`, every
    option added up (the chart has one colour to give: the series)."""
    split = split_series(client, scope, field_name, flags, *args)
    if split.empty:
        return pd.DataFrame(columns=["start", "series", "count"])
    return split.groupby(["start", "series"], as_index=False)["count"].sum()


def acceptance_by(
    client: Client, scope: Scope, field_name: str, accepted_field: str, flag_field: str
) -> list[dict[str, Any]]:
    """The window's numbers (`window_numbers`) per frequent value of
    `field_name` (e.g. each model version), with that value; none with fewer
    than two values, where the headline already says it all."""
    values = split_values(client, scope, field_name)
    if len(values) < 2:
        return []
    rows = []
    for value in values:
        only = _only(scope, field_name, value)
        rows.append({"value": value, **window_numbers(client, only, accepted_field, flag_field)})
    return rows


def _as_us(value: Any) -> int | None:
    """A stored time as epoch µs: engines give it as µs or as a timestamp."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return to_epoch_us(value, allow_future=True)


def _only(scope: Scope, field_name: str, value: Any) -> Scope:
    return replace(scope, filters=(*scope.filters, Filter(field_name, "==", value)))


def baseline_comparison(client: Client, scope: Scope, field_name: str):
    """None when the application has no baseline values for this field."""
    try:
        return compare(
            client.store,
            scope.application,
            field_name,
            start=scope.start,
            end=scope.end,
            filters=list(scope.filters),
            view=scope.view,
        )
    except LookupError:
        return None


def rows_page(client: Client, scope: Scope, page: int, page_size: int = 50) -> pd.DataFrame:
    """Newest first; files the rows' own records stored become short-lived
    links (presigned on S3), and nothing else does (dashboard/cell_files.py)."""
    frame = client.store.rows(
        scope, newest_first=True, limit=page_size, offset=max(page, 0) * page_size
    )
    return link_stored_files(client, scope.application, frame)


@dataclass
class Snapshot:
    """Everything the tab shows for one scope, from one round of queries."""

    headline: dict[str, Any]
    acceptance: pd.DataFrame
    flags: pd.DataFrame
    tags: list[str]
    tag: str | None
    distribution: pd.DataFrame
    projections: list[str]
    projection: str | None
    projection_over_time: pd.DataFrame
    baseline: Any
    views: list[str]
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: The projection's histogram, accepted vs not (see split_distribution).
    projection_distribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    split_fields: list[str] = field(default_factory=list)
    #: The field time series are split by (None: one series each).
    split: str | None = None
    #: Acceptance per model version in the window (acceptance_by).
    by_version: list[dict[str, Any]] = field(default_factory=list)
    #: The bucket the time series use (the user's, or the one "auto" chose).
    bucket: str = "day"
    #: The window's ends in µs (open ends: the first and last record's time).
    window: tuple[int | None, int | None] = (None, None)
    #: Production and baseline shares on the distribution's bins (baseline_shares).
    baseline_shares: pd.DataFrame = field(default_factory=pd.DataFrame)


def _panel_tasks(
    kinds: dict[str, str],
    accepted_field: str,
    flag_field: str,
    tag: str | None,
    projection: str | None,
    split: str | None,
    page: int,
    page_size: int,
) -> dict[str, tuple | None]:
    """Each panel's function and its arguments after (client, scope); None
    for a panel with nothing to show."""
    acceptance = (partial(acceptance_over_time, kinds=kinds), accepted_field)
    flagged = (partial(flags_over_time, kinds=kinds), flag_field)
    over_time = (projection_over_time, projection)
    if split:
        acceptance = (split_series, split, *acceptance)
        flagged = (flags_per_series, split, *flagged)
        over_time = (split_series, split, *over_time)
    distribution = partial(split_distribution, kinds=kinds)

    def projection_panels(client: Client, scope: Scope) -> tuple[pd.DataFrame, pd.DataFrame]:
        chosen, frame, totals = distribution_on_bins(
            client, scope, projection, accepted_field, kinds=kinds
        )
        return frame, baseline_shares(client, scope, projection, chosen, totals)

    return {
        "headline": (headline, accepted_field, flag_field),
        "by_version": (acceptance_by, "version", accepted_field, flag_field),
        "acceptance": acceptance,
        "flags": flagged,
        "distribution": (distribution, tag, accepted_field) if tag else None,
        "projection_panels": (projection_panels,) if projection else None,
        "projection_over_time": over_time if projection else None,
        "baseline": (baseline_comparison, projection) if projection else None,
        "rows": (rows_page, page, page_size),
    }


def snapshot(
    client: Client,
    scope: Scope,
    *,
    accepted_field: str,
    flag_field: str,
    tag: str | None = None,
    projection: str | None = None,
    split: str | None = None,
    page: int = 0,
    page_size: int = 50,
) -> Snapshot:
    """All panels' numbers. An unknown tag or projection falls back to the first
    numeric one, so a stale choice in the UI still shows something; `split`
    (one of `split_fields`, else none) draws the acceptance and projection
    series once per frequent value of that field; a panel
    whose data is missing (a fresh app, feedback under another name) is empty
    and `notes` says why, one line each."""
    # One look at the fields for every panel: each is a catalog query.
    kinds = client.store.fields(scope.application)
    window = time_window(client, client.store.resolve(scope))
    scope = replace(scope, bucket=chosen_bucket(scope.bucket, window))
    numeric = sorted(p for p, kind in kinds.items() if kind == "number")
    projections = [f for f in numeric if f.startswith("projections.")]
    tags = [f for f in numeric if not f.startswith("projections.")]
    tag = tag if tag in tags else (tags[0] if tags else None)
    projection = projection if projection in projections else next(iter(projections), None)
    splits = split_fields(kinds)
    split = split if split in splits else None
    tasks = _panel_tasks(
        kinds, accepted_field, flag_field, tag, projection, split, page, page_size
    )
    # Each panel is one or two scans; the database does the work (SQLite and
    # psycopg release the GIL), so running them side by side uses every core.
    with ThreadPoolExecutor(max_workers=_PANEL_THREADS) as pool:
        futures = {
            name: pool.submit(task[0], client, scope, *task[1:])
            for name, task in tasks.items()
            if task is not None
        }
        done = {name: future.result() for name, future in futures.items()}
    projection_frame, shares = done.get("projection_panels", (pd.DataFrame(), pd.DataFrame()))
    return Snapshot(
        headline=done["headline"],
        acceptance=done["acceptance"],
        flags=done["flags"],
        tags=tags,
        tag=tag,
        distribution=done.get("distribution", pd.DataFrame()),
        projections=projections,
        projection=projection,
        projection_over_time=done.get("projection_over_time", pd.DataFrame()),
        baseline=done.get("baseline"),
        views=[v.name for v in client.store.list_views(scope.application)],
        rows=done["rows"],
        projection_distribution=projection_frame,
        baseline_shares=shares,
        bucket=scope.bucket,
        window=window,
        split_fields=splits,
        split=split,
        by_version=done["by_version"],
        notes=client.store.notes(scope.application)
        + explain_gaps(
            client,
            scope,
            accepted_field=accepted_field,
            flag_field=flag_field,
            tag=tag,
            projection=projection,
            predictions=done["headline"]["predictions"],
            baseline=done.get("baseline"),
            kinds=kinds,
        ),
    )


def explain_gaps(
    client: Client,
    scope: Scope,
    *,
    accepted_field: str,
    flag_field: str,
    tag: str | None,
    projection: str | None,
    predictions: int,
    baseline: Any,
    kinds: Kinds = None,
) -> list[str]:
    """One line per panel left empty by missing or unusable data, saying what
    would fill it: an empty chart alone reads as a bug."""
    notes = []
    if not predictions:
        notes.append("No predictions in this window: widen the time range or loosen the filters.")
    accepted_kind = _kind(client, scope, accepted_field, kinds)
    if accepted_kind is None:
        notes.append(
            f"No feedback field `{accepted_field}` yet: acceptance appears once feedback "
            "arrives (if your feedback uses another name, set accepted_field= or "
            "--accepted-field)."
        )
    elif accepted_kind != "boolean":
        notes.append(
            f"`{accepted_field}` holds {accepted_kind} values, not true/false: acceptance "
            "needs a boolean feedback field (set accepted_field= or --accepted-field)."
        )
    if _kind(client, scope, flag_field, kinds) is None:
        notes.append(f"No flags yet (`{flag_field}`).")
    if tag is None:
        notes.append("No numeric tag or input yet to show a distribution of.")
    if projection is None:
        notes.append(
            "No projections yet: compute some with `python -m gantry_gradio projections "
            f"--app {scope.application} --projection entropy`."
        )
    elif baseline is None:
        notes.append(f"No baseline registered for `{projection}` (Client.register_baseline).")
    return notes


def _kind(client: Client, scope: Scope, field_name: str, kinds: Kinds) -> str | None:
    """The kind of values a field holds in this application, None when it has
    none yet; from `kinds` when the caller looked the fields up already."""
    kinds = client.store.fields(scope.application) if kinds is None else kinds
    return kinds.get(field_name)
