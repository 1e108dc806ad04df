"""The comparison tables of one evaluation, from each candidate's per-row
counts: each metric per candidate with its interval, each candidate's
paired difference to the first (the baseline), the same per slice, and the
rows where candidates' outputs differ."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import method_for, metric_interval, paired_difference
from .metrics import Metric

#: Per slice column, the most frequent values compared (the rest are summed up nowhere).
MAX_SLICE_VALUES = 10
#: Disagreement rows kept with the run (all rows are in the record store).
MAX_DISAGREEMENTS = 500

Counts = dict[str, dict[str, np.ndarray]]  # candidate -> metric -> (rows, k)


def metric_table(
    metrics: list[Metric], counts: Counts, mask: np.ndarray | None = None
) -> list[dict]:
    rows = []
    for metric in metrics:
        for candidate, by_metric in counts.items():
            chosen = by_metric[metric.name] if mask is None else by_metric[metric.name][mask]
            value, low, high = metric_interval(metric, chosen)
            rows.append(
                {
                    "metric": metric.name,
                    "candidate": candidate,
                    "value": value,
                    "low": low,
                    "high": high,
                    "rows": len(chosen),
                    "method": method_for(len(chosen)),
                }
            )
    return rows


def difference_table(
    metrics: list[Metric], counts: Counts, mask: np.ndarray | None = None
) -> list[dict]:
    """Each later candidate minus the first; `better` says whether the
    interval excludes zero in the metric's good direction."""
    names = list(counts)
    baseline = names[0]
    rows = []
    for metric in metrics:
        base = counts[baseline][metric.name]
        base = base if mask is None else base[mask]
        for candidate in names[1:]:
            mine = counts[candidate][metric.name]
            mine = mine if mask is None else mine[mask]
            difference, low, high = paired_difference(metric, mine, base)
            rows.append(
                {
                    "metric": metric.name,
                    "candidate": candidate,
                    "baseline": baseline,
                    "difference": difference,
                    "low": low,
                    "high": high,
                    "verdict": _verdict(metric, low, high),
                }
            )
    return rows


def _verdict(metric: Metric, low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
        return "no clear difference"
    up = low > 0
    if metric.higher_is_better is None:
        return "higher" if up else "lower"
    return "better" if up == metric.higher_is_better else "worse"


def slice_table(metrics: list[Metric], counts: Counts, slices: dict[str, pd.Series]) -> list[dict]:
    """Per slice value: rows, each candidate's value and (with two or more
    candidates) each paired difference to the baseline with its interval."""
    out = []
    for column, values in slices.items():
        labels = values.astype("string").fillna("(missing)")
        for value in labels.value_counts().index[:MAX_SLICE_VALUES]:
            mask = (labels == value).to_numpy()
            where = {"slice": column, "slice_value": value}
            for row in metric_table(metrics, counts, mask):
                out.append({**where, "kind": "metric", **row})
            for row in difference_table(metrics, counts, mask) if len(counts) > 1 else []:
                out.append({**where, "kind": "difference", **row})
    return out


def disagreements(rows: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """Rows where any two candidates' outputs differ."""
    outputs = rows[[f"output.{c}" for c in candidates]].astype("string")
    differ = outputs.nunique(axis=1, dropna=False) > 1
    return rows[differ.to_numpy()].head(MAX_DISAGREEMENTS)
