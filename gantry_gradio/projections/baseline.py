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
import sqlalchemy as sa
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from ..store import Catalog, RecordReader
from ..store.schema import baseline_values
from .registry import Projection

_SMOOTHING = 1e-4  # keeps PSI finite where a bin is empty on one side


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
    engine: sa.Engine,
    catalog: Catalog,
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
    app_id = catalog.ensure_application(application)
    rows, stored = [], {}
    for projection in projections:
        if not all(mapping.get(f) in frame.columns for f in projection.fields):
            continue  # the reference set lacks this projection's field(s)
        series = [frame[mapping[f]].tolist() for f in projection.fields]
        values = series[0] if len(series) == 1 else list(zip(*series, strict=True))
        for start in range(0, len(values), batch_size):
            for result in projection.fn(values[start : start + batch_size]):
                for value_name, number in result.items():
                    if isinstance(number, (int, float)) and np.isfinite(number):
                        path = projection.column(value_name)
                        rows.append(
                            {
                                "application_id": app_id,
                                "baseline": name,
                                "path": path,
                                "value": float(number),
                            }
                        )
                        stored[path] = stored.get(path, 0) + 1
    if not rows:
        raise ValueError(
            f"no projection could read the baseline's columns {list(frame.columns)}; name "
            "them after the fields (e.g. 'outputs.inference') or pass columns={...}"
        )
    catalog.ensure_tables()
    with engine.begin() as conn:
        conn.execute(
            baseline_values.delete().where(
                baseline_values.c.application_id == app_id, baseline_values.c.baseline == name
            )
        )
        conn.execute(baseline_values.insert(), rows)
    return stored


def compare(
    reader: RecordReader,
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
    selection = reader.select(application, start, end, filters, view)
    column, kind = selection.column(path)
    if kind != "number":
        raise ValueError(f"{path!r} holds {kind} values; compare a numeric projection value")
    app_id = reader.catalog.application_id(application)
    with reader.engine.connect() as conn:
        production = np.array(
            conn.scalars(sa.select(column).where(*selection.where, column.is_not(None))).all(),
            dtype=float,
        )
        reference = np.array(
            conn.scalars(
                sa.select(baseline_values.c.value).where(
                    baseline_values.c.application_id == app_id,
                    baseline_values.c.baseline == baseline,
                    baseline_values.c.path == path,
                )
            ).all(),
            dtype=float,
        )
    if reference.size == 0:
        raise LookupError(f"baseline {baseline!r} of {application!r} has no values for {path!r}")
    return compare_values(path, production, reference, bins)


def compare_values(
    path: str, production: np.ndarray, reference: np.ndarray, bins: int = 20
) -> BaselineComparison:
    """The distances on two samples (exposed for checks with known answers)."""
    both = np.concatenate([production, reference])
    edges = np.histogram_bin_edges(both, bins=bins) if both.size else np.linspace(0, 1, bins + 1)
    prod_counts = np.histogram(production, edges)[0]
    base_counts = np.histogram(reference, edges)[0]
    p = _proportions(prod_counts)
    q = _proportions(base_counts)
    psi = float(np.sum((p - q) * np.log(p / q)))
    raw_p = prod_counts / max(prod_counts.sum(), 1)
    raw_q = base_counts / max(base_counts.sum(), 1)
    js = float(jensenshannon(raw_p, raw_q, base=2) ** 2) if production.size else float("nan")
    if production.size:
        ks = ks_2samp(production, reference)
        ks_stat, ks_p = float(ks.statistic), float(ks.pvalue)
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
    return BaselineComparison(
        path, histogram, psi, js, ks_stat, ks_p, int(production.size), int(reference.size)
    )


def _proportions(counts: np.ndarray) -> np.ndarray:
    smoothed = counts + _SMOOTHING * max(counts.sum(), 1)
    return smoothed / smoothed.sum()
