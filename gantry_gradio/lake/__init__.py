"""The Parquet lake: completed days of each application exported from the SQL
store (lake/export.py), read back with DuckDB together with the SQL tail
(lake/store.py), kept current by a background pass (lake/scheduler.py); or
read by Spark with the same statements (lake/spark.py)."""

from .export import ExportReport, LakeExporter
from .scheduler import LakeExportScheduler
from .spark import SparkRecordStore
from .store import LakeRecordStore

__all__ = [
    "ExportReport",
    "LakeExportScheduler",
    "LakeExporter",
    "LakeRecordStore",
    "SparkRecordStore",
]
