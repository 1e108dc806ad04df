"""gantry_gradio: self-hosted monitoring for Gradio apps.

    import gantry_gradio as gantry
    gantry.init()                       # SQLite + ./gantry_data/blobs by default
    key = gantry.log_record("gec-demo-app", inputs={"text": t}, outputs={"inference": out})
    gantry.log_record("gec-demo-app", feedback={"accepted": True}, join_key=key)
    gantry.query("gec-demo-app")        # pandas, one row per prediction

The module-level functions use one default client, made by `init()` (or on first
use with the defaults); each has the signature and meaning of the `Client`
method of the same name. Everything not listed in `__all__` is internal."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from . import default_client
from .alerts import AlertRule
from .automation import Automation, AutomationScheduler, IntervalTrigger
from .blobs import BlobStoreError
from .client import Client
from .curators import BoundedRangeCurator, StratifiedCurator, UniformCurator
from .datasets import Dataset, DatasetError
from .evaluation import Evaluation, Metric
from .ingest.join_key import JoinKey
from .ingest.spool import SpoolError
from .ingest.values import File
from .lake import ExportReport
from .lake.forget import DeletionReport
from .lake.importer import ImportReport
from .projections import Projection, ProjectionError, register_projection
from .review import ReviewError, ReviewQueue
from .store import (
    Filter,
    FilterError,
    StoreConfigError,
    UnknownApplicationError,
    View,
    ViewError,
)

__all__ = [
    "AlertRule",
    "Automation",
    "AutomationScheduler",
    "BlobStoreError",
    "BoundedRangeCurator",
    "Client",
    "Dataset",
    "DatasetError",
    "DeletionReport",
    "Evaluation",
    "ExportReport",
    "FeedbackControls",
    "File",
    "Filter",
    "FilterError",
    "GantryFlaggingCallback",
    "ImportReport",
    "IntervalTrigger",
    "JoinKey",
    "Metric",
    "MonitoringTab",
    "Projection",
    "ProjectionError",
    "ReviewError",
    "ReviewQueue",
    "ReviewTab",
    "SpoolError",
    "StoreConfigError",
    "StratifiedCurator",
    "UniformCurator",
    "UnknownApplicationError",
    "View",
    "ViewError",
    "alert_history",
    "alert_notifications",
    "compare_to_baseline",
    "compute_projections",
    "create_alert",
    "create_dataset",
    "create_review_queue",
    "create_view",
    "delete_alert",
    "delete_records",
    "delete_review_queue",
    "delete_view",
    "evaluate",
    "export_lake",
    "feedback_controls",
    "flush",
    "get_client",
    "get_dataset",
    "get_evaluation",
    "get_retention",
    "get_review_queue",
    "get_view",
    "histogram",
    "import_records",
    "init",
    "list_alerts",
    "list_applications",
    "list_datasets",
    "list_evaluations",
    "list_review_queues",
    "list_views",
    "log_record",
    "log_records",
    "monitor",
    "monitor_likes",
    "monitoring_tab",
    "pause_alert",
    "percent_true",
    "query",
    "register_baseline",
    "register_projection",
    "resume_alert",
    "review_tab",
    "set_retention",
    "start_automations",
    "stats",
    "value_counts",
]

#: The Gradio integration, imported on first use so the core never imports gradio.
_GRADIO_API = {
    "monitor": "integration.monitor",
    "GantryFlaggingCallback": "integration.flagging",
    "feedback_controls": "integration.feedback",
    "monitor_likes": "integration.feedback",
    "FeedbackControls": "integration.feedback",
    "monitoring_tab": "dashboard.tab",
    "MonitoringTab": "dashboard.tab",
    "review_tab": "dashboard.review_tab",
    "ReviewTab": "dashboard.review_tab",
}


def __getattr__(name: str) -> Any:
    if name in _GRADIO_API:
        module = importlib.import_module(f".{_GRADIO_API[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'gantry_gradio' has no attribute {name!r}")


def init(
    store: str | None = None,
    blobs: str | Path | None = None,
    *,
    environment: str | None = None,
    spool_dir: str | Path | None = None,
    s3_endpoint_url: str | None = None,
    projections: Sequence[str | dict | Projection] | None = None,
    analytics: str | None = None,
) -> Client:
    """Configure the default client (closing a previous one after it flushed).

    store: SQLAlchemy URL, e.g. sqlite:///records.db or postgresql+psycopg://u:p@host/db
    blobs: a folder or s3://bucket/prefix (boto3 reads AWS_* settings; for an
        S3-compatible server pass s3_endpoint_url or set AWS_ENDPOINT_URL)
    environment: stored as tags.env on every prediction unless the call sets it
    projections: computed in the background for every stored record, e.g.
        ["entropy", "edit", "profanity", {"name": "detoxify", "checkpoint": ...}]
    analytics: "lake" (default, or GANTRY_ANALYTICS) runs the tab's
        aggregations on DuckDB over the Parquet lake (exported in the
        background) plus the SQL tail; "sql" on the SQL store alone
    """
    def make() -> Client:
        return Client(
            store,
            blobs,
            environment=environment,
            spool_dir=spool_dir,
            s3_endpoint_url=s3_endpoint_url,
            projections=projections,
            analytics=analytics,
        )

    return cast(Client, default_client.replace(make))


def get_client() -> Client:
    """The default client, made with the defaults if `init()` was not called
    (or the last one was closed)."""
    return cast(Client, default_client.get_client())


def _on_default_client(name: str) -> Callable[..., Any]:
    """`Client.<name>` as a module-level function on the default client, with
    the method's own signature (without `self`) and docstring, so the two
    never drift apart and `help(gantry_gradio.query)` says what Client's does."""
    method = getattr(Client, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(get_client(), name)(*args, **kwargs)

    signature = inspect.signature(method)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    call.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])
    return call


log_record = _on_default_client("log_record")
log_records = _on_default_client("log_records")
flush = _on_default_client("flush")
stats = _on_default_client("stats")
export_lake = _on_default_client("export_lake")
import_records = _on_default_client("import_records")
set_retention = _on_default_client("set_retention")
delete_records = _on_default_client("delete_records")
get_retention = _on_default_client("get_retention")
query = _on_default_client("query")
percent_true = _on_default_client("percent_true")
value_counts = _on_default_client("value_counts")
histogram = _on_default_client("histogram")
list_applications = _on_default_client("list_applications")
create_view = _on_default_client("create_view")
get_view = _on_default_client("get_view")
list_views = _on_default_client("list_views")
delete_view = _on_default_client("delete_view")
compute_projections = _on_default_client("compute_projections")
register_baseline = _on_default_client("register_baseline")
compare_to_baseline = _on_default_client("compare_to_baseline")
create_dataset = _on_default_client("create_dataset")
get_dataset = _on_default_client("get_dataset")
list_datasets = _on_default_client("list_datasets")
create_review_queue = _on_default_client("create_review_queue")
get_review_queue = _on_default_client("get_review_queue")
list_review_queues = _on_default_client("list_review_queues")
delete_review_queue = _on_default_client("delete_review_queue")
evaluate = _on_default_client("evaluate")
list_evaluations = _on_default_client("list_evaluations")
get_evaluation = _on_default_client("get_evaluation")


start_automations = _on_default_client("start_automations")
create_alert = _on_default_client("create_alert")
list_alerts = _on_default_client("list_alerts")
alert_history = _on_default_client("alert_history")
alert_notifications = _on_default_client("alert_notifications")
pause_alert = _on_default_client("pause_alert")
resume_alert = _on_default_client("resume_alert")
delete_alert = _on_default_client("delete_alert")
