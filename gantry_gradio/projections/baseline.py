"""Baselines: projection values of a trusted reference set, and the comparison
of production against them.

This answers "is this obscenity bump the model, or just what users typed?":
register the model's validation set as the baseline, then compare any window
or view of production with it, per projection value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import kstwo

from ..store import RecordStore, Selection
from .registry import Projection

_SMOOTHING = 1e-4  # keeps PSI finite where a bin is empty on one side
_FINE = 50  # fine bins per display bin, for the KS statistic


@dataclass
class BaselineComparison:
    """Both histograms on the same bins, and three distances:
    psi (population stability index; > 0.25 is a large shift by convention),
    js (Jensen-Shannon divergence in bits: 0 identical, 1 disjoint) and the
    two-sample Kolmogorov-Smirnov statistic with its p-value."""

    path: str
    histogram: pd.DataFrame  # bin_start, bin_end, production, baseline (counts)
    psi: float
    js: float
    ks: float
    ks_pvalue: float
    production_count: int
    baseline_count: int


def register_baseline(
    store: RecordStore,
    application: str,
    data: pd.DataFrame | str | Path,
    projections: list[Projection],
    *,
    name: str = "default",
    columns: dict[str, str] | None = None,
    batch_size: int = 64,
) -> dict[str, int]:
    """Compute `projections` over a reference set and store the values as
    baseline `name` (replacing an earlier one). `data` is a DataFrame or CSV
    whose columns are the projected fields ("outputs.inference"), or are mapped
    to them by `columns={"outputs.inference": "text"}`. Returns values stored
    per projection value."""
    frame = pd.read_csv(data) if isinstance(data, (str, Path)) else data
    mapping = {field: field for field in frame.columns} | dict(columns or {})
    values: dict[str, list[float]] = {}
    for projection in projections:
        if not all(mapping.get(f) in frame.columns for f in projection.fields):
            continue  # the reference set lacks this projection's field(s)
        series = [frame[mapping[f]].tolist() for f in projection.fields]
        inputs = series[0] if len(series) == 1 else list(zip(*series, strict=True))
        for start in range(0, len(inputs), batch_size):
            for result in projection.fn(inputs[start : start + batch_size]):
                for value_name, number in result.items():
                    if isinstance(number, (int, float)) and np.isfinite(number):
                        values.setdefault(projection.column(value_name), []).append(float(number))
    if not values:
        raise ValueError(
            f"no projection could read the baseline's columns {list(frame.columns)}; name "
            "them after the fields (e.g. 'outputs.inference') or pass columns={...}"
        )
    store.save_baseline_values(application, name, values)
    return {path: len(numbers) for path, numbers in values.items()}


def compare(
    store: RecordStore,
    application: str,
    path: str,
    *,
    baseline: str = "default",
    bins: int = 20,
    start: Any = None,
    end: Any = None,
    filters: list | None = None,
    view: str | None = None,
) -> BaselineComparison:
    """Production is counted by the store on fine bins (never fetched row by
    row); the reference set is small and read whole. A field that is not
    numeric is refused by the store's `value_range`."""
    selection = store.resolve(Selection(application, start, end, view, filters or ()))
    low, high = store.value_range(selection, path)
    reference = store.baseline_values(application, baseline, path)
    if reference.size == 0:
        raise LookupError(f"baseline {baseline!r} of {application!r} has no values for {path!r}")
    edges = _edges(reference if low is None else np.append(reference, [low, high]), bins)
    fine = store.histogram(selection, path, bins * _FINE, (edges[0], edges[-1]))
    return _compare_counts(path, edges, fine["count"].to_numpy(), reference)


def compare_values(
    path: str, production: np.ndarray, reference: np.ndarray, bins: int = 20
) -> BaselineComparison:
    """The distances on two in-memory samples (the same arithmetic as `compare`;
    exposed for checks with known answers)."""
    edges = _edges(np.concatenate([production, reference]), bins)
    fine = np.histogram(production, np.linspace(edges[0], edges[-1], bins * _FINE + 1))[0]
    return _compare_counts(path, edges, fine, reference)


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    return np.histogram_bin_edges(values, bins=bins) if values.size else np.linspace(0, 1, bins + 1)


def _compare_counts(
    path: str, edges: np.ndarray, fine_counts: np.ndarray, reference: np.ndarray
) -> BaselineComparison:
    """PSI and JS on the display bins. KS on the fine bins' edges: the largest
    gap between the two empirical CDFs there, which differs from the exact
    statistic by at most one fine bin's share; its p-value is the asymptotic one."""
    bins = len(edges) - 1
    prod_counts = fine_counts.reshape(bins, _FINE).sum(axis=1)
    base_counts = np.histogram(reference, edges)[0]
    n, m = int(prod_counts.sum()), int(reference.size)
    p = _proportions(prod_counts)
    q = _proportions(base_counts)
    psi = float(np.sum((p - q) * np.log(p / q)))
    raw_p = prod_counts / max(n, 1)
    raw_q = base_counts / max(m, 1)
    js = float(jensenshannon(raw_p, raw_q, base=2) ** 2) if n else float("nan")
    if n:
        fine_edges = np.linspace(edges[0], edges[-1], len(fine_counts) + 1)
        below = np.searchsorted(np.sort(reference), fine_edges[1:-1], side="left")
        gaps = np.abs(np.cumsum(fine_counts)[:-1] / n - below / m)
        ks_stat = float(gaps.max(initial=0.0))
        ks_p = float(kstwo.sf(ks_stat, max(round(n * m / (n + m)), 1)))
    else:
        ks_stat = ks_p = float("nan")
    histogram = pd.DataFrame(
        {
            "bin_start": edges[:-1],
            "bin_end": edges[1:],
            "production": prod_counts,
            "baseline": base_counts,
        }
    )
    return BaselineComparison(path, histogram, psi, js, ks_stat, ks_p, n, m)


def _proportions(counts: np.ndarray) -> np.ndarray:
    smoothed = counts + _SMOOTHING * max(counts.sum(), 1)
    return smoothed / smoothed.sum()
