"""The process's default client: the one `gantry.init()` configures and the
module-level functions, `monitor`, the flagging callback, the review tab and
`Automation.create()` use when no client is passed.

Why a module of its own, on a low floor: those users sit on every floor, and
none of them should import the package root (or `Client`, which imports
them) to find it. `Client` registers itself as the factory when it is
defined; this module only holds the instance."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .handle import ClientHandle

_default: ClientHandle | None = None
_lock = threading.Lock()
_factory: Callable[[], ClientHandle] | None = None


def set_factory(factory: Callable[[], ClientHandle]) -> None:
    """How a default client with the embedded defaults is made (by `Client`)."""
    global _factory
    _factory = factory


def replace(make: Callable[[], ClientHandle]) -> ClientHandle:
    """Close the current default client (it flushes first) and make the next,
    under one lock, so two `init()` calls never leave two clients running."""
    global _default
    with _lock:
        if _default is not None:
            _default.close()
        _default = make()
        return _default


def get_client() -> ClientHandle:
    """The default client, made with the defaults if `init()` was not called
    (or the last one was closed)."""
    global _default
    with _lock:
        if _default is None or _default.closed:
            if _factory is None:  # only if gantry_gradio.client was never imported
                raise RuntimeError("import gantry_gradio before asking for its default client")
            _default = _factory()
        return _default
