"""Time-series charts that stay readable when a series has one point.

Gradio's LinePlot draws lines only, and a line needs two points: a series
with one point (the last 24 h in day buckets, a version shipped an hour ago)
draws nothing, and an empty axis reads as "no data". `time_series` asks for
markers instead whenever some series has fewer than two points. Gradio's
native plots draw lines or markers for the whole chart, so it is one or the
other: lines as soon as every series can draw one.

(Not a LinePlot subclass: Gradio writes a .pyi stub beside the module of
every component subclass, which fails in a read-only install.)"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd


def time_series(plot: gr.LinePlot, frame: pd.DataFrame, color: str | None = None) -> Any:
    """What `plot` shows for `frame` (series by `color`, else the plot's own):
    Gradio's own payload, with markers when sparse."""
    payload = plot.postprocess(frame)
    if payload is None:
        return None
    if is_sparse(frame, plot.x, plot.y, color or plot.color):
        payload = payload.model_copy(update={"mark": "point"})
    # A payload dict goes to the browser as it is (Gradio's postprocess passes dicts on).
    return payload.model_dump()


def is_sparse(frame: pd.DataFrame, x: str, y: str, color: str | None) -> bool:
    """Whether some series has fewer than two points to join with a line."""
    if frame.empty or x not in frame or y not in frame:
        return False
    drawn = frame[frame[y].notna()]
    if drawn.empty:
        return False
    if color and color in drawn:
        return bool((drawn.groupby(color)[x].nunique() < 2).any())
    return drawn[x].nunique() < 2
