"""The comparison tables of one evaluation, from each candidate's per-row
counts: each metric per candidate with its interval, each candidate's
paired difference to the first (the baseline), the same per slice, and the
rows where candidates' outputs differ."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import bootstrap_all, difference_of, method_for, score_of
from .metrics import Metric

#: Per slice column, the most frequent values compared (the rest are summed up nowhere).
MAX_SLICE_VALUES = 10
#: Disagreement rows kept with the run (all rows are in the record store).
MAX_DISAGREEMENTS = 500

Counts = dict[str, dict[str, np.ndarray]]  # candidate -> metric -> (rows, k)


def compare(
    metrics: list[Metric], counts: Counts, mask: np.ndarray | None = None
) -> tuple[list[dict], list[dict]]:
    """(each metric per candidate, each later candidate minus the first),
    with intervals from one shared set of resampled rows; `better` in a
    difference's verdict means its interval excludes zero in the metric's
    good direction."""
    names = list(counts)
    blocks, columns, at = [], {}, 0
    for name in names:
        for metric in metrics:
            block = counts[name][metric.name]
            block = block if mask is None else block[mask]
            columns[name, metric.name] = slice(at, at + block.shape[1])
            blocks.append(block)
            at += block.shape[1]
    statistics, keys = [], []
    for metric in metrics:
        for name in names:
            statistics.append(score_of(metric, columns[name, metric.name]))
            keys.append((metric, name, None))
        for name in names[1:]:
            mine, base = columns[name, metric.name], columns[names[0], metric.name]
            statistics.append(difference_of(metric, mine, base))
            keys.append((metric, name, names[0]))
    found = bootstrap_all(statistics, np.hstack(blocks))
    rows = len(blocks[0])
    values, differences = [], []
    for (metric, name, baseline), (point, low, high) in zip(keys, found, strict=True):
        if baseline is None:
            values.append(
                {
                    "metric": metric.name,
                    "candidate": name,
                    "value": point,
                    "low": low,
                    "high": high,
                    "rows": rows,
                    "method": method_for(rows),
                }
            )
        else:
            differences.append(
                {
                    "metric": metric.name,
                    "candidate": name,
                    "baseline": baseline,
                    "difference": point,
                    "low": low,
                    "high": high,
                    "verdict": _verdict(metric, low, high),
                }
            )
    return values, differences


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
            values, differences = compare(metrics, counts, mask)
            out += [{**where, "kind": "metric", **row} for row in values]
            out += [{**where, "kind": "difference", **row} for row in differences]
    return out


def disagreements(rows: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """Rows where any two candidates' outputs differ."""
    outputs = rows[[f"output.{c}" for c in candidates]].astype("string")
    differ = outputs.nunique(axis=1, dropna=False) > 1
    return rows[differ.to_numpy()].head(MAX_DISAGREEMENTS)
