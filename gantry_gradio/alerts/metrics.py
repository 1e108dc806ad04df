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
}


def measure(
    store: RecordStore, selection: Selection, metric: str, field: str | None, category: str | None
) -> tuple[float | None, int]:
    """(value, records it was computed from). The value is None when no
    record in the window has the field; an application that has not logged
    yet has no records (not an error: a rule may be created before traffic)."""
    try:
        return _measure(store, selection, metric, field, category)
    except UnknownApplicationError:
        return None, 0


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
