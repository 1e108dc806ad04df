"""A queue's labels as a dataset: one row per labeled record with its
input, the model's output, the label, the verdict and the record's tags,
and a split by join key that never changes between versions."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from ..datasets.splits import splits_of
from ..store import RecordStore, Selection
from .sources import ReviewError

COLUMNS = ("join_key", "timestamp", "version", "input", "output", "label", "verdict")


def labeled_frame(
    labels: pd.DataFrame,
    store: RecordStore,
    application: str,
    *,
    input_field: str | None = None,
    output_field: str | None = None,
) -> pd.DataFrame:
    """One row per labeled record of `application`, from a queue's current
    `labels`. With several reviewers per item, the label most of them gave
    (ties: the latest) and likewise the verdict; `reviewers`, `labels` and
    `agreement` (all verdicts equal) say how sure that is."""
    if labels.empty:
        return pd.DataFrame(columns=[*COLUMNS, "reviewers", "labels", "agreement", "split"])
    chosen = labels.groupby("join_key", sort=False).apply(_consensus, include_groups=False)
    records = store.rows_for_keys(Selection(application), list(chosen.index))
    records = records.set_index("join_key")
    input_field = input_field or _only_field(records, "inputs", application)
    output_field = output_field or _only_field(records, "outputs", application)
    frame = chosen.join(records, how="inner")
    frame = frame.rename(columns={input_field: "input", output_field: "output"})
    frame = frame.reset_index(names="join_key")
    tags = sorted(c for c in frame.columns if c.startswith("tags."))
    frame["split"] = splits_of(frame["join_key"])
    ordered = [*COLUMNS, "reviewers", "labels", "agreement", *tags, "split"]
    return frame[ordered].sort_values(["timestamp", "join_key"], ignore_index=True)


def _consensus(group: pd.DataFrame) -> pd.Series:
    verdicts = Counter(group["verdict"])
    return pd.Series(
        {
            "label": _most_common(list(group["label"])),
            "verdict": _most_common(list(group["verdict"])),
            "reviewers": ",".join(sorted(group["reviewer"])),
            "labels": len(group),
            "agreement": len(verdicts) == 1,
        }
    )


def _most_common(values: list) -> object:
    """The most frequent value; among equals, the one given last."""
    counts = Counter(values)
    top = max(counts.values())
    return next(v for v in reversed(values) if counts[v] == top)


def _only_field(records: pd.DataFrame, section: str, application: str) -> str:
    found = [c for c in records.columns if c.startswith(f"{section}.")]
    if len(found) != 1:
        raise ReviewError(
            f"{application!r} records have {len(found)} {section} fields "
            f"({', '.join(found) or 'none'}); name the one to use with "
            f"{section[:-1]}_field=..."
        )
    return found[0]
