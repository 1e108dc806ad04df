"""Panel numbers into what Gradio components show: Markdown and chart frames.

Kept apart from the layout and the handlers so each stays readable."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd


def distribution_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Bars keyed by their bin's label (a category axis, so each bar is as wide
    as its slot), coloured by accepted / not accepted, or one colour for
    every record while there is no true/false feedback."""
    if frame.empty:
        return pd.DataFrame(columns=["bin", "count", "accepted"])
    labels = {True: "accepted", False: "not accepted"}
    accepted = frame["accepted"].map(lambda value: labels.get(value, "all records"))
    return pd.DataFrame({"bin": frame["label"], "count": frame["count"], "accepted": accepted})


def bin_order(frame: pd.DataFrame) -> list[str]:
    """The bins' labels in value order, for the chart's category axis (which
    would otherwise sort "100–199" before "20–39")."""
    return [] if frame.empty else list(dict.fromkeys(frame.sort_values("bin_start")["label"]))


def baseline_text(comparison: Any, projection: str | None = None) -> str:
    """The distance numbers, or one line on why there is no comparison."""
    if comparison is None:
        if projection is None:
            return "No projection values yet: nothing to compare with a baseline."
        return (
            f"No baseline for `{projection}`: register one with "
            "`gantry.register_baseline(application, reference_data, projections=[...])`."
        )
    return (
        f"**vs baseline:** PSI {comparison.psi:.3f} · JS {comparison.js:.3f} · "
        f"KS {comparison.ks:.3f} (p={comparison.ks_pvalue:.3g}); the distances use "
        f"{len(comparison.histogram)} equal-width bins over both samples' range"
    )


def headline_markdown(numbers: dict[str, Any], by_version: list[dict[str, Any]] = ()) -> str:
    """The window's numbers with their change vs the previous period (of the
    same length, just before), and a second line with acceptance per model
    version when there are several. Acceptance is a percentage, so its change
    is in percentage points; a previous period without predictions has
    nothing to compare with, and says so once."""
    previous = numbers.get("previous")
    cells = []
    for key, label in (
        ("predictions", "Predictions"),
        ("feedback", "Feedback"),
        ("acceptance", "Acceptance rate"),
        ("flags", "Flags"),
    ):
        change = ""
        if previous and previous["predictions"] and None not in (numbers[key], previous[key]):
            change = f" ({_change(key, numbers[key] - previous[key])} vs previous period)"
        cells.append(f"**{label}:** {_value(key, numbers[key])}{change}")
    text = " · ".join(cells)
    if previous is not None and not previous["predictions"]:
        text += " · no predictions in the previous period to compare with"
    if len(by_version) > 1:
        versions = " · ".join(
            f"{_code(row['value'])} {_value('acceptance', row['acceptance'])} "
            f"({row['predictions']:,} predictions)"
            for row in by_version
        )
        text += f"\n\n**Acceptance by version:** {versions}"
    return text


def window_markdown(window: tuple[int | None, int | None], bucket: str, source: str) -> str:
    """What the charts cover, said once above them: the window (and what set
    it: the time range, a view or the custom dates) and the bucket."""
    low, high = window
    if low is None or high is None:
        return f"**Window:** no records ({source})"
    start, end = (pd.Timestamp(v, unit="us", tz="UTC") for v in (low, high))
    return (
        f"**Window:** {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC ({source}) · "
        f"{bucket} buckets"
    )


def _value(key: str, value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.1%}" if key == "acceptance" else f"{value:,}"


def _change(key: str, difference: Any) -> str:
    if key == "acceptance":
        return f"{difference * 100:+.1f} points"
    return f"{difference:+,}"


def notes_markdown(notes: list[str]) -> str:
    return "\n".join(f"- {note}" for note in notes)


def _code(value: Any) -> str:
    """A logged value as inline code: fenced by more backticks than any run
    in it (CommonMark's rule), so it cannot end the code span early and turn
    the rest into Markdown (a link, say)."""
    text = str(value).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence, pad = "`" * (longest + 1), " " if longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"
