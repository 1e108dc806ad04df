"""The projection registry.

A projection reads one field (or an input/output pair of fields) of each record
and returns named numbers for it, in batches: models such as Detoxify are many
times faster on a batch than one text at a time. Values land in the record as
`projections.<name>.<value>` columns, so every query, filter and histogram
works on them like on any other field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

BatchFunction = Callable[[list[Any]], list[dict[str, float | None]]]


class ProjectionError(ValueError):
    """A projection that cannot be registered or found."""


@dataclass(frozen=True)
class Projection:
    name: str
    fields: tuple[str, ...]  # one field, or (input field, output field) for pairs
    values: tuple[str, ...]
    fn: BatchFunction

    def column(self, value: str) -> str:
        return f"projections.{self.name}.{value}"

    @property
    def status_column(self) -> str:
        """'ok', or 'skipped: <why>' when the record had nothing to project."""
        return f"projections.{self.name}.status"


_registry: dict[str, Projection] = {}
_factories: dict[str, Callable[..., Projection]] = {}


def register_projection(
    name: str,
    fields: str | Sequence[str],
    values: Sequence[str],
    fn: BatchFunction | None = None,
    *,
    replace: bool = False,
) -> Any:
    """Register `fn(batch) -> [{value: number}, ...]` as projection `name`, as a
    call or, without `fn`, as a decorator. `fields` is a dotted field such as
    "outputs.inference", or two of them for input→output projections."""
    if fn is None:
        return lambda function: register_projection(name, fields, values, function, replace=replace)
    if not name.isidentifier():
        raise ProjectionError(f"projection name {name!r} must be an identifier like 'entropy'")
    if name in _registry and not replace:
        raise ProjectionError(f"projection {name!r} is registered already; pass replace=True")
    field_tuple = (fields,) if isinstance(fields, str) else tuple(fields)
    if not 1 <= len(field_tuple) <= 2 or not all(f.count(".") >= 1 for f in field_tuple):
        raise ProjectionError(f"fields must be one or two dotted fields, got {fields!r}")
    if not values or "status" in values:
        raise ProjectionError("values must name at least one number (and not 'status')")
    projection = Projection(name, field_tuple, tuple(values), fn)
    _registry[name] = projection
    return fn


def register_factory(name: str, factory: Callable[..., Projection]) -> None:
    """Built-ins that need settings (a model path, the fields) are made on demand."""
    _factories[name] = factory


def resolve(spec: str | Projection | dict[str, Any]) -> Projection:
    """A registered name, a Projection, or {"name": built-in, **settings}."""
    if isinstance(spec, Projection):
        return spec
    if isinstance(spec, dict):
        settings = dict(spec)
        name = settings.pop("name")
        if name not in _factories:
            raise ProjectionError(
                f"no built-in projection {name!r}; built-ins: {sorted(_factories)}"
            )
        return _factories[name](**settings)
    if spec in _registry:
        return _registry[spec]
    if spec in _factories:
        return _factories[spec]()
    known = sorted(set(_registry) | set(_factories))
    raise ProjectionError(f"unknown projection {spec!r}; known: {', '.join(known)}")
