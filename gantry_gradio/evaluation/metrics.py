"""Metrics: how each candidate's outputs are scored against the labels.

A metric turns a batch of (input, output, label) into counts per row (one
column for a mean, several for a corpus score such as F0.5 or GLEU) and a
score from the counts summed over rows. Sums make the bootstrap cheap: a
resample is a reweighting of the same per-row counts, never a new run.

Any plain function `fn(input, output, label) -> float` is a metric (its
mean); `projection_metric` scores outputs with a registered projection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein

from ..projections import resolve
from .text import GLEU_ORDER, edit_counts, gleu_counts

RowCounts = Callable[[list[str], list[str], list[Any]], np.ndarray]
Score = Callable[[np.ndarray, int], np.ndarray]


class MetricError(ValueError):
    """A metric that cannot be found or computed; the message says which."""


@dataclass(frozen=True)
class Metric:
    """`counts(inputs, outputs, labels)` -> array (rows, k); `score(totals,
    rows)` -> the metric from counts summed over rows, vectorized over any
    leading axes of `totals` (..., k). `higher_is_better`: None when the
    direction depends on the use (e.g. a length)."""

    name: str
    counts: RowCounts
    score: Score
    higher_is_better: bool | None = True

    def row_scores(self, counts: np.ndarray) -> np.ndarray:
        """Each row scored on its own (what the disagreement rows show)."""
        return np.asarray(self.score(counts, 1), dtype=float)


def _mean(totals: np.ndarray, rows: int) -> np.ndarray:
    return totals[..., 0] / rows


def _per_row(fn: Callable[[Any, Any, Any], float]) -> RowCounts:
    def counts(inputs: list, outputs: list, labels: list) -> np.ndarray:
        values = [fn(i, o, label) for i, o, label in zip(inputs, outputs, labels, strict=True)]
        return np.asarray(values, dtype=float).reshape(-1, 1)

    return counts


def from_function(fn: Callable[[Any, Any, Any], float], name: str | None = None) -> Metric:
    """A plain function of (input, output, label) as a metric: its mean."""
    return Metric(name or getattr(fn, "__name__", "metric"), _per_row(fn), _mean)


def _exact(inputs: list, outputs: list, labels: list) -> np.ndarray:
    return np.asarray([o == label for o, label in zip(outputs, labels, strict=True)], float)[
        :, None
    ]


def _edits(inputs: list, outputs: list, labels: list) -> np.ndarray:
    rows = [edit_counts(i, o, label) for i, o, label in zip(inputs, outputs, labels, strict=True)]
    return np.asarray(rows, dtype=float).reshape(-1, 3)


def _precision(totals: np.ndarray, rows: int) -> np.ndarray:
    right, made = totals[..., 0], totals[..., 1]
    return np.divide(right, made, out=np.ones_like(right, dtype=float), where=made > 0)


def _recall(totals: np.ndarray, rows: int) -> np.ndarray:
    right, needed = totals[..., 0], totals[..., 2]
    return np.divide(right, needed, out=np.ones_like(right, dtype=float), where=needed > 0)


def _f05(totals: np.ndarray, rows: int) -> np.ndarray:
    p, r = _precision(totals, rows), _recall(totals, rows)
    denominator = 0.25 * p + r
    return np.divide(1.25 * p * r, denominator, out=np.zeros_like(p), where=denominator > 0)


def _gleu_rows(inputs: list, outputs: list, labels: list) -> np.ndarray:
    rows = [gleu_counts(i, o, label) for i, o, label in zip(inputs, outputs, labels, strict=True)]
    return np.asarray(rows, dtype=float).reshape(-1, 2 + 2 * GLEU_ORDER)


def _gleu(totals: np.ndarray, rows: int) -> np.ndarray:
    """GLEU from summed counts (text.gleu_from_counts), vectorized."""
    c, r = totals[..., 0], totals[..., 1]
    matches, possible = totals[..., 2::2], totals[..., 3::2]
    zero = (totals == 0).any(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_precision = np.log(matches / possible).mean(axis=-1)
        brevity = np.minimum(0.0, 1 - r / c)
        value = np.exp(brevity + log_precision)
    return np.where(zero, 0.0, value)


def _char_distance(inputs: list, outputs: list, labels: list) -> np.ndarray:
    pairs = zip(outputs, labels, strict=True)
    return np.asarray([Levenshtein.distance(o, label) for o, label in pairs], float)[:, None]


BUILT_IN: dict[str, Metric] = {
    "exact_match": Metric("exact_match", _exact, _mean),
    "gleu": Metric("gleu", _gleu_rows, _gleu),
    "edit_precision": Metric("edit_precision", _edits, _precision),
    "edit_recall": Metric("edit_recall", _edits, _recall),
    "edit_f05": Metric("edit_f05", _edits, _f05),
    "char_edit_distance": Metric("char_edit_distance", _char_distance, _mean, False),
}
#: What evaluate scores when no metrics are named (text-to-text).
DEFAULT_METRICS = ("exact_match", "gleu", "edit_f05", "char_edit_distance")


def projection_metric(spec: str, *, higher_is_better: bool | None = None) -> Metric:
    """ "<projection>.<value>" (e.g. "entropy.word_entropy", "detoxify.toxicity")
    of each output, averaged; a projection of two fields gets (input, output)."""
    name, _, value = spec.partition(".")
    projection = resolve(name)
    if value not in projection.values:
        raise MetricError(
            f"projection {name!r} has no value {value!r}; it gives {', '.join(projection.values)}"
        )

    def counts(inputs: list, outputs: list, labels: list) -> np.ndarray:
        batch = outputs if len(projection.fields) == 1 else list(zip(inputs, outputs, strict=True))
        results = projection.fn(batch)
        values = [r.get(value) if r else None for r in results]
        return np.asarray([(0.0, 0.0) if v is None else (v, 1.0) for v in values], float)

    return Metric(f"{name}.{value}", counts, _mean_of_present, higher_is_better)


def _mean_of_present(totals: np.ndarray, rows: int) -> np.ndarray:
    """The mean over rows the projection could score (a skipped one counts 0 of 0)."""
    present = totals[..., 1]
    return np.divide(totals[..., 0], present, out=np.full_like(present, np.nan), where=present > 0)


def resolve_metrics(metrics: Sequence[str | Metric | Callable] | None) -> list[Metric]:
    """Names of built-ins, "projection:<name>.<value>", Metric objects or
    plain functions, each once."""
    chosen = [_one(m) for m in (metrics or DEFAULT_METRICS)]
    names = [m.name for m in chosen]
    if len(set(names)) != len(names):
        raise MetricError(f"metric names must differ: {names}")
    return chosen


def _one(metric: str | Metric | Callable) -> Metric:
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        if metric.startswith("projection:"):
            return projection_metric(metric.removeprefix("projection:"))
        if metric in BUILT_IN:
            return BUILT_IN[metric]
        raise MetricError(
            f"unknown metric {metric!r}; built-ins: {', '.join(BUILT_IN)}, or "
            "'projection:<name>.<value>', or a function (input, output, label) -> float"
        )
    if callable(metric):
        return from_function(metric)
    raise MetricError(f"a metric is a name, a Metric or a function, not {type(metric).__name__}")
