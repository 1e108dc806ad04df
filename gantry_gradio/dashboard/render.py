"""Panel numbers into what Gradio components show: Markdown and chart frames.

Kept apart from the layout and the handlers so each stays readable."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

#: Presigned S3 URLs open in the browser; local blob paths do not (a click on
#: the cell hands the file over instead, see tab.stored_file).
_LINKS = ("http://", "https://")


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
    # Bins neither side has (a whole-number field on fractional bins leaves
    # every other one empty) would draw a zigzag through zero: left out.
    hist = hist[(hist["production"] > 0) | (hist["baseline"] > 0)]
    labels = [f"{start:.4g}" for start in hist["bin_start"]]
    shares = [
        pd.DataFrame(
            {"bin": labels, "share": hist[source] / max(hist[source].sum(), 1), "source": source}
        )
        for source in ("production", "baseline")
    ]
    return text, pd.concat(shares, ignore_index=True)


def headline_markdown(numbers: dict[str, Any], by_version: list[dict[str, Any]] = ()) -> str:
    """The window's numbers with their change vs the previous period, and a
    second line with acceptance per model version when there are several."""

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
    text = " · ".join(cells)
    if len(by_version) > 1:
        versions = " · ".join(
            f"{_code(row['value'])} {fmt('acceptance', row['acceptance'])} "
            f"({row['predictions']:,} predictions)"
            for row in by_version
        )
        text += f"\n\n**Acceptance by version:** {versions}"
    return text


def rows_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows page with presigned links to stored files as Markdown links,
    and each column's datatype for the table."""
    if frame.empty:
        return frame, []
    shown = frame.copy()
    types = []
    for column in shown.columns:
        values = shown[column]
        links = values.map(lambda v: isinstance(v, str) and v.startswith(_LINKS))
        if links.any():
            shown[column] = [
                f"[open]({value})" if is_link else value
                for value, is_link in zip(values, links, strict=True)
            ]
            types.append("markdown")
        else:
            types.append("str")
    return shown, types


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
