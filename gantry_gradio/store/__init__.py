"""The record store: SQLAlchemy Core over SQLite (embedded) or PostgreSQL.

Readers use `RecordStore` (contract.py) over a `Selection`; `SqlRecordStore`
is its implementation here."""

from .catalog import Catalog, UnknownApplicationError
from .contract import BUCKETS, RecordStore, Selection
from .engine import StoreConfigError, create_store_engine
from .filters import Filter, FilterError
from .query import SqlRecordStore
from .views import View, ViewError, ViewStore
from .writer import RecordWriter, WriteResult

__all__ = [
    "BUCKETS",
    "Catalog",
    "Filter",
    "FilterError",
    "RecordStore",
    "RecordWriter",
    "Selection",
    "SqlRecordStore",
    "StoreConfigError",
    "UnknownApplicationError",
    "View",
    "ViewError",
    "ViewStore",
    "WriteResult",
    "create_store_engine",
]
