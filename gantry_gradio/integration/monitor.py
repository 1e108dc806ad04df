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

import gradio as gr

from ..client import Client
from .context import session_and_user, uploads_in
from .sessions import recent_predictions

_INJECTED_TYPES = ("Request", "EventData", "Progress", "OAuthProfile", "OAuthToken")
#: Values Gradio injects, recognised by type too (annotations can hide them).
_CONTEXT_VALUES = (gr.Request, gr.EventData, gr.Progress)


def _is_injected(parameter: inspect.Parameter) -> bool:
    """Gradio fills parameters typed gr.Request, gr.*Data, gr.Progress itself:
    they are context, not model inputs."""
    annotation = parameter.annotation
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return (
        any(str(name).endswith(t) for t in _INJECTED_TYPES)
        or type(parameter.default).__name__ == "Progress"
    )


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
        self.model_parameters = [
            p.name for p in self.signature.parameters.values() if not _is_injected(p)
        ]
        self.version = version
        self.input_names = list(input_names) if input_names else None
        self.output_names = list(output_names) if output_names else None
        self.tags = dict(tags or {})
        self.tag_inputs = list(tag_inputs)
        self._client = client

    @property
    def client(self) -> Client:
        from .. import get_client  # resolved per call: init() may come after decorating

        return self._client or get_client()

    def inputs(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        bound = self.signature.bind_partial(*args, **kwargs).arguments
        present = [
            name
            for name in self.model_parameters
            if name in bound and not isinstance(bound[name], _CONTEXT_VALUES)
        ]
        values = [bound[name] for name in present]
        names = self.input_names or present
        if len(names) != len(values):
            names = [f"input_{i}" for i in range(len(values))]
        return {name: uploads_in(value) for name, value in zip(names, values, strict=True)}

    def outputs(self, result: Any) -> dict[str, Any]:
        names = self.output_names
        if names and len(names) == 1:
            values = [result]
        elif isinstance(result, tuple):
            values = list(result)
            if not names or len(names) != len(values):
                names = [f"output_{i}" for i in range(len(values))]
        else:
            values, names = [result], ["output"]
        return {name: uploads_in(value) for name, value in zip(names, values, strict=True)}

    def record(
        self, args: tuple, kwargs: dict, result: Any, error: BaseException | None, started: float
    ) -> None:
        latency_ms = (time.perf_counter() - started) * 1000
        client = self.client
        try:
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
            inputs = self.inputs(args, kwargs)
            for name in self.tag_inputs:
                value = inputs.pop(name, None)
                if value not in (None, ""):
                    tags[name] = value
            outputs = None if error is not None else self.outputs(result)
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
            # Documented conversion: values that cannot be stored are logged as
            # their repr, and the record says why.
            client.absorb_failure("storing a value as it is", exc)
            tags = {**tags, "logging_error": str(exc)[:2000]}
            return client.log_record(
                self.application, self.version, _printable(inputs), _printable(outputs), tags=tags
            )


def _printable(values: dict | None) -> dict | None:
    if values is None:
        return None
    plain = (str, int, float, bool, type(None))
    return {k: v if isinstance(v, plain) else repr(v)[:10_000] for k, v in values.items()}


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
    Gradio username and session. Parameters named in `tag_inputs` (say a
    username field, an account age) are context, not model input: they are
    logged as tags. Use as `@monitor("app")` or `monitor("app", fn)`.
    Generators are logged once, with their final output."""
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

        return async_generator

    if inspect.isgeneratorfunction(fn):

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

        return generator

    if inspect.iscoroutinefunction(fn):

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

        return coroutine

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

    return function
