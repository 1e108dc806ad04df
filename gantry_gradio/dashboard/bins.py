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
A range too wide for 2 parts per unit within the store's bin limit counts
as integer when its ends are."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..store import Selection
from ..store.contract import MAX_BINS, MAX_FINE_BINS, RecordStore

#: More bars than this is noise on a chart a few hundred pixels wide.
MAX_SHOWN = 40


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
    if high == low:
        return Bins(low, 1.0, 1, low.is_integer())
    if low.is_integer() and high.is_integer():
        fine, integer = _unit_parts(store, selection, field, low, high)
    else:
        fine, integer = store.histogram(selection, field, MAX_BINS, (low, high)), False
    counts = fine["count"].to_numpy(dtype=float)
    starts = fine["bin_start"].to_numpy(dtype=float)
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


def _unit_parts(
    store: RecordStore, selection: Selection, field: str, low: float, high: float
) -> tuple[pd.DataFrame, bool]:
    """A fine histogram of a field with whole-number ends, and whether its
    values are whole numbers. Each unit [k, k+1) is cut into 2^j equal bins
    (as many as the store allows): the arithmetic is exact, so a whole
    number always lands in its unit's first bin, and any count elsewhere is a
    value with a fraction."""
    units = int(high - low) + 1
    parts = 2 ** int(math.log2(MAX_FINE_BINS / units)) if units * 2 <= MAX_FINE_BINS else 1
    if parts < 2:
        return store.histogram(selection, field, MAX_BINS, (low, high)), True
    fine = store.histogram(selection, field, units * parts, (low, low + units))
    fractional = fine["count"].to_numpy()[np.arange(len(fine)) % parts != 0]
    return fine, not fractional.any()


def _short(value: float) -> str:
    return f"{value:.4g}"
