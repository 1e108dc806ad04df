"""Histogram bins chosen from the data, so a distribution reads at a glance.

Equal-width bins over the raw range draw thin bars lost on a wide axis and
split integers (ages, counts) at fractional edges. Here the width comes from
the Freedman–Diaconis rule (2·IQR/n^⅓, robust to the long tails these fields
have), rounded to a "nice" step (1, 2, 2.5 or 5 × 10^k; whole numbers for
integer fields) and aligned on multiples of it, so labels read "0–29", "30–59".
Everything is asked of the store: one min/max and one fine histogram, which
gives the quartiles and, for fields whose min and max are whole numbers,
whether every value is one (its bins split each unit into 2^k exact parts:
a value with a fraction of at least 2^-k lands off a unit's first part).
A range too wide for 2 parts per unit within FINE_BINS (over 2,048) counts
as integer when its ends are."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..store import Selection
from ..store.contract import MAX_BINS, RecordStore

#: More bars than this is noise on a chart a few hundred pixels wide.
MAX_SHOWN = 40
#: Bins of the fine histogram that looks inside whole units: every bin is a
#: row the store builds, and 4,096 still sees fractions of 1/8 at ranges of 500.
FINE_BINS = 4096


@dataclass(frozen=True)
class Bins:
    """`count` bins of `width` from `low`; integer fields get whole-number labels."""

    low: float
    width: float
    count: int
    integer: bool

    @property
    def value_range(self) -> tuple[float, float]:
        return self.low, self.low + self.width * self.count

    def label(self, start: float) -> str:
        """The bin starting at `start` as its reader sees it: "30–59" holds 30
        to 59 for integers; "0.25–0.5" holds values from 0.25 up to 0.5."""
        end = start + self.width
        if self.integer:
            first, last = round(start), round(end) - 1
            return f"{first}" if first == last else f"{first}–{last}"
        return f"{_short(start)}–{_short(end)}"


def choose_bins(store: RecordStore, selection: Selection, field: str) -> Bins | None:
    """Bins for `field` over the selected records; None when none has it."""
    return _chosen(store, selection, field, None)[0]


def covering(bins: Bins, values: np.ndarray) -> Bins:
    """`bins` extended on the same grid to hold `values` too (a baseline whose
    values reach past production's), so both are counted on one set of bins."""
    if values.size == 0:
        return bins
    lowest = min(float(values.min()), bins.low)
    low = bins.low + math.floor((lowest - bins.low) / bins.width) * bins.width
    highest = max(float(values.max()), bins.value_range[1] - bins.width)
    count = math.floor((highest - low) / bins.width) + 1
    whole = bins.integer and bool(np.all(values == np.round(values)))
    return Bins(low, bins.width, count, whole)


def histogram_on_chosen_bins(
    store: RecordStore,
    selection: Selection,
    field: str,
    split_by: str | None = None,
    keep_missing: bool = False,
) -> tuple[Bins | None, pd.DataFrame]:
    """The bins chosen for `field` and its histogram on them, as
    `RecordStore.histogram` gives it (one per value of `split_by` when
    given, and one for records without it with `keep_missing`). For
    whole-number fields the fine histogram that chose the bins already holds
    the counts (its edges fall on the bins' edges): one scan of the records
    fewer."""
    bins, fine, aligned = _chosen(store, selection, field, split_by, keep_missing)
    if bins is None:
        return None, pd.DataFrame(columns=["bin_start", "bin_end", "count"])
    if aligned:
        return bins, _coarsened(fine, bins, split_by)
    return bins, store.histogram(
        selection, field, bins.count, bins.value_range, split_by, keep_missing
    )


def _chosen(
    store: RecordStore,
    selection: Selection,
    field: str,
    split_by: str | None,
    keep_missing: bool = False,
) -> tuple[Bins | None, pd.DataFrame | None, bool]:
    """The bins, the fine histogram they came from, and whether its edges
    fall on theirs."""
    low, high = store.value_range(selection, field)
    if low is None or high is None:
        return None, None, False
    low, high = float(low), float(high)
    if high == low:
        return Bins(low, 1.0, 1, low.is_integer()), None, False
    if low.is_integer() and high.is_integer():
        fine, integer, aligned = _unit_parts(
            store, selection, field, (low, high), split_by, keep_missing
        )
    else:
        fine = store.histogram(selection, field, MAX_BINS, (low, high), split_by, keep_missing)
        integer = aligned = False
    if split_by is not None and not fine["count"].sum():
        # No record in the window has the split field: bins from every value,
        # and the (empty) split histogram is counted on them.
        return _chosen(store, selection, field, None)[0], None, False
    totals = fine.groupby("bin_start")["count"].sum().sort_index()
    starts, counts = totals.index.to_numpy(dtype=float), totals.to_numpy(dtype=float)
    total = counts.sum()
    spread = _quantile(starts, counts, 0.75) - _quantile(starts, counts, 0.25)
    if spread > 0:
        width = 2 * spread / total ** (1 / 3)
    else:  # most values equal: Sturges' count over the whole range
        width = (high - low) / math.ceil(math.log2(total) + 1)
    width = max(width, (high - low) / MAX_SHOWN)
    step = _nice(width, integer)
    start = math.floor(low / step) * step
    count = math.floor((high - start) / step) + 1
    return Bins(float(start), float(step), max(count, 1), integer), fine, aligned


def _coarsened(fine: pd.DataFrame, bins: Bins, split_by: str | None) -> pd.DataFrame:
    """A fine histogram summed into `bins`, whose edges are among its own."""
    index = np.floor((fine["bin_start"].to_numpy(float) - bins.low) / bins.width).astype(int)
    edges = pd.DataFrame(
        {
            "bin": range(bins.count),
            "bin_start": [bins.low + i * bins.width for i in range(bins.count)],
            "bin_end": [bins.low + (i + 1) * bins.width for i in range(bins.count)],
        }
    )
    keys = ["bin"] if split_by is None else [split_by, "bin"]
    summed = fine.assign(bin=index).groupby(keys, as_index=False, dropna=False)["count"].sum()
    groups = [(None, summed)] if split_by is None else list(summed.groupby(split_by, dropna=False))
    parts = []
    for value, group in groups:
        part = edges.merge(group[["bin", "count"]], on="bin", how="left")
        part["count"] = part["count"].fillna(0).astype("int64")
        parts.append(part if split_by is None else part.assign(**{split_by: value}))
    if not parts:
        return edges.iloc[:0].drop(columns="bin").assign(count=[])
    return pd.concat(parts, ignore_index=True).drop(columns="bin")


def _quantile(starts: np.ndarray, counts: np.ndarray, share: float) -> float:
    """The value below which `share` of the counts fall, read from a fine
    histogram (bin starts and counts) by linear interpolation within a bin."""
    width = starts[1] - starts[0] if len(starts) > 1 else 0.0
    cumulative = np.cumsum(counts)
    wanted = share * cumulative[-1]
    index = int(np.searchsorted(cumulative, wanted))
    before = cumulative[index - 1] if index else 0.0
    inside = (wanted - before) / counts[index] if counts[index] else 0.0
    return float(starts[index] + inside * width)


def _nice(width: float, integer: bool) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at least `width` (whole for integers)."""
    exponent = math.floor(math.log10(width))
    for mantissa in (1, 2, 2.5, 5, 10):
        step = mantissa * 10**exponent
        if step >= width and (not integer or float(step).is_integer()):
            return max(step, 1) if integer else step
    return 10 ** (exponent + 1)


def _unit_parts(
    store: RecordStore,
    selection: Selection,
    field: str,
    ends: tuple[float, float],
    split_by: str | None,
    keep_missing: bool,
) -> tuple[pd.DataFrame, bool, bool]:
    """A fine histogram of a field with whole-number ends, whether its values
    are whole numbers, and whether its edges fall on every whole number.
    Each unit [k, k+1) is cut into 2^j equal bins (as many as FINE_BINS
    allows): the arithmetic is exact, so a whole number always lands in its
    unit's first bin, and any count elsewhere is a value with a fraction."""
    low, high = ends
    units = int(high - low) + 1
    parts = 2 ** int(math.log2(FINE_BINS / units)) if units * 2 <= FINE_BINS else 1
    if parts < 2:
        wide = store.histogram(selection, field, MAX_BINS, ends, split_by, keep_missing)
        return wide, True, False
    fine = store.histogram(
        selection, field, units * parts, (low, low + units), split_by, keep_missing
    )
    position = np.rint((fine["bin_start"].to_numpy(float) - low) * parts).astype(int)
    fractional = fine["count"].to_numpy()[position % parts != 0]
    return fine, not fractional.any(), True


def _short(value: float) -> str:
    return f"{value:.4g}"
