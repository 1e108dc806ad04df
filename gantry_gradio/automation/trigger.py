"""When an automation runs: every interval [start_on + k·interval, ...) once
it is over (plus a delay for records still on their way), up to an optional
end. Shared by every kind of action (curators, alerts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pandas as pd

from .._timestamps import to_epoch_us, to_timestamp

#: The shortest interval an automation runs on (an alert's `every` and
#: `window`, a curator's `curation_interval`). Each interval is a unit of work
#: for every scheduler of the store: `every="1ms"` would ask for a thousand
#: evaluations a second and leave every other rule waiting.
MIN_INTERVAL_US = 60 * 1_000_000


def duration_us(
    value: Any,
    *,
    what: str = "curation interval",
    allow_zero: bool = False,
    at_least_us: int = 0,
) -> int:
    """A timedelta, pandas offset string ("1D", "6h", "1 day") or seconds."""
    try:
        delta = (
            pd.Timedelta(value, unit="s")
            if isinstance(value, (int, float))
            else pd.Timedelta(value)
        )
        us = int(delta.total_seconds() * 1_000_000)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValueError(f"{what} {value!r} is not a duration, e.g. '1D': {exc}") from None
    if us < 0 or (us == 0 and not allow_zero):
        rule = "must not be negative" if allow_zero else "must be positive"
        raise ValueError(f"{what} {rule}, not {value!r}")
    if us < at_least_us:
        shortest = f"{at_least_us / 60_000_000:g} minute(s)"
        raise ValueError(f"{what} must be at least {shortest}, not {value!r}")
    return us


@dataclasses.dataclass(frozen=True)
class IntervalTrigger:
    """Fires `delay` after the end of every interval
    [start_on + k·interval, start_on + (k+1)·interval), up to `end_on` if given
    (e.g. curating a finished month of history). The delay lets records still
    on their way (in an app's spool) arrive before the interval is read."""

    start_on: Any
    interval: Any
    delay: Any = "5min"
    end_on: Any = None

    def __post_init__(self) -> None:
        """Refuse a bad trigger when it is made, not on a scheduler's pass."""
        to_epoch_us(self.start_on, what="start_on", allow_future=True)
        duration_us(self.interval, what="interval", at_least_us=MIN_INTERVAL_US)
        duration_us(self.delay, what="delay", allow_zero=True)
        if self.end_on is not None:
            to_epoch_us(self.end_on, what="end_on", allow_future=True)

    def intervals(self, now: Any, *, after_us: int | None = None) -> Iterator[tuple[int, int]]:
        """Every interval due by `now`, as (start_us, end_us), oldest first,
        generated as they are taken (years of intervals cost nothing until
        run); `after_us`: only those starting after it."""
        start = to_epoch_us(self.start_on, what="start_on", allow_future=True)
        width = duration_us(self.interval, what="interval")
        ready_at = to_epoch_us(now, what="now", allow_future=True) - duration_us(
            self.delay, what="delay", allow_zero=True
        )
        if self.end_on is not None:
            ready_at = min(ready_at, to_epoch_us(self.end_on, what="end_on", allow_future=True))
        first = 0 if after_us is None else max(0, (after_us - start) // width + 1)
        for k in range(first, max(0, (ready_at - start) // width)):
            yield start + k * width, start + (k + 1) * width

    def to_dict(self) -> dict[str, Any]:
        start = to_timestamp(to_epoch_us(self.start_on, what="start_on", allow_future=True))
        end = (
            None
            if self.end_on is None
            else to_timestamp(to_epoch_us(self.end_on, what="end_on", allow_future=True))
        )
        return {
            "start_on": start.isoformat(),
            "interval": pd.Timedelta(microseconds=duration_us(self.interval)).isoformat(),
            "delay": pd.Timedelta(
                microseconds=duration_us(self.delay, what="delay", allow_zero=True)
            ).isoformat(),
            "end_on": None if end is None else end.isoformat(),
        }
