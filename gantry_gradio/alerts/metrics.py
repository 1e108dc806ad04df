"""An alert rule's value over one window, read through the read contract
(the same reads as the monitoring tab, on whichever engine serves it)."""

from __future__ import annotations

import pandas as pd

from ..store import Selection, UnknownApplicationError
from ..store.contract import RecordStore

#: metric -> what its `field` is (None: it takes no field)
METRICS = {
    "acceptance_rate": "a boolean field, e.g. feedback.accepted (percent true)",
    "mean": "a numeric field, e.g. projections.detoxify.toxicity",
    "flag_count": "a field of categories, e.g. feedback.flag (optionally one `category`)",
    "volume": None,
    "quantile": "a numeric field, with quantile= between 0 and 1 (e.g. 0.95)",
    "psi": "a projection value with a registered baseline (baseline=, default 'default')",
    "js": "a projection value with a registered baseline (baseline=, default 'default')",
    "ks": "a projection value with a registered baseline (baseline=, default 'default')",
}
#: Bins of the histogram a quantile is read from: exact to a thousandth of the range.
QUANTILE_BINS = 1000


def measure(
    store: RecordStore,
    selection: Selection,
    metric: str,
    field: str | None,
    category: str | None = None,
    *,
    quantile: float | None = None,
    baseline: str = "default",
) -> tuple[float | None, int]:
    """(value, records it was computed from). The value is None when no
    record in the window has the field; an application that has not logged
    yet has no records (not an error: a rule may be created before traffic)."""
    try:
        if metric == "quantile":
            return _quantile(store, selection, field, quantile)
        if metric in ("psi", "js", "ks"):
            return _distance(store, selection, metric, field, baseline)
        return _measure(store, selection, metric, field, category)
    except UnknownApplicationError:
        return None, 0


def _quantile(
    store: RecordStore, selection: Selection, field: str, q: float
) -> tuple[float | None, int]:
    """The value of rank q·n (the inverted CDF), read from a histogram over
    the window's range and interpolated inside its bin: exact to a
    thousandth of the range; the store counts, nothing is fetched row by row."""
    if field not in store.fields(selection.application):
        return None, 0
    low, high = store.value_range(selection, field)
    if low is None:
        return None, 0
    if low == high:
        return float(low), int(store.summary(selection, [field])[field]["count"])
    bins = store.histogram(selection, field, QUANTILE_BINS, (low, high))
    counts = bins["count"].to_numpy(dtype=float)
    total = counts.sum()
    rank = q * total
    passed = counts.cumsum()
    at = int(min((passed < rank).sum(), len(counts) - 1))
    before = passed[at - 1] if at else 0.0
    share = (rank - before) / counts[at] if counts[at] else 0.0
    start, end = float(bins["bin_start"].iloc[at]), float(bins["bin_end"].iloc[at])
    return start + share * (end - start), int(total)


def _distance(
    store: RecordStore, selection: Selection, metric: str, field: str, baseline: str
) -> tuple[float | None, int]:
    from ..projections.baseline import compare

    if field not in store.fields(selection.application):
        return None, 0
    if store.value_range(selection, field)[0] is None:
        return None, 0
    comparison = compare(
        store,
        selection.application,
        field,
        baseline=baseline,
        start=selection.start,
        end=selection.end,
        filters=list(selection.filters),
        view=selection.view,
    )
    return float(getattr(comparison, metric)), comparison.production_count


def _measure(
    store: RecordStore, selection: Selection, metric: str, field: str | None, category: str | None
) -> tuple[float | None, int]:
    if metric == "volume":
        count = store.summary(selection, [])["predictions"]
        return float(count), count
    if metric == "acceptance_rate":
        counts = store.summary(selection, [field]).get(field, {"count": 0, "true": 0})
        seen = counts["count"]
        return (100.0 * counts.get("true", 0) / seen if seen else None), seen
    if metric == "mean":
        if field not in store.fields(selection.application):
            return None, 0
        per_hour = store.mean_over_time(selection, field, "hour")
        seen = int(per_hour["count"].sum())
        total = float((per_hour["mean"] * per_hour["count"]).sum())
        return (total / seen if seen else None), seen
    if metric == "flag_count":
        predictions = store.summary(selection, [])["predictions"]
        if field not in store.fields(selection.application):
            return 0.0, predictions
        counts = store.value_counts(selection, field, None)
        if category is not None:
            counts = counts[counts["value"].map(str) == category]
        return float(pd.to_numeric(counts["count"]).sum()), predictions
    raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
