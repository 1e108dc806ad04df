"""What Gradio fills in itself: gr.Request, gr.OAuthToken, gr.OAuthProfile,
gr.Header, gr.EventData, gr.Progress, gr.Cache.

Why Gradio's own test: these carry secrets (an OAuth access token, a header
such as Authorization, the request's cookies and client address) and are
context, never model input. Asking gradio.utils the question Gradio's own event
runner asks keeps the answer right as Gradio evolves; the type check at call
time catches the same objects when an app passes them by hand."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from gradio.caching import Cache
from gradio.helpers import EventData, Progress
from gradio.oauth import OAuthProfile, OAuthToken
from gradio.route_utils import Header
from gradio.routes import Request
from gradio.utils import get_type_hints, is_special_typed_parameter

_INJECTED_TYPES = (Request, OAuthToken, OAuthProfile, Header, EventData, Progress, Cache)


def gradio_fills(fn: Callable) -> frozenset[str]:
    """Names of `fn`'s parameters Gradio fills in itself, by the rule of
    `gradio.utils.check_function_inputs_match`: typed as one of the injected
    kinds, or defaulting to a gr.Progress / gr.Cache."""
    hints = get_type_hints(fn)
    return frozenset(
        name
        for name, parameter in inspect.signature(fn).parameters.items()
        if is_special_typed_parameter(name, hints)
        or isinstance(parameter.default, (Progress, Cache))
    )


def is_injected_value(value: Any) -> bool:
    return isinstance(value, _INJECTED_TYPES)


def never_stored(fn: Callable) -> frozenset[str]:
    """The injected parameters an app may not tag even on purpose: all but a
    header (a string the app chose to read) and an OAuth profile (public
    account details); a token, a request or event data is never data to keep."""
    hints = get_type_hints(fn)
    taggable = (Header, Header | None, OAuthProfile, OAuthProfile | None)
    return frozenset(name for name in gradio_fills(fn) if hints.get(name) not in taggable)


def without_injected(value: Any, depth: int = 0) -> Any:
    """`value` with every injected object removed at any depth (a token an
    app put inside a dict or a list argument is still a token): dict entries
    and list items that are one are left out."""
    if depth > 64:
        return value  # deeper than any storable value: refused later as too deep
    if isinstance(value, dict):
        return {
            key: without_injected(item, depth + 1)
            for key, item in value.items()
            if not is_injected_value(item)
        }
    if isinstance(value, (list, tuple)):
        kept = [without_injected(item, depth + 1) for item in value if not is_injected_value(item)]
        return kept if isinstance(value, list) else tuple(kept)
    return value
