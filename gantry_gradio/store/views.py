"""Saved views: a named time window plus filters, shared by everyone reading a store."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from .._timestamps import now_us, to_timestamp
from . import schema
from .catalog import Catalog
from .filters import Filter, parse_filter, time_bound

MAX_VIEW_NAME = 200


class ViewError(ValueError):
    """A view that cannot be created or found."""


@dataclass(frozen=True)
class View:
    application: str
    name: str
    start_time: pd.Timestamp | None
    end_time: pd.Timestamp | None
    filters: list[Filter] = field(default_factory=list)


def _bound(value: Any, what: str) -> int | None:
    return None if value is None else time_bound(value, what)


def check_view_name(name: Any) -> str:
    """A view name is shown in the tab and stored as text on both databases:
    1 to 200 characters, not only spaces, without control characters (NUL is
    refused by PostgreSQL, newlines break the picker) or lone surrogates
    (which no database encoding can hold)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_VIEW_NAME:
        raise ViewError(f"a view name is a non-empty string of at most {MAX_VIEW_NAME} characters")
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise ViewError(
            f"a view name cannot hold the control character or surrogate U+{ord(bad):04X}"
        )
    return name


class ViewStore:
    def __init__(self, engine: sa.Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog

    def create(
        self,
        application: str,
        name: str,
        start_time: Any = None,
        end_time: Any = None,
        filters: list | None = None,
        *,
        replace: bool = False,
    ) -> View:
        check_view_name(name)
        parsed = [parse_filter(f) for f in filters or []]
        start_us = _bound(start_time, "start_time")
        end_us = _bound(end_time, "end_time")
        if start_us is not None and end_us is not None and end_us <= start_us:
            raise ViewError(f"view {name!r}: end_time must be after start_time")
        app_id = self.catalog.application_id(application)
        row = {
            "application_id": app_id,
            "name": name,
            "start_us": start_us,
            "end_us": end_us,
            "filters": json.dumps([f.to_dict() for f in parsed]),
            "created_at_us": now_us(),
        }
        table = schema.views
        try:
            with self.engine.begin() as conn:
                if replace:
                    conn.execute(
                        table.delete().where(table.c.application_id == app_id, table.c.name == name)
                    )
                conn.execute(table.insert().values(**row))
        except IntegrityError:
            raise ViewError(
                f"view {name!r} exists for {application!r}; pass replace=True to overwrite it"
            ) from None
        except DBAPIError as exc:
            if "readonly" not in str(exc.orig).replace("-", "").replace(" ", "").lower():
                raise
            raise ViewError(
                "this store is opened read-only (a read-only file or replica): views cannot "
                "be saved here; save them where the store is writable"
            ) from None
        return self.get(application, name)

    def get(self, application: str, name: str) -> View:
        check_view_name(name)
        app_id = self.catalog.application_id(application)
        table = schema.views
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(table).where(table.c.application_id == app_id, table.c.name == name)
            ).first()
        if row is None:
            names = ", ".join(v.name for v in self.list(application)) or "none"
            raise ViewError(f"no view {name!r} for {application!r} (views: {names})")
        return _to_view(application, row)

    def list(self, application: str) -> list[View]:
        app_id = self.catalog.application_id(application)
        table = schema.views
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(table).where(table.c.application_id == app_id).order_by(table.c.name)
            )
            return [_to_view(application, row) for row in rows]

    def delete(self, application: str, name: str) -> None:
        check_view_name(name)
        app_id = self.catalog.application_id(application)
        table = schema.views
        with self.engine.begin() as conn:
            deleted = conn.execute(
                table.delete().where(table.c.application_id == app_id, table.c.name == name)
            ).rowcount
        if not deleted:
            raise ViewError(f"no view {name!r} for {application!r}")


def _to_view(application: str, row: sa.Row) -> View:
    return View(
        application=application,
        name=row.name,
        start_time=None if row.start_us is None else to_timestamp(row.start_us),
        end_time=None if row.end_us is None else to_timestamp(row.end_us),
        filters=[parse_filter(f) for f in json.loads(row.filters)],
    )
