"""The result of one evaluation run, as `evaluate` returns it and as it is
read back from the store."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


def evaluation_application(application: str | None) -> str:
    """Where a run's rows are logged: beside the application they evaluate."""
    return f"{application}:evaluations" if application else "evaluations"


@dataclass
class Evaluation:
    """One run. `table`: each metric per candidate with its 95% interval;
    `differences`: each candidate minus the first, paired on the same rows;
    `slices`: both per slice value; `disagreements`: rows whose outputs differ;
    `rows`: every row's outputs and per-row scores (empty when loaded back:
    they are records of `evaluation_application(application)`, tag run)."""

    run_id: str
    name: str
    application: str | None
    dataset: str | None
    dataset_version: str | None
    split: str | None
    candidates: list[str]
    metrics: list[str]
    row_count: int
    table: pd.DataFrame
    differences: pd.DataFrame
    slices: pd.DataFrame
    disagreements: pd.DataFrame
    created_at: pd.Timestamp
    seconds: dict[str, float] = field(default_factory=dict)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __str__(self) -> str:
        lines = [
            f"Evaluation {self.name!r} ({self.run_id}) on {self.row_count:,} rows"
            + (f" of {self.dataset} [{self.split}]" if self.dataset else ""),
            "",
            _text_table(self.table, ["metric", "candidate", "value", "low", "high"]),
        ]
        if not self.differences.empty:
            lines += [
                "",
                "Paired differences (candidate - baseline, same rows):",
                _text_table(
                    self.differences,
                    ["metric", "candidate", "baseline", "difference", "low", "high", "verdict"],
                ),
            ]
        lines += ["", f"{len(self.disagreements):,} rows where the candidates' outputs differ"]
        return "\n".join(lines)


def _text_table(frame: pd.DataFrame, columns: list[str]) -> str:
    return frame[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}")
