"""95% bootstrap intervals by `scipy.stats.bootstrap`, over rows: a
metric's interval for one candidate, and the paired interval of the
difference between two candidates scored on the same rows (resampling rows,
never candidates, so what both got right or wrong cancels out).

BCa (bias-corrected and accelerated) up to BCA_MAX_ROWS rows; beyond, its
jackknife costs rows² and the percentile method is used (the two agree
closely at such sizes). A fixed seed makes a run's intervals reproducible."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from .metrics import Metric

CONFIDENCE = 0.95
RESAMPLES = 2000
BCA_MAX_ROWS = 2000
SEED = 20220401
#: Weights of one vectorized batch of resamples (bounds memory at ~40 MB).
_BATCH_ELEMENTS = 5_000_000


def method_for(rows: int) -> str:
    return "BCa" if rows <= BCA_MAX_ROWS else "percentile"


def metric_interval(metric: Metric, counts: np.ndarray) -> tuple[float, float, float]:
    """(value, low, high) of the metric over these rows' counts (rows, k)."""
    value = float(metric.score(counts.sum(axis=0), len(counts)))
    low, high = _bootstrap(metric.score, counts, value)
    return value, low, high


def paired_difference(
    metric: Metric, counts: np.ndarray, baseline: np.ndarray
) -> tuple[float, float, float]:
    """(difference, low, high) of metric(counts) - metric(baseline) on the same rows."""
    k = counts.shape[1]

    def score(totals: np.ndarray, rows: int) -> np.ndarray:
        return metric.score(totals[..., :k], rows) - metric.score(totals[..., k:], rows)

    both = np.hstack([counts, baseline])
    difference = float(score(both.sum(axis=0), len(both)))
    low, high = _bootstrap(score, both, difference)
    return difference, low, high


def _bootstrap(score, counts: np.ndarray, point: float) -> tuple[float, float]:
    """The statistic sees resampled row indices; each resample's totals are
    its row counts (bincount) times the per-row counts, one matrix product,
    instead of gathering every count column for every resample."""
    rows = len(counts)
    if rows < 2 or not np.isfinite(point):
        return float("nan"), float("nan")
    if np.all(counts == counts[0]):  # every row alike: no spread to resample
        return point, point

    def statistic(indices: np.ndarray, axis: int = -1) -> np.ndarray:
        flat = np.asarray(indices, dtype=np.int64).reshape(-1, indices.shape[-1])
        weights = np.stack([np.bincount(r, minlength=rows) for r in flat]).astype(float)
        return score(weights @ counts, flat.shape[-1]).reshape(indices.shape[:-1])

    for method in dict.fromkeys((method_for(rows), "percentile")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a degenerate BCa says so with NaN
            result = stats.bootstrap(
                (np.arange(rows),),
                statistic,
                vectorized=True,
                n_resamples=RESAMPLES,
                batch=max(1, _BATCH_ELEMENTS // rows),
                confidence_level=CONFIDENCE,
                method=method,
                rng=np.random.default_rng(SEED),
            )
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return float(low), float(high)
    return float("nan"), float("nan")
