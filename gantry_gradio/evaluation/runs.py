"""Evaluation runs in the store: the run's tables in one row of
`gantry_evaluation_runs` (what the tab lists and shows), and every (row,
candidate) as a record of `evaluation_application(application)` with the
run, candidate and row as tags and the per-row scores as feedback."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from .._timestamps import to_epoch_us, to_timestamp
from ..datasets.registry import current_user
from ..ingest.join_key import JoinKey
from ..store.schema import evaluation_runs
from .result import Evaluation, evaluation_application

if TYPE_CHECKING:
    from ..handle import ClientHandle

_TABLES = ("table", "differences", "slices", "disagreements")


class EvaluationNotFound(LookupError):
    """No run with that id or name."""


def save_run(client: ClientHandle, run: Evaluation) -> None:
    client.catalog.ensure_tables()
    summary = {name: getattr(run, name).to_json(orient="table", index=False) for name in _TABLES}
    summary["seconds"] = run.seconds
    with client.engine.begin() as conn:
        conn.execute(
            evaluation_runs.insert().values(
                run_id=run.run_id,
                name=run.name,
                application=run.application,
                dataset=run.dataset,
                dataset_version=run.dataset_version,
                split=run.split,
                candidates=json.dumps(run.candidates),
                metrics=json.dumps(run.metrics),
                rows=run.row_count,
                summary=json.dumps(summary),
                created_at_us=to_epoch_us(run.created_at),
                created_by=current_user(),
            )
        )


def log_rows(client: ClientHandle, run: Evaluation) -> None:
    """One record per (row, candidate); its join key is a hash of the three,
    so the same run logged twice stays one record each."""
    rows = run.rows
    for candidate in run.candidates:
        scores = rows[[f"{m}.{candidate}" for m in run.metrics]].set_axis(run.metrics, axis=1)
        tags = [
            {"run": run.run_id, "candidate": candidate, "row": int(i), "split": run.split}
            | ({"source_join_key": k} if k is not None else {})
            for i, k in zip(rows["row"], rows.get("join_key", [None] * len(rows)), strict=True)
        ]
        client.log_records(
            evaluation_application(run.application),
            version=candidate,
            inputs=[
                {"text": i, "label": label}
                for i, label in zip(rows["input"], rows["label"], strict=True)
            ],
            outputs=[{"output": o} for o in rows[f"output.{candidate}"]],
            feedbacks=scores.astype(float).to_dict("records"),
            join_keys=[
                JoinKey.from_dict({"run": run.run_id, "candidate": candidate, "row": int(i)})
                for i in rows["row"]
            ],
            tags=tags,
            timestamps=[run.created_at] * len(rows),
        )


def list_runs(client: ClientHandle, application: str | None = None) -> pd.DataFrame:
    """Newest first: run_id, name, application, dataset, split, candidates,
    metrics, rows, created_at, created_by."""
    client.catalog.ensure_tables()
    columns = [c for c in evaluation_runs.c if c.name != "summary"]
    stmt = sa.select(*columns).order_by(evaluation_runs.c.created_at_us.desc())
    if application is not None:
        stmt = stmt.where(evaluation_runs.c.application == application)
    with client.engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).fetchall(), columns=[c.name for c in columns])
    frame["created_at"] = pd.to_datetime(frame.pop("created_at_us"), unit="us", utc=True)
    for name in ("candidates", "metrics"):
        frame[name] = frame[name].map(json.loads)
    return frame


def get_run(client: ClientHandle, run: str, application: str | None = None) -> Evaluation:
    """A run by id, or the newest run of that name (of `application` when given)."""
    client.catalog.ensure_tables()
    runs = evaluation_runs.c
    stmt = sa.select(evaluation_runs).where(sa.or_(runs.run_id == run, runs.name == run))
    if application is not None:
        stmt = stmt.where(runs.application == application)
    with client.engine.connect() as conn:
        row = conn.execute(stmt.order_by(runs.created_at_us.desc()).limit(1)).first()
    if row is None:
        raise EvaluationNotFound(f"no evaluation run {run!r}")
    summary = json.loads(row.summary)
    tables = {n: pd.read_json(io.StringIO(summary[n]), orient="table") for n in _TABLES}
    return Evaluation(
        run_id=row.run_id,
        name=row.name,
        application=row.application,
        dataset=row.dataset,
        dataset_version=row.dataset_version,
        split=row.split,
        candidates=json.loads(row.candidates),
        metrics=json.loads(row.metrics),
        row_count=row.rows,
        created_at=to_timestamp(row.created_at_us),
        seconds=summary.get("seconds", {}),
        **tables,
    )
