"""Which of a monitored function's values came from, or go to, file components.

Why: the only values that may be read as files are those a file component
handed over (gr.Image, gr.File, gr.Audio, gr.Gallery…: components whose data
model carries Gradio's FileData). A gr.Textbox value that names a file in the
upload folder, say another user's upload, is text the user typed and stays text.
The components are read from the events of the running Blocks that call the
wrapper itself, through the parameter names Gradio computed for each input."""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradio.context import LocalContext
from gradio.data_classes import FileData
from pydantic import BaseModel


@dataclass(frozen=True)
class FileSlots:
    """Parameter names filled by file components, and for each output component
    whether it shows files (None when the events disagree on the outputs)."""

    parameters: frozenset[str]
    outputs: tuple[bool, ...] | None


NO_FILES = FileSlots(frozenset(), None)


def takes_files(component: Any) -> bool:
    model = getattr(component, "data_model", None)
    return model is not None and _carries_files(model)


@functools.lru_cache(maxsize=256)
def _carries_files(model: Any) -> bool:
    return _mentions_file_data(model, set())


def _mentions_file_data(annotation: Any, seen: set[type]) -> bool:
    """FileData itself, a model shaped like it (ImageData: path + meta), or a model
    with such a field anywhere inside (GalleryData, MultimodalData…)."""
    if isinstance(annotation, type):
        if not issubclass(annotation, BaseModel) or annotation in seen:
            return False
        seen.add(annotation)
        fields = annotation.model_fields
        if issubclass(annotation, FileData) or {"path", "meta"} <= set(fields):
            return True
        return any(_mentions_file_data(f.annotation, seen) for f in fields.values())
    return any(_mentions_file_data(arg, seen) for arg in typing.get_args(annotation))


def _events_running(wrapper: Callable) -> list[Any]:
    config = LocalContext.blocks_config.get(None)
    if config is None:
        config = getattr(LocalContext.blocks.get(None), "default_config", None)
    fns = getattr(config, "fns", None) or {}
    return [block_fn for block_fn in fns.values() if block_fn.fn is wrapper]


def file_slots(wrapper: Callable) -> FileSlots:
    """What the events running `wrapper` agree on: a parameter counts as a file
    only if every such event fills it from a file component. Called outside an
    event of its own (by hand, from another handler), nothing is a file."""
    events = _events_running(wrapper)
    if not events:
        return NO_FILES
    parameters: frozenset[str] | None = None
    outputs: set[tuple[bool, ...]] = set()
    for event in events:
        names = event.input_parameter_names or []
        if event.inputs_as_dict or len(names) != len(event.inputs):
            return NO_FILES
        pairs = zip(names, event.inputs, strict=True)
        here = frozenset(name for name, component in pairs if name and takes_files(component))
        parameters = here if parameters is None else parameters & here
        outputs.add(tuple(takes_files(c) for c in event.outputs))
    return FileSlots(parameters or frozenset(), outputs.pop() if len(outputs) == 1 else None)
