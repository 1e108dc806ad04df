"""The read contract: every question asked of stored records, in one place.

Why: the monitoring tab, baselines, curators and the projector all read
records. When each reached into SQL tables and the field catalog, a second
engine (a columnar one, a distributed one) meant rewriting every caller.
Modelled on MLflow's `AbstractStore`: callers hold a `RecordStore` and ask it
questions over a neutral `Selection`; an engine is one subclass.
`SqlRecordStore` (store/query.py) is the one over SQLite and PostgreSQL.

The contract is about reading. Its only write is baseline values (small
reference sets that the comparison reads back); records themselves arrive
through the spool and the writer, and saved views through `ViewStore`."""

from __future__ import annotations

import dataclasses
import numbers
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .._timestamps import MICROS, to_timestamp
from .filters import parse_filter, time_bound
from .views import View

BUCKETS = {"hour": 3600 * MICROS, "day": 86400 * MICROS, "week": 7 * 86400 * MICROS}
#: 1970-01-01 was a Thursday; shift by four days so weeks start on Monday.
_WEEK_ORIGIN = 4 * 86400 * MICROS
#: More bins than a chart has pixels says nothing more, and each one is a row
#: built in memory: a caller asking for a billion would take the process down.
MAX_BINS = 1000
#: The baseline comparison counts on fine bins (50 per shown bin).
MAX_FINE_BINS = MAX_BINS * 50


def check_bins(bins: Any, limit: int = MAX_BINS) -> int:
    """`bins` as an int from 1 to `limit`, or a ValueError that says so."""
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or not 1 <= bins <= limit:
        raise ValueError(f"bins must be a whole number from 1 to {limit:,}, not {bins!r}")
    return int(bins)


