"""`monitor`: log every call of a prediction function, without changing it.

The wrapper keeps the function's kind (sync, async, generator, async
generator) and, through `functools.wraps`, its signature, so Gradio builds the
same components and injects the same `gr.Request` as before. Logging happens
after the function returned and costs the caller one spool append; any failure
of monitoring is counted and logged, never raised into the app."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

from .. import default_client
from ..client import Client
from .components import NO_FILES, FileSlots, file_slots
from .context import session_and_user
from .injected import gradio_fills, is_injected_value, never_stored, without_injected
from .sessions import recent_predictions
from .uploads import uploads_in

#: Tags the wrapper writes itself: a tag input of the same name never overwrites
#: them (a textbox named "username" cannot pose as the logged-in user) and stays
#: an input under its parameter name instead.
_OWN_TAGS = frozenset({"username", "session", "latency_ms", "status", "error"})


class _Recorder:
    def __init__(
        self,
        application: str,
        fn: Callable,
        version: str | None,
        input_names: Sequence[str] | None,
        output_names: Sequence[str] | None,
        tags: dict | None,
        tag_inputs: Sequence[str],
        client: Client | None,
    ) -> None:
        self.application = application
        self.signature = inspect.signature(fn)
        self.tag_inputs = list(tag_inputs)
        secret = never_stored(fn) & set(self.tag_inputs)
        if secret:
            raise ValueError(
                f"tag_inputs names {sorted(secret)}, which Gradio fills with a request, an "
                "OAuth token, event data or a progress tracker; those are never stored. "
                "Tag a gr.Header or gr.OAuthProfile parameter, or a value derived from them."
            )
        injected = gradio_fills(fn)
        self.model_parameters = [
            name
            for name in self.signature.parameters
            if name not in injected and name not in self.tag_inputs
        ]
        self.version = version
        self.input_names = list(input_names) if input_names else None
        self.output_names = list(output_names) if output_names else None
        self.tags = dict(tags or {})
        self._client = client
        #: The function Gradio registers (set by `monitor`), to find its events.
        self.wrapper: Callable | None = None

    @property
    def client(self) -> Client:
        return self._client or default_client.get_client()  # per call: init() may come later

    def inputs(self, bound: dict[str, Any], files: FileSlots) -> dict[str, Any]:
        """Model inputs by parameter (or `input_names`); only values a file
        component handed over may become files, and nothing Gradio injects,
        however it got here, is ever one of them."""
        present = [
            name
            for name in self.model_parameters
            if name in bound and not is_injected_value(bound[name])
        ]
        values = [
            uploads_in(bound[name]) if name in files.parameters else bound[name] for name in present
        ]
        names = self.input_names or present
        if len(names) != len(values):
            names = [f"input_{i}" for i in range(len(values))]
        return dict(zip(names, values, strict=True))

    def tagged(self, bound: dict[str, Any], tags: dict[str, Any], inputs: dict[str, Any]) -> None:
        """Parameters named in `tag_inputs` become tags, unless the wrapper wrote
        that tag itself: then the value stays an input under its own name."""
        for name in self.tag_inputs:
            value = bound.get(name)
            if value is None or (isinstance(value, str) and not value) or _unstorable(value):
                continue
            if name in _OWN_TAGS and name in tags:
                inputs.setdefault(name, value)
            else:
                tags[name] = value

    def outputs(self, result: Any, files: FileSlots) -> dict[str, Any]:
        """Outputs by `output_names`; a value becomes a file only when the event
        shows it in a file component (an echo of the user's text stays text)."""
        names = self.output_names
        if names and len(names) == 1:
            values = [result]
        elif isinstance(result, tuple):
            values = list(result)
            if not names or len(names) != len(values):
                names = [f"output_{i}" for i in range(len(values))]
        else:
            values, names = [result], ["output"]
        shown = files.outputs if files.outputs and len(files.outputs) == len(values) else None
        return {
            name: uploads_in(value) if shown and shown[index] else value
            for index, (name, value) in enumerate(zip(names, values, strict=True))
            if not is_injected_value(value)
        }

    def record(
        self, args: tuple, kwargs: dict, result: Any, error: BaseException | None, started: float
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        client = self.client
        try:
            bound = self.signature.bind_partial(*args, **kwargs).arguments
            session, username = session_and_user()
            tags = {
                **self.tags,
                "latency_ms": round(latency_ms, 3),
                "status": "ok" if error is None else "error",
            }
            if username:
                tags["username"] = username
            if session:
                tags["session"] = session
            if error is not None:
                tags["error"] = f"{type(error).__name__}: {error}"[:2000]
            files = file_slots(self.wrapper) if self.wrapper else NO_FILES
            inputs = without_injected(self.inputs(bound, files))
            self.tagged(bound, tags, inputs)
            tags = without_injected(tags)
            outputs = None if error is not None else without_injected(self.outputs(result, files))
            join_key = self._log(client, inputs, outputs, tags)
            if session:
                text = result if isinstance(result, str) else None
                recent_predictions.remember(self.application, session, join_key, text)
        except Exception as exc:  # monitoring must never break the app
            client.absorb_failure(f"logging a call of {self.application!r}", exc)

    def _log(self, client: Client, inputs: dict, outputs: dict | None, tags: dict) -> str:
        try:
            return client.log_record(self.application, self.version, inputs, outputs, tags=tags)
        except (TypeError, ValueError) as exc:
            # Documented conversion: a value that cannot be stored is replaced
            # by its type's name (never its repr, which may print a secret),
            # and the record says why.
            client.absorb_failure("storing a value as it is", exc)
            tags = {**_placeholders(tags), "logging_error": str(exc)[:2000]}
            return client.log_record(
                self.application,
                self.version,
                _placeholders(inputs),
                _placeholders(outputs),
                tags=tags,
            )


def _unstorable(value: Any) -> bool:
    """A request, token or event object passed by hand to a tagged parameter; a
    header (str) or an OAuth profile (dict) named in tag_inputs is kept."""
    return is_injected_value(value) and not isinstance(value, (str, dict))


def _placeholders(value: Any, depth: int = 0) -> Any:
    """Plain JSON values kept; anything else, or past a sane depth, becomes
    "<not stored: its type>"."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if depth < 16 and isinstance(value, dict):
        return {
            key: _placeholders(item, depth + 1)
            for key, item in value.items()
            if isinstance(key, str)
        }
    if depth < 16 and isinstance(value, (list, tuple)):
        return [_placeholders(item, depth + 1) for item in value]
    return f"<not stored: {type(value).__module__}.{type(value).__qualname__}>"


def monitor(
    application: str,
    fn: Callable | None = None,
    *,
    version: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    tags: dict | None = None,
    tag_inputs: Sequence[str] = (),
    client: Client | None = None,
) -> Callable:
    """Wrap `fn` so each call is logged to `application`: inputs (by parameter
    name, or `input_names`), outputs (`output_names` for a tuple result),
    latency, errors (logged as a failed prediction, then re-raised), and the
    Gradio login and session. Parameters named in `tag_inputs` (say an account
    age) are context, not model input: they are logged as tags, except one
    named like a tag the wrapper writes (a "username" field when a user is
    logged in), which stays an input. What Gradio injects (gr.Request,
    gr.OAuthToken, gr.Header…) is never logged unless named in `tag_inputs`,
    and a token or request not even then. Use as `@monitor("app")` or
    `monitor("app", fn)`. Generators are logged once, with their final output."""
    if fn is None:
        return functools.partial(
            monitor,
            application,
            version=version,
            input_names=input_names,
            output_names=output_names,
            tags=tags,
            tag_inputs=tag_inputs,
            client=client,
        )
    recorder = _Recorder(
        application, fn, version, input_names, output_names, tags, tag_inputs, client
    )
    recorder.wrapper = _wrapped(fn, recorder)
    return recorder.wrapper


def _wrapped(fn: Callable, recorder: _Recorder) -> Callable:
    """`fn` wrapped to hand each call to `recorder`, in fn's own kind (async
    generator, generator, coroutine or plain function), so Gradio streams and
    awaits it as it would `fn`."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_generator(*args, **kwargs):
            started, last, error = time.perf_counter(), None, None
            try:
                async for last in fn(*args, **kwargs):  # noqa: B007 - keeps the final value
                    yield last
            except Exception as exc:
                error = exc
                raise
            finally:
                recorder.record(args, kwargs, last, error, started)

        wrapper: Callable = async_generator

    elif inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            started, last, error = time.perf_counter(), None, None
            try:
                for last in fn(*args, **kwargs):  # noqa: B007 - keeps the final value
                    yield last
            except Exception as exc:
                error = exc
                raise
            finally:
                recorder.record(args, kwargs, last, error, started)

        wrapper = generator

    elif inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coroutine(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = await fn(*args, **kwargs)
            except Exception as exc:
                recorder.record(args, kwargs, None, exc, started)
                raise
            recorder.record(args, kwargs, result, None, started)
            return result

        wrapper = coroutine

    else:

        @functools.wraps(fn)
        def function(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                recorder.record(args, kwargs, None, exc, started)
                raise
            recorder.record(args, kwargs, result, None, started)
            return result

        wrapper = function

    return wrapper
