"""The tab's charts as whole Vega-Lite specs, drawn by `gr.Plot`.

Why not Gradio's LinePlot and BarPlot: on a new value they swap the data into
the chart already drawn and keep its scales, sort order and titles, so a
histogram whose bins changed showed the old bins until a second refresh. A
`gr.Plot` draws each value from scratch, and the spec says everything the
reader needs: a UTC time axis over the selected window (the year on the labels
when it spans years), lines broken at empty buckets, percent for rates, counts
from zero, bin labels that do not run together.

Every mark carries a `description` with its exact value: screen readers read
it, and the browser tests compare it with the server's numbers."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pandas as pd
from gradio.components.plot import PlotData

from ..store.contract import BUCKETS

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
_HEIGHT = 240
#: Days without a record in a count chart are drawn as 0; past this many
#: buckets per series the chart shows the buckets that have records only.
MAX_FILLED_BUCKETS = 5_000
#: A bin chart with more bins than this labels each bin by its start only
#: ("50" for 50–99); the full range stays in each mark's description.
_FULL_LABELS = 8
_MS_PER_US = 1_000
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: Tick steps the time axis chooses from (d3's time intervals), finest first.
_TICKS = [
    ("hours", 1, 3600e3), ("hours", 3, 3 * 3600e3), ("hours", 6, 6 * 3600e3),
    ("hours", 12, 12 * 3600e3), ("day", 1, 86400e3), ("day", 2, 2 * 86400e3),
    ("day", 7, 7 * 86400e3), ("day", 14, 14 * 86400e3), ("month", 1, 30 * 86400e3),
    ("month", 3, 91 * 86400e3), ("month", 6, 182 * 86400e3), ("year", 1, 365 * 86400e3),
]
_MOST_TICKS = 8


def plot(spec: dict[str, Any]) -> PlotData:
    """`spec` as gr.Plot's value: SVG (so its marks are in the page), as wide
    as its panel, without the export menu."""
    whole = {
        "$schema": _SCHEMA,
        "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}},
        "width": "container",
        "height": _HEIGHT,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "background": "transparent",
        "padding": {"top": 28, "left": 4, "right": 4, "bottom": 4},  # room for the label
        **spec,
    }
    return PlotData(type="altair", plot=json.dumps(whole, default=str))


def empty(message: str) -> PlotData:
    """A chart with nothing to draw says why, where the chart would be."""
    return plot(
        {
            "data": {"values": [{"text": message}]},
            "mark": {"type": "text", "fontSize": 13, "color": "#888"},
            "encoding": {"text": {"field": "text"}},
            "height": 60,
        }
    )


def time_series(
    frame: pd.DataFrame,
    *,
    y: str,
    y_title: str,
    step_us: int,
    window: tuple[int | None, int | None],
    x: str = "start",
    series: str | None = None,
    percent: bool = False,
    counts: bool = False,
    message: str = "No data in this window.",
) -> PlotData:
    """A value per time step (`x`, every `step_us`), one line per value of `series`.

    `window` is the selection's (start, end) in µs (None where open): the axis
    covers it, padded by half a bucket so the first and last points show
    whole. Lines break where buckets are missing; `counts` draws missing
    buckets as 0 instead; `percent` shows a 0–1 rate as 0–100 %."""
    if frame.empty or y not in frame:
        return empty(message)
    # A few hundred points at most: plain Python is quicker than pandas here.
    width_us = step_us
    names = frame[series].astype(str).tolist() if series else [""] * len(frame)
    points: dict[tuple[str, int], float] = {}
    for name, at, value in zip(names, _epoch_us(frame[x]).tolist(), frame[y].tolist(), strict=True):
        if value is not None and value == value:  # NaN is no point
            points[(name, at)] = points.get((name, at), 0.0) + float(value)
    if not points:
        return empty(message)
    starts = [at for _, at in points]
    low = window[0] if window[0] is not None else min(starts)
    high = window[1] if window[1] is not None else max(starts) + width_us
    if counts:
        _zero_fill(points, low, high, width_us)
    records = _records(points, width_us, percent)
    domain = [(low - width_us // 2) // _MS_PER_US, (high - width_us // 2) // _MS_PER_US]
    encoding: dict[str, Any] = {
        "x": {
            "field": "start",
            "type": "temporal",
            "title": None,
            "scale": {"type": "utc", "domain": domain},
            "axis": _time_axis(domain),
        },
        "y": {
            "field": "value",
            "type": "quantitative",
            "title": y_title,
            "scale": {"domain": [0, 100]} if percent else {"zero": counts},
            "axis": {"tickMinStep": 1} if counts or percent else {},
        },
        "detail": {"field": "segment", "type": "nominal"},
        "description": {"field": "description"},
        "tooltip": [{"field": "description", "title": y_title}],
    }
    if series:
        encoding["color"] = {"field": "series", "type": "nominal", "title": series}
    return plot(
        {
            "data": {"values": records},
            "mark": {"type": "line", "point": True, "interpolate": "linear"},
            "encoding": encoding,
        }
    )


def _records(points: dict[tuple[str, int], float], width_us: int, percent: bool) -> list[dict]:
    """The chart's rows, series by series in time order, each with its line
    segment (a new one wherever the gap to the previous point is over one
    step) and its exact value as a description."""
    stamp = "%Y-%m-%d %H:%M" if width_us % BUCKETS["day"] else "%Y-%m-%d"
    records, previous, segment = [], None, 0
    for (name, at), value in sorted(points.items()):
        if previous is None or previous[0] != name:
            segment = 0
        elif at - previous[1] > width_us:
            segment += 1
        previous = (name, at)
        value = value * 100 if percent else value
        when = _UTC_EPOCH + dt.timedelta(microseconds=at)
        prefix = f"{name} · " if name else ""
        records.append(
            {
                "start": at // _MS_PER_US,
                "value": value,
                "series": name,
                "segment": segment,
                "description": f"{prefix}{when.strftime(stamp)}: {_number(value, percent)}",
            }
        )
    return records


def bars(
    frame: pd.DataFrame, *, title: str, order: list[str], message: str = "No values."
) -> PlotData:
    """A histogram: `frame` has bin (label), count and accepted (the colour),
    the bins in `order`. Many bins turn their labels to stay legible."""
    if frame.empty:
        return empty(message)
    data = frame[["bin", "count", "accepted"]].copy()
    data["description"] = data["bin"] + " · " + data["accepted"] + ": " + data["count"].map(
        lambda c: f"{int(c):,}"
    )
    return plot(
        {
            "data": {"values": data.to_dict(orient="records")},
            "mark": {"type": "bar"},
            "encoding": {
                "x": {"field": "bin", "type": "ordinal", "sort": order, **_bin_axis(title, order)},
                "y": {
                    "field": "count",
                    "type": "quantitative",
                    "title": "Records",
                    "stack": "zero",
                    "axis": {"tickMinStep": 1},
                },
                "color": {"field": "accepted", "type": "nominal", "title": None},
                "description": {"field": "description"},
                "tooltip": [{"field": "description", "title": title}],
            },
        }
    )


def shares(frame: pd.DataFrame, *, title: str, order: list[str], message: str) -> PlotData:
    """Two frequency polygons on shared bins (`frame`: bin, share 0–1,
    source): stacked bars would add the shares up and read as one."""
    if frame.empty:
        return empty(message)
    data = frame[["bin", "share", "source"]].copy()
    data["percent"] = data["share"] * 100
    data["description"] = (
        data["source"] + " · " + data["bin"] + ": " + data["percent"].map(lambda v: f"{v:.1f}%")
    )
    return plot(
        {
            "data": {"values": data.drop(columns="share").to_dict(orient="records")},
            "mark": {"type": "line", "point": True},
            "encoding": {
                "x": {"field": "bin", "type": "ordinal", "sort": order, **_bin_axis(title, order)},
                "y": {
                    "field": "percent",
                    "type": "quantitative",
                    "title": "Share of records (%)",
                },
                "color": {"field": "source", "type": "nominal", "title": None},
                "description": {"field": "description"},
                "tooltip": [{"field": "description", "title": title}],
            },
        }
    )


def _bin_axis(title: str, order: list[str]) -> dict[str, Any]:
    """Upright bin labels that never run together: with many bins each is
    labelled by its start, and labels that would still touch are hidden."""
    axis: dict[str, Any] = {"labelAngle": 0, "labelOverlap": "greedy"}
    if len(order) <= _FULL_LABELS:
        return {"title": title, "axis": axis}
    axis["labelExpr"] = "split(datum.label, '–')[0]"
    return {"title": f"{title} (bins labelled by their start)", "axis": axis}


def _zero_fill(points: dict[tuple[str, int], float], low: int, high: int, step: int) -> None:
    """Every step of [low, high) for every series, 0 where none was counted
    (on the grid of the points' own starts)."""
    anchor = min(at for _, at in points)
    first = anchor - ((anchor - low) // step) * step
    count = (high - first + step - 1) // step
    if count <= 0 or count > MAX_FILLED_BUCKETS:
        return
    for name in {name for name, _ in points}:
        for index in range(count):
            points.setdefault((name, first + index * step), 0.0)


def _time_axis(domain_ms: list[int]) -> dict[str, Any]:
    """Ticks at whole hours, days, months or years (at most ~8), labelled with
    the year whenever the axis spans more than one."""
    low, high = domain_ms
    span = max(high - low, 1)
    interval, step = next(
        ((unit, k) for unit, k, ms in _TICKS if span / ms <= _MOST_TICKS), ("year", 1)
    )
    if interval == "year":
        step = max(1, math.ceil(span / (365 * 86400e3) / _MOST_TICKS))
    years = pd.to_datetime([low, high], unit="ms", utc=True).year
    several_years = years[0] != years[1]
    formats = {
        "hours": "%b %d %H:%M",
        "day": "%b %d",
        "month": "%b %Y",
        "year": "%Y",
    }
    label = formats[interval]
    if several_years and interval in ("hours", "day"):
        label = "%b %d, %Y"
    return {
        "format": label,  # applied in UTC: the scale is a utc scale
        "tickCount": {"interval": interval, "step": step},
        "labelOverlap": True,
        "labelFlush": True,
    }


def _epoch_us(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values, utc=True)
    return (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)


def _number(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.1f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"
