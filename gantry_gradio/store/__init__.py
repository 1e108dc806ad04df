"""The record store: SQLAlchemy Core over SQLite (embedded) or PostgreSQL.

Readers use `RecordStore` (contract.py) over a `Selection`; `SqlRecordStore`
is its implementation here. Records are written by `ingest/` (its writer is
the last step of the write path); this package holds the schema they are
written into."""

from .catalog import Catalog, UnknownApplicationError
from .contract import BUCKETS, RecordStore, Selection
from .engine import StoreConfigError, create_store_engine
from .filters import Filter, FilterError
from .query import CompiledSelection, SqlRecordStore
from .views import View, ViewError, ViewStore

__all__ = [
    "BUCKETS",
    "Catalog",
    "CompiledSelection",
    "Filter",
    "FilterError",
    "RecordStore",
    "Selection",
    "SqlRecordStore",
    "StoreConfigError",
    "UnknownApplicationError",
    "View",
    "ViewError",
    "ViewStore",
    "create_store_engine",
]
