"""Structured filters, validated and turned into bound SQL parameters.

A filter is (field, operator, value). It may be written as a `Filter`, a tuple,
a dict or a string such as `"tags.account_age_days < 30"`; every form ends as a
SQLAlchemy expression whose value is a bound parameter, so a value like
`"x'; DROP TABLE t; --"` is only ever compared, never executed."""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from .._timestamps import to_epoch_us
from ..fields import MAX_EXACT_INT, clean_text
from .schema import Field

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
OPERATORS = (*COMPARISONS, "in", "not in", "contains", "is null", "is not null")
_UNARY = ("is null", "is not null")
_PATTERN = re.compile(
    r"^\s*(?P<field>[^\s<>=!]+)\s*"
    r"(?P<op>==|!=|<=|>=|<|>|not in\b|in\b|contains\b|is not null\b|is null\b)"
    r"\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)


#: The last instant pandas can represent (2262-04-11): a bound beyond it could
#: not be shown, and SQLite cannot even bind a number past 2**63.
MAX_TIME_US = int(pd.Timestamp.max.value // 1000)


def time_bound(value: Any, what: str) -> int:
    """A window bound or timestamp filter value as epoch microseconds, in the
    range a timestamp can take (1970 to 2262), or a clear ValueError."""
    try:
        us = to_epoch_us(value, what=what, allow_future=True)
    except OverflowError:  # round(inf)
        raise ValueError(f"{what} {value!r} is not a date/time") from None
    if us > MAX_TIME_US:
        raise ValueError(f"{what} {value!r} is after {pd.Timestamp.max.date()}")
    return us


class _ContainsText(sa.sql.functions.FunctionElement):
    """`a contains b`: a case-sensitive substring test, like Python's `in`, on
    every store. LIKE would not do: SQLite's LIKE ignores ASCII case and
    PostgreSQL's does not, so one filter would count differently per store."""

    type = sa.Boolean()
    inherit_cache = True


@compiles(_ContainsText)
def _strpos(element: _ContainsText, compiler: Any, **kw: Any) -> str:
    text, part = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(strpos({text}, {part}) > 0)"


@compiles(_ContainsText, "sqlite")
def _instr(element: _ContainsText, compiler: Any, **kw: Any) -> str:
    text, part = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(instr({text}, {part}) > 0)"


class FilterError(ValueError):
    """A filter that cannot be applied; the message says which part is wrong."""


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_filter(spec: Filter | tuple | list | dict | str) -> Filter:
    if isinstance(spec, Filter):
        candidate = spec
    elif isinstance(spec, dict):
        unknown = set(spec) - {"field", "op", "value"}
        if unknown or "field" not in spec or "op" not in spec:
            raise FilterError(f"filter dict needs keys field, op[, value]; got {sorted(spec)}")
        candidate = Filter(spec["field"], spec["op"], spec.get("value"))
    elif isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
        candidate = Filter(*spec)
    elif isinstance(spec, str):
        match = _PATTERN.match(spec)
        if not match:
            raise FilterError(
                f"cannot read filter {spec!r}; write it like 'tags.account_age_days < 30'"
            )
        candidate = Filter(match["field"], match["op"], _parse_value(match["value"]))
    else:
        raise FilterError(f"a filter is a Filter, tuple, dict or string, not {type(spec).__name__}")
    return _validated(candidate)


def _parse_value(text: str) -> Any:
    """JSON when it parses (numbers, true/false, quoted strings, lists); else the bare word."""
    if text == "":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _validated(f: Filter) -> Filter:
    if not isinstance(f.field, str) or not f.field:
        raise FilterError("a filter's field must be a non-empty string like 'tags.env'")
    op = f.op.lower().strip() if isinstance(f.op, str) else f.op
    if op == "=":
        op = "=="
    if op not in OPERATORS:
        raise FilterError(f"unknown operator {f.op!r}; use one of {', '.join(OPERATORS)}")
    if op in ("in", "not in") and not isinstance(f.value, (list, tuple)):
        raise FilterError(f"operator {op!r} needs a list value, got {f.value!r}")
    if op not in _UNARY and op not in ("in", "not in") and f.value is None:
        raise FilterError(f"filter on {f.field!r} with {op!r} needs a value (or use 'is null')")
    return Filter(f.field, op, list(f.value) if isinstance(f.value, tuple) else f.value)


_PYTHON_TYPES = {"boolean": (bool,), "number": (int, float), "text": (str,), "json": (str,)}


def _check_value(f: Filter, kind: str, value: Any) -> Any:
    if f.field == "timestamp":
        return time_bound(value, f"filter value for {f.field!r}")
    allowed = _PYTHON_TYPES[kind]
    ok = isinstance(value, allowed) and not (kind == "number" and isinstance(value, bool))
    if not ok:
        raise FilterError(f"field {f.field!r} holds {kind} values; {value!r} cannot be compared")
    if kind == "number":
        return _stored_number(f, value)
    # Stored text went through the same conversion (NUL, lone surrogates ->
    # U+FFFD); without it such a value would match nothing, or fail to encode.
    return clean_text(value) if isinstance(value, str) else value


def _stored_number(f: Filter, value: int | float) -> int | float:
    """A number as the store compares it: number fields are 64-bit floats, so
    an integer past 2**53 is compared as the float it would be stored as (no
    database can bind a 100-bit integer); infinities and NaN order differently
    on each database, so they are refused."""
    if isinstance(value, int) and abs(value) > MAX_EXACT_INT:
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
    if not math.isfinite(value):
        raise FilterError(
            f"filter value for {f.field!r} is {f.value!r}; compare with a finite number "
            f"between -{sys.float_info.max:.3g} and {sys.float_info.max:.3g}"
        )
    return value


def to_sql(f: Filter, column: sa.ColumnElement, kind: str) -> sa.ColumnElement[bool]:
    """Build the WHERE clause for one filter on its column."""
    if f.op == "is null":
        return column.is_(None)
    if f.op == "is not null":
        return column.is_not(None)
    if f.op in ("in", "not in"):
        values = [_check_value(f, kind, v) for v in f.value]
        return column.in_(values) if f.op == "in" else column.not_in(values)
    value = _check_value(f, kind, f.value)
    if f.op == "contains":
        if kind not in ("text", "json"):
            raise FilterError(f"'contains' works on text fields; {f.field!r} holds {kind}")
        return _ContainsText(column, sa.literal(value, sa.Text()))
    if kind == "boolean" and f.op not in ("==", "!="):
        raise FilterError(f"field {f.field!r} is boolean; compare it with == or !=")
    return {
        "==": column.__eq__,
        "!=": column.__ne__,
        "<": column.__lt__,
        "<=": column.__le__,
        ">": column.__gt__,
        ">=": column.__ge__,
    }[f.op](value)


def field_column(
    field_name: str, table: sa.Table, fields: dict[str, Field]
) -> tuple[sa.Column, str]:
    """The column and kind a filter or aggregation refers to."""
    base = {
        "timestamp": ("timestamp_us", "number"),
        "join_key": ("join_key", "text"),
        "version": ("version", "text"),
    }
    if field_name in base:
        name, kind = base[field_name]
        return table.c[name], kind
    if field_name not in fields:
        known = ", ".join(sorted(fields)) or "none yet"
        raise FilterError(f"unknown field {field_name!r}; known fields: {known}")
    field = fields[field_name]
    return table.c[field.column], field.kind