def bucket_start(hours_us: pd.Series, bucket: str) -> pd.Series:
    """The start (epoch µs, UTC) of the hour/day/week bucket each value falls
    in. Engines count per hour and sum hours into buckets with this, so every
    engine draws bucket edges at the same instants."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    width = BUCKETS[bucket]
    origin = _WEEK_ORIGIN if bucket == "week" else 0
    return (hours_us - origin) // width * width + origin


def to_times(values: pd.Series) -> pd.Series:
    """Epoch microseconds as UTC timestamps (the `start` column of time series)."""
    return pd.to_datetime(values.astype("int64"), unit="us", utc=True)


def _bound(value: Any, what: str) -> pd.Timestamp | None:
    return None if value is None else to_timestamp(time_bound(value, what))


@dataclasses.dataclass(frozen=True)
class Selection:
    """The records a read looks at: one application, the window [start, end),
    filters that must all hold, and optionally a saved view (its window fills
    what start/end leave open; its filters are added). Bounds become UTC
    timestamps and filters `Filter`s on construction, so every engine gets
    the same checked values and a mistake is refused before any store is asked."""

    application: str
    start: Any = None
    end: Any = None
    view: str | None = None
    filters: Sequence[Any] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _bound(self.start, "start"))
        object.__setattr__(self, "end", _bound(self.end, "end"))
        object.__setattr__(self, "filters", tuple(parse_filter(f) for f in self.filters or ()))


S = TypeVar("S", bound=Selection)


#: join_key IN (...) lists stay well under every database's parameter limit.
KEYS_PER_QUERY = 500


class RecordStore(ABC):
    """What callers may ask of stored records. Fields are dotted paths
    (`feedback.accepted`) plus `timestamp`, `join_key` and `version`; kinds are
    "number", "boolean", "text" or "json". An application that never logged
    raises `UnknownApplicationError`; a field it does not have, `FilterError`."""

    # -- applications, fields, views -----------------------------------------------

    @abstractmethod
    def list_applications(self) -> list[str]:
        """Every application with records, sorted by name."""

    @abstractmethod
    def has_application(self, application: str) -> bool:
        """Whether `application` has logged anything (never raises for a name)."""

    @abstractmethod
    def fields(self, application: str) -> dict[str, str]:
        """Field path -> kind of every field the application's records hold."""

    @abstractmethod
    def get_view(self, application: str, name: str) -> View:
        """A saved view; `ViewError` names the existing ones when it is missing."""

    @abstractmethod
    def list_views(self, application: str) -> list[View]:
        """The application's saved views, by name."""

    def notes(self, application: str) -> list[str]:
        """What a reader of this application's numbers should know about how
        they were computed (e.g. part of a columnar copy was unreadable and
        the SQL store answered instead), one line each; usually none."""
        return []

    def close(self) -> None:
        """Release what the engine holds (a columnar copy, its threads); the
        SQL store holds nothing of its own."""
        return None

    def resolve(self, selection: S) -> S:
        """The selection with its saved view written out (window where the
        selection leaves it open, the view's filters first) and no view name:
        the one rule for views, shared by every engine."""
        if selection.view is None:
            return selection
        saved = self.get_view(selection.application, selection.view)
        return dataclasses.replace(
            selection,
            start=saved.start_time if selection.start is None else selection.start,
            end=saved.end_time if selection.end is None else selection.end,
            filters=(*saved.filters, *selection.filters),
            view=None,
        )

    # -- records -------------------------------------------------------------------

    @abstractmethod
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
        """One row per prediction: timestamp, join_key, version and dotted
        columns (only `fields` when given), feedback merged, JSON decoded. In
        time order (ties by join_key), or by `order_by` first."""

    def rows_for_keys(self, selection: Selection, join_keys: Sequence[str]) -> pd.DataFrame:
        """Whole records of the selection with these join keys, in time order:
        asked in chunks, so a long list stays under every database's
        parameter limit."""
        keys = list(join_keys)
        chunks = [
            self.rows(
                dataclasses.replace(
                    selection,
                    filters=(
                        *selection.filters,
                        ("join_key", "in", keys[at : at + KEYS_PER_QUERY]),
                    ),
                )
            )
            for at in range(0, len(keys), KEYS_PER_QUERY)
        ]
        if not chunks:
            return self.rows(selection, limit=0)
        frame = pd.concat(chunks, ignore_index=True)
        return frame.sort_values(["timestamp", "join_key"], ignore_index=True)

    @abstractmethod
    def keys(self, selection: Selection, field: str | None = None) -> pd.DataFrame:
        """join_key (and `field`'s value as `value`) of every selected record in
        time order: what a sampler needs, without loading whole rows."""

    @abstractmethod
    def stored_join_keys(self, application: str, join_keys: Sequence[str]) -> set[str]:
        """Which of these keys are stored (none for an unknown application)."""

    @abstractmethod
    def referenced_blobs(self, application: str, join_keys: Sequence[str]) -> dict[str, set[str]]:
        """Per join key, the blob keys (`ab/ab…ef.ext`) of the files its record
        stored: the only files a cell may open, never text that looks like a
        URI (none for an unknown application)."""

    @abstractmethod
    def feedback_events(self, application: str, join_key: str) -> pd.DataFrame:
        """Every feedback event logged for one record, oldest first: timestamp
        and feedback (a dict of the values it set). The record's row holds the
        merged result; this is its history (none for an unknown key)."""

    # -- aggregations --------------------------------------------------------------

    @abstractmethod
    def summary(self, selection: Selection, fields: Sequence[str]) -> dict[str, Any]:
        """{"predictions": n, field: {"count": n[, "true": n for booleans]}} in
        one pass; fields the application does not have are left out."""

    @abstractmethod
    def percent_true(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        """Per bucket: start, predictions, count (have the field), true, percent_true."""

    @abstractmethod
    def value_counts(self, selection: Selection, field: str, bucket: str | None) -> pd.DataFrame:
        """value, count (and start, per bucket when `bucket` is given)."""

    @abstractmethod
    def mean_over_time(self, selection: Selection, field: str, bucket: str) -> pd.DataFrame:
        """Per bucket: start, count, mean of a numeric field."""

    @abstractmethod
    def value_range(self, selection: Selection, field: str) -> tuple[Any, Any]:
        """(min, max) of a numeric field; (None, None) when no record has it."""

    @abstractmethod
    def histogram(
        self,
        selection: Selection,
        field: str,
        bins: int,
        value_range: tuple[float, float] | None = None,
        split_by: str | None = None,
        keep_missing: bool = False,
    ) -> pd.DataFrame:
        """bin_start, bin_end, count on `bins` equal-width bins over
        `value_range` (the data's range when None; the top edge belongs to the
        last bin). With `split_by`, one histogram per value of that field in a
        `split_by` column: records without it are left out, or with
        `keep_missing` counted in one more histogram whose value is missing
        (so the histograms add up to every record's, in the same scan)."""

    # -- baselines -----------------------------------------------------------------

    @abstractmethod
    def baseline_values(self, application: str, baseline: str, path: str) -> np.ndarray:
        """The registered reference values of one projection value (may be empty)."""

    @abstractmethod
    def save_baseline_values(
        self, application: str, baseline: str, values: dict[str, list[float]]
    ) -> None:
        """Replace baseline `baseline` of `application` with these values per path."""
