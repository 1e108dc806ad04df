"""Firing and resolved, without flapping: an alert changes state only after
`needed` evaluations in a row disagree with its current state, so a metric
that hovers at its threshold notifies once, not on every evaluation."""

from __future__ import annotations

import dataclasses

OK, FIRING = "ok", "firing"


@dataclasses.dataclass(frozen=True)
class AlertState:
    state: str = OK
    #: evaluations in a row whose verdict disagrees with `state`
    streak: int = 0
    #: "fired" or "resolved" when this evaluation changed the state
    transition: str | None = None


def advance(previous: AlertState, breached: bool | None, needed: int) -> AlertState:
    """The state after one evaluation. `breached` None (too few records to
    judge) decides nothing: the streak neither grows nor resets."""
    if breached is None:
        return AlertState(previous.state, previous.streak)
    disagrees = breached != (previous.state == FIRING)
    if not disagrees:
        return AlertState(previous.state, 0)
    streak = previous.streak + 1
    if streak < needed:
        return AlertState(previous.state, streak)
    if previous.state == FIRING:
        return AlertState(OK, 0, "resolved")
    return AlertState(FIRING, 0, "fired")
