"""The tab's Evaluations section: the application's evaluation runs, the
chosen run's comparison (each metric per candidate with its 95% interval,
the paired differences and their verdicts), a bar chart of a metric per
slice with the intervals drawn, and the rows where the candidates differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd
from gradio.components.plot import PlotData

from . import vega

if TYPE_CHECKING:
    from ..client import Client
    from ..evaluation import Evaluation

_SIGNIFICANT = 4


@dataclass
class EvaluationsPanel:
    accordion: gr.Accordion
    run: gr.Dropdown
    metric: gr.Dropdown
    status: gr.Markdown
    table: gr.Dataframe
    differences: gr.Dataframe
    slices: gr.Plot
    disagreements: gr.Dataframe

    def outputs(self) -> list:
        return [
            self.run,
            self.metric,
            self.status,
            self.table,
            self.differences,
            self.slices,
            self.disagreements,
        ]


def build(chart) -> EvaluationsPanel:
    """The section's components (call inside a `gr.Blocks`); `chart` makes
    a plot styled as the tab's other charts."""
    with gr.Accordion("Evaluations", open=False) as accordion:
        with gr.Row():
            run = gr.Dropdown(label="Evaluation run", scale=3)
            metric = gr.Dropdown(label="Metric per slice")
        status = gr.Markdown()
        table = gr.Dataframe(label="Each metric per candidate (95% bootstrap interval)")
        differences = gr.Dataframe(label="Paired differences on the same rows")
        slices = chart("Metric per slice")
        disagreements = gr.Dataframe(
            label="Rows where the candidates' outputs differ (scores on the chosen metric)",
            wrap=True,
            max_height=500,
        )
    return EvaluationsPanel(
        accordion, run, metric, status, table, differences, slices, disagreements
    )


def shown(run: Evaluation, metric: str | None) -> list:
    """The panel's outputs (run and metric unchanged) for one run."""
    metric = metric if metric in run.metrics else run.metrics[0]
    about = (
        f"**{run.name}**: {', '.join(run.candidates)} on {run.row_count:,} rows"
        + (f" of `{run.dataset}` ({run.split})" if run.dataset else "")
        + f"; the first candidate is the baseline. Run `{run.run_id}`."
    )
    return [
        gr.update(),
        gr.update(choices=run.metrics, value=metric),
        about,
        comparison(run),
        differences(run),
        slice_chart(run, metric),
        disagreement_rows(run, metric),
    ]


def run_choices(client: Client, application: str) -> list[tuple[str, str]]:
    """(label, run id) of the application's runs, newest first."""
    runs = client.list_evaluations(application)
    return [
        (f"{r.name} · {r.created_at:%Y-%m-%d %H:%M} UTC · {r.rows:,} rows", r.run_id)
        for r in runs.itertuples()
    ]


def _number(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.{_SIGNIFICANT}g}"


def _interval(low: float, high: float) -> str:
    return "" if pd.isna(low) or pd.isna(high) else f"[{_number(low)}, {_number(high)}]"


def comparison(run: Evaluation) -> pd.DataFrame:
    table = run.table
    return pd.DataFrame(
        {
            "metric": table["metric"],
            "candidate": table["candidate"],
            "value": table["value"].map(_number),
            "95% interval": [
                _interval(a, b) for a, b in zip(table["low"], table["high"], strict=True)
            ],
            "rows": table["rows"],
        }
    )


def differences(run: Evaluation) -> pd.DataFrame:
    rows = run.differences
    if rows.empty:
        return pd.DataFrame(
            columns=["metric", "comparison", "difference", "95% interval", "verdict"]
        )
    return pd.DataFrame(
        {
            "metric": rows["metric"],
            "comparison": rows["candidate"] + " − " + rows["baseline"],
            "difference": rows["difference"].map(_number),
            "95% interval": [
                _interval(a, b) for a, b in zip(rows["low"], rows["high"], strict=True)
            ],
            "verdict": rows["verdict"],
        }
    )


def disagreement_rows(run: Evaluation, metric: str) -> pd.DataFrame:
    """Input, label, each candidate's output and its score on `metric`:
    enough to see why they differ (every score is in the run's records)."""
    rows = run.disagreements
    shown = ["row", "input", "label"]
    for candidate in run.candidates:
        shown += [f"output.{candidate}", f"{metric}.{candidate}"]
    table = rows[[c for c in shown if c in rows.columns]].copy()
    for candidate in run.candidates:
        column = f"{metric}.{candidate}"
        if column in table.columns:
            table[column] = table[column].map(_number)
    return table


def slice_chart(run: Evaluation, metric: str | None) -> PlotData:
    """`metric` per slice value and candidate, each bar with its interval."""
    slices = run.slices
    if slices.empty or metric is None:
        return vega.empty("This run was not sliced (evaluate(..., slices=[...])).")
    rows = slices[(slices["kind"] == "metric") & (slices["metric"] == metric)].copy()
    if rows.empty:
        return vega.empty(f"No slices of {metric}.")
    rows["group"] = rows["slice"] + " = " + rows["slice_value"].astype(str)
    rows["description"] = [
        f"{g} · {c}: {_number(v)} {_interval(lo, hi)} ({n:,} rows)"
        for g, c, v, lo, hi, n in zip(
            rows["group"],
            rows["candidate"],
            rows["value"],
            rows["low"],
            rows["high"],
            rows["rows"],
            strict=True,
        )
    ]
    data = rows[["group", "candidate", "value", "low", "high", "description"]]
    x = {"field": "group", "type": "nominal", "title": None, "axis": {"labelAngle": 0}}
    offset = {"field": "candidate", "type": "nominal"}
    return vega.plot(
        {
            "data": {"values": data.to_dict(orient="records")},
            "layer": [
                {
                    "mark": {"type": "bar"},
                    "encoding": {
                        "x": x,
                        "xOffset": offset,
                        "y": {"field": "value", "type": "quantitative", "title": metric},
                        "color": {"field": "candidate", "type": "nominal", "title": None},
                        "description": {"field": "description"},
                        "tooltip": [{"field": "description", "title": metric}],
                    },
                },
                {
                    "mark": {"type": "rule", "color": "#333"},
                    "encoding": {
                        "x": x,
                        "xOffset": offset,
                        "y": {"field": "low", "type": "quantitative"},
                        "y2": {"field": "high"},
                    },
                },
            ],
        }
    )
