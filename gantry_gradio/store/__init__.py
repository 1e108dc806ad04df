"""The record store: SQLAlchemy Core over SQLite (embedded) or PostgreSQL."""

from .catalog import Catalog, UnknownApplicationError
from .engine import StoreConfigError, create_store_engine
from .filters import Filter, FilterError
from .query import BUCKETS, RecordReader
from .views import View, ViewError, ViewStore
from .writer import RecordWriter, WriteResult

__all__ = [
    "BUCKETS",
    "Catalog",
    "Filter",
    "FilterError",
    "RecordReader",
    "RecordWriter",
    "StoreConfigError",
    "UnknownApplicationError",
    "View",
    "ViewError",
    "ViewStore",
    "WriteResult",
    "create_store_engine",
]
