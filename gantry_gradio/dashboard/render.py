"""Panel numbers into what Gradio components show: Markdown and chart frames.

Kept apart from the layout and the handlers so each stays readable."""

from __future__ import annotations

from typing import Any

import pandas as pd


def distribution_bars(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    labels = {True: "accepted", False: "not accepted"}
    return frame.assign(bin=frame["bin_start"].round(4), accepted=frame["accepted"].map(labels))


def baseline_parts(comparison: Any, projection: str | None = None) -> tuple[str, pd.DataFrame]:
    """The distance numbers as text, and both histograms as shares for one
    chart; without a comparison, one line on why the chart is empty."""
    if comparison is None:
        if projection is None:
            return "No projection values yet: nothing to compare with a baseline.", pd.DataFrame()
        return (
            f"No baseline for `{projection}`: register one with "
            "`gantry.register_baseline(application, reference_data, projections=[...])`.",
            pd.DataFrame(),
        )
    text = (
        f"**vs baseline:** PSI {comparison.psi:.3f} · JS {comparison.js:.3f} · "
        f"KS {comparison.ks:.3f} (p={comparison.ks_pvalue:.3g})"
    )
    hist = comparison.histogram
    shares = [
        pd.DataFrame(
            {
                "bin": hist["bin_start"].round(4),
                "share": hist[source] / max(hist[source].sum(), 1),
                "source": source,
            }
        )
        for source in ("production", "baseline")
    ]
    return text, pd.concat(shares, ignore_index=True)


def headline_markdown(numbers: dict[str, Any]) -> str:
    def fmt(key: str, value: Any, signed: bool = False) -> str:
        if value is None:
            return "–"
        sign = "+" if signed else ""
        return f"{value:{sign}.1%}" if key == "acceptance" else f"{value:{sign},}"

    previous = numbers.get("previous") or {}
    cells = []
    for key, label in (
        ("predictions", "Predictions"),
        ("feedback", "Feedback"),
        ("acceptance", "Acceptance rate"),
        ("flags", "Flags"),
    ):
        change = ""
        if previous.get(key) is not None and numbers[key] is not None:
            change = f" ({fmt(key, numbers[key] - previous[key], signed=True)} vs previous)"
        cells.append(f"**{label}:** {fmt(key, numbers[key])}{change}")
    return " · ".join(cells)


def notes_markdown(notes: list[str]) -> str:
    return "\n".join(f"- {note}" for note in notes)
