"""95% bootstrap intervals by `scipy.stats.bootstrap`, over rows: a
metric's interval for one candidate, and the paired interval of the
difference between two candidates scored on the same rows (resampling rows,
never candidates, so what both got right or wrong cancels out).

BCa (bias-corrected and accelerated) up to BCA_MAX_ROWS rows; beyond, its
jackknife costs rows² and the percentile method is used (the two agree
closely at such sizes). A fixed seed makes a run's intervals reproducible."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

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


Statistic = Callable[[np.ndarray, int], np.ndarray]


def metric_interval(metric: Metric, counts: np.ndarray) -> tuple[float, float, float]:
    """(value, low, high) of the metric over these rows' counts (rows, k)."""
    return tuple(bootstrap_all([metric.score], counts)[0])


def paired_difference(
    metric: Metric, counts: np.ndarray, baseline: np.ndarray
) -> tuple[float, float, float]:
    """(difference, low, high) of metric(counts) - metric(baseline) on the same rows."""
    k = counts.shape[1]
    statistic = difference_of(metric, slice(0, k), slice(k, None))
    return tuple(bootstrap_all([statistic], np.hstack([counts, baseline]))[0])


def score_of(metric: Metric, columns: slice) -> Statistic:
    """The metric of the candidate whose counts are `columns` of the totals."""
    return lambda totals, rows: metric.score(totals[..., columns], rows)


def difference_of(metric: Metric, mine: slice, base: slice) -> Statistic:
    """The metric of `mine` minus that of `base`, both columns of the totals."""
    return lambda totals, rows: metric.score(totals[..., mine], rows) - metric.score(
        totals[..., base], rows
    )


def bootstrap_all(statistics: Sequence[Statistic], counts: np.ndarray) -> np.ndarray:
    """(point, low, high) of every statistic of the summed per-row counts,
    from one set of resamples: every metric and every difference of a run
    sees the same resampled rows, and the resampling is paid once.

    The statistic scipy resamples gets row indices; a resample's totals are
    its row counts (one bincount for all resamples) times the per-row counts,
    one matrix product, instead of gathering every column per resample."""
    rows = len(counts)
    points = np.array([float(s(counts.sum(axis=0), rows)) for s in statistics])
    results = np.column_stack([points, np.full_like(points, np.nan), np.full_like(points, np.nan)])
    if rows < 2:
        return results

    def statistic(indices: np.ndarray, axis: int = -1) -> np.ndarray:
        flat = np.asarray(indices, dtype=np.int64).reshape(-1, indices.shape[-1])
        resamples = len(flat)
        offsets = flat + (np.arange(resamples) * rows)[:, None]
        weights = np.bincount(offsets.ravel(), minlength=resamples * rows)
        totals = weights.reshape(resamples, rows).astype(float) @ counts  # BLAS: floats
        values = np.stack([s(totals, flat.shape[-1]) for s in statistics])
        return values.reshape(len(statistics), *indices.shape[:-1])

    for method in dict.fromkeys((method_for(rows), "percentile")):
        missing = ~np.isfinite(results[:, 1:]).all(axis=1) & np.isfinite(points)
        if not missing.any():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a degenerate BCa says so with NaN
            interval = stats.bootstrap(
                (np.arange(rows),),
                statistic,
                vectorized=True,
                n_resamples=RESAMPLES,
                batch=max(1, _BATCH_ELEMENTS // rows),
                confidence_level=CONFIDENCE,
                method=method,
                rng=np.random.default_rng(SEED),
            ).confidence_interval
        found = np.column_stack([interval.low, interval.high])
        results[missing, 1:] = found[missing]
    return results
