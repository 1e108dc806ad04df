"""Histogram bins chosen from the data, so a distribution reads at a glance.

Equal-width bins over the raw range draw thin bars lost on a wide axis and
split integers (ages, counts) at fractional edges. Here the width comes from
the Freedman–Diaconis rule (2·IQR/n^⅓, robust to the long tails these fields
have), rounded to a "nice" step (1, 2, 2.5 or 5 × 10^k; whole numbers for
integer fields) and aligned on multiples of it, so labels read "0–29", "30–59".
Everything is asked of the store: one min/max, one fine histogram for the
quartiles, and a small sample to tell integer fields from real-valued ones."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..store import Selection
from ..store.contract import MAX_BINS, RecordStore

#: More bars than this is noise on a chart a few hundred pixels wide.
MAX_SHOWN = 40
#: Values looked at to decide whether a field holds whole numbers only.
_INTEGER_SAMPLE = 500


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
    low, high = store.value_range(selection, field)
    if low is None or high is None:
        return None
    low, high = float(low), float(high)
    integer = low.is_integer() and high.is_integer() and _holds_integers(store, selection, field)
    if high == low:
        return Bins(low, 1.0, 1, integer)
    fine = store.histogram(selection, field, MAX_BINS, (low, high))
    counts = fine["count"].to_numpy(dtype=float)
    total = counts.sum()
    spread = _quantile(fine["bin_start"].to_numpy(float), counts, 0.75) - _quantile(
        fine["bin_start"].to_numpy(float), counts, 0.25
    )
    if spread > 0:
        width = 2 * spread / total ** (1 / 3)
    else:  # most values equal: Sturges' count over the whole range
        width = (high - low) / math.ceil(math.log2(total) + 1)
    width = max(width, (high - low) / MAX_SHOWN)
    step = _nice(width, integer)
    start = math.floor(low / step) * step
    count = math.floor((high - start) / step) + 1
    return Bins(start, step, max(count, 1), integer)


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


def _holds_integers(store: RecordStore, selection: Selection, field: str) -> bool:
    """Whether the newest values of `field` are all whole numbers: integer
    fields (ages, counts) bin on whole numbers, real-valued ones do not."""
    sample = store.rows(selection, fields=[field], limit=_INTEGER_SAMPLE, newest_first=True)
    values = sample[field].dropna().to_numpy(dtype=float) if field in sample else np.array([])
    return bool(len(values)) and bool(np.all(np.mod(values, 1) == 0))


def _short(value: float) -> str:
    return f"{value:.4g}"
