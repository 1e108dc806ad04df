"""`evaluate`: every candidate on the same rows of a dataset, scored by the
same metrics, compared with bootstrap intervals, and stored: the run's
tables in `gantry_evaluation_runs`, each (row, candidate) as a record of
the application `<application>:evaluations` (so the rows reach `query`, the
tab and the lake like production records)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._timestamps import now_us, to_timestamp
from ..datasets import Dataset, DatasetError
from ..datasets.registry import DatasetVersion
from ..store import Selection
from .candidates import CandidateError, as_batch_function
from .comparison import compare, disagreements, slice_table
from .metrics import BUILT_IN, Metric, resolve_metrics
from .result import Evaluation, evaluation_application
from .runs import log_rows, save_run

if TYPE_CHECKING:
    from ..handle import ClientHandle


def evaluate(
    client: ClientHandle,
    data: Any,
    candidates: dict[str, Any],
    metrics: Sequence[str | Metric | Callable] | None = None,
    *,
    split: str | None = "test",
    input_column: str = "input",
    label_column: str = "label",
    slices: Sequence[str] = (),
    application: str | None = None,
    batch_size: int = 32,
    name: str | None = None,
    progress: bool = True,
) -> Evaluation:
    if not isinstance(candidates, dict) or not candidates:
        raise CandidateError("candidates is a dict of name -> function or model, e.g. {'v1': f}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
    chosen = resolve_metrics(metrics)
    client.check_application(evaluation_application(application))  # before any work
    frame, dataset, version_id = _rows(client, data, split)
    for column in (input_column, label_column):
        if column not in frame.columns:
            raise DatasetError(f"the data has no {column!r} column; columns: {list(frame.columns)}")
    if frame.empty:
        raise DatasetError(f"no rows to evaluate (split {split!r})")
    slice_values = _slices(client, frame, slices, application)
    inputs, labels = frame[input_column].tolist(), frame[label_column].tolist()
    functions = {n: as_batch_function(n, c) for n, c in candidates.items()}
    started = time.perf_counter()
    text_metrics = [m.name for m in chosen if m.name in BUILT_IN]
    if text_metrics:
        _require_text(inputs, f"column {input_column!r}", DatasetError)
        _require_text(labels, f"column {label_column!r}", DatasetError)
    outputs, seconds = _run(functions, inputs, batch_size, progress)
    for candidate, produced in outputs.items() if text_metrics else ():
        _require_text(produced, f"candidate {candidate!r}'s output", CandidateError)
    counts = {
        candidate: {m.name: m.counts(inputs, outputs[candidate], labels) for m in chosen}
        for candidate in functions
    }
    rows = _row_frame(frame, input_column, label_column, chosen, outputs, counts)
    values, differences = compare(chosen, counts)
    run = Evaluation(
        run_id=uuid.uuid4().hex,
        name=name or f"{' vs '.join(functions)} on {dataset or 'data'}",
        application=application,
        dataset=dataset,
        dataset_version=version_id,
        split=split,
        candidates=list(functions),
        metrics=[m.name for m in chosen],
        row_count=len(frame),
        table=pd.DataFrame(values),
        differences=pd.DataFrame(differences),
        slices=pd.DataFrame(slice_table(chosen, counts, slice_values)),
        disagreements=disagreements(rows, list(functions)),
        created_at=to_timestamp(now_us()),
        rows=rows,
    )
    run.seconds = {**seconds, "evaluation": time.perf_counter() - started - sum(seconds.values())}
    save_run(client, run)
    log_rows(client, run)
    return run


def _require_text(values: list, what: str, error: type[ValueError]) -> None:
    """The built-in metrics compare text: a missing label or a number as an
    output is named, not met as a crash deep inside a metric."""
    bad = [i for i, value in enumerate(values) if not isinstance(value, str)]
    if bad:
        raise error(
            f"{what} is not text in {len(bad):,} row(s), e.g. row {bad[0]}: "
            f"{values[bad[0]]!r}; the built-in metrics compare text"
        )


def _rows(
    client: ClientHandle, data: Any, split: str | None
) -> tuple[pd.DataFrame, str | None, str | None]:
    """(rows, dataset name, version id) of a Dataset (its latest version),
    a DatasetVersion, "name" or "name@version_id" of a stored dataset, or a
    DataFrame (its split column, when split is given)."""
    if isinstance(data, pd.DataFrame):
        if split is None:
            return data.reset_index(drop=True), None, None
        if "split" not in data.columns:
            raise DatasetError(
                f"the frame has no split column to take {split!r} from; pass split=None"
            )
        return data[data["split"] == split].reset_index(drop=True), None, None
    if isinstance(data, str):
        name, _, version_id = data.partition("@")
        dataset, version_id = client.get_dataset(name), version_id or None
    elif isinstance(data, DatasetVersion):
        dataset, version_id = client.get_dataset(data.dataset), data.version_id
    elif isinstance(data, Dataset):
        dataset, version_id = data, None
    else:
        raise DatasetError(
            "evaluate takes a Dataset, a dataset version, 'name[@version_id]' or a "
            f"DataFrame, not {type(data).__name__}"
        )
    if version_id is None:
        latest = dataset.latest_version()
        if latest is None:
            raise DatasetError(f"dataset {dataset.name!r} has no versions yet; push data first")
        version_id = latest.version_id
    return dataset.get_pandas(version_id, split=split), dataset.name, version_id


def _slices(
    client: ClientHandle, frame: pd.DataFrame, slices: Sequence[str], application: str | None
) -> dict[str, pd.Series]:
    """Columns of the rows, or "view:<name>": whether each row's record is
    in that saved view of `application` (by join key)."""
    out = {}
    for spec in slices:
        if spec.startswith("view:"):
            if application is None or "join_key" not in frame.columns:
                raise DatasetError(
                    f"slice {spec!r} needs application= and rows with a join_key column"
                )
            view = spec.removeprefix("view:")
            members = set(client.store.keys(Selection(application, view=view))["join_key"])
            out[spec] = frame["join_key"].isin(members).map({True: "in view", False: "outside"})
        elif spec in frame.columns:
            out[spec] = frame[spec]
        else:
            raise DatasetError(f"no column {spec!r} to slice by; columns: {list(frame.columns)}")
    return out


def _run(
    functions: dict[str, Callable], inputs: list, batch_size: int, progress: bool
) -> tuple[dict[str, list], dict[str, float]]:
    outputs: dict[str, list] = {}
    seconds: dict[str, float] = {}
    for name, function in functions.items():
        produced: list = []
        spent = 0.0
        batches = range(0, len(inputs), batch_size)
        for at in tqdm(batches, desc=f"evaluating {name}", unit="batch", disable=not progress):
            batch = inputs[at : at + batch_size]
            started = time.perf_counter()
            result = function(batch)
            spent += time.perf_counter() - started
            if not isinstance(result, (list, tuple)) or len(result) != len(batch):
                raise CandidateError(
                    f"candidate {name!r} returned {type(result).__name__}"
                    f"{f' of {len(result)}' if hasattr(result, '__len__') else ''} "
                    f"for a batch of {len(batch)}; it must return one output per input"
                )
            produced.extend(result)
        outputs[name], seconds[name] = produced, spent
    return outputs, seconds


def _row_frame(frame, input_column, label_column, metrics, outputs, counts) -> pd.DataFrame:
    rows = pd.DataFrame({"row": np.arange(len(frame))})
    if "join_key" in frame.columns:
        rows["join_key"] = frame["join_key"].to_numpy()
    rows["input"] = frame[input_column].to_numpy()
    rows["label"] = frame[label_column].to_numpy()
    for candidate, produced in outputs.items():
        rows[f"output.{candidate}"] = produced
        for metric in metrics:
            rows[f"{metric.name}.{candidate}"] = metric.row_scores(counts[candidate][metric.name])
    return rows
