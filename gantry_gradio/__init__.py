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
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import alerts
from ._values import File
from .alerts import AlertRule
from .automation import Automation, AutomationScheduler, IntervalTrigger, stored_automations
from .blobs import BlobStoreError
from .client import Client
from .curators import BoundedRangeCurator, StratifiedCurator, UniformCurator
from .datasets import Dataset, DatasetError
from .join_key import JoinKey
from .lake import ExportReport
from .projections import Projection, ProjectionError, register_projection
from .spool import SpoolError
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
    "ExportReport",
    "FeedbackControls",
    "File",
    "Filter",
    "FilterError",
    "GantryFlaggingCallback",
    "IntervalTrigger",
    "JoinKey",
    "MonitoringTab",
    "Projection",
    "ProjectionError",
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
    "create_view",
    "delete_alert",
    "delete_view",
    "export_lake",
    "feedback_controls",
    "flush",
    "get_client",
    "get_dataset",
    "get_view",
    "histogram",
    "init",
    "list_alerts",
    "list_applications",
    "list_datasets",
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
}


def __getattr__(name: str) -> Any:
    if name in _GRADIO_API:
        module = importlib.import_module(f".{_GRADIO_API[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'gantry_gradio' has no attribute {name!r}")


_default: Client | None = None
_default_lock = threading.Lock()


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
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Client(
            store,
            blobs,
            environment=environment,
            spool_dir=spool_dir,
            s3_endpoint_url=s3_endpoint_url,
            projections=projections,
            analytics=analytics,
        )
        return _default


def get_client() -> Client:
    """The default client, made with the defaults if `init()` was not called
    (or the last one was closed)."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Client()
        return _default


def log_record(
    application: str,
    version: str | int | None = None,
    inputs: dict | None = None,
    outputs: dict | None = None,
    feedback: dict | None = None,
    join_key: str | None = None,
    tags: dict | None = None,
    timestamp: Any = None,
) -> str:
    return get_client().log_record(
        application, version, inputs, outputs, feedback, join_key, tags, timestamp
    )


def log_records(
    application: str,
    version: str | int | None = None,
    inputs: Sequence[dict] | None = None,
    outputs: Sequence[dict] | None = None,
    feedbacks: Sequence[dict] | None = None,
    join_keys: Sequence[str] | None = None,
    tags: dict | Sequence[dict] | None = None,
    timestamps: Sequence[Any] | None = None,
) -> list[str]:
    return get_client().log_records(
        application, version, inputs, outputs, feedbacks, join_keys, tags, timestamps
    )


def flush(timeout: float | None = None) -> bool:
    return get_client().flush(timeout)


def stats() -> dict[str, Any]:
    return get_client().stats()


def export_lake(application: str | None = None) -> list[ExportReport]:
    """Export changed completed days to the Parquet lake (see Client.export_lake)."""
    return get_client().export_lake(application)


def query(
    application: str,
    start: Any = None,
    end: Any = None,
    *,
    filters: list | None = None,
    view: str | None = None,
    limit: int | None = None,
    newest_first: bool = False,
    offset: int = 0,
) -> pd.DataFrame:
    return get_client().query(
        application,
        start,
        end,
        filters=filters,
        view=view,
        limit=limit,
        newest_first=newest_first,
        offset=offset,
    )


def percent_true(
    application: str,
    field: str = "feedback.accepted",
    *,
    bucket: str = "day",
    start: Any = None,
    end: Any = None,
    filters: list | None = None,
    view: str | None = None,
) -> pd.DataFrame:
    return get_client().percent_true(
        application, field, bucket=bucket, start=start, end=end, filters=filters, view=view
    )


def value_counts(
    application: str,
    field: str,
    *,
    bucket: str | None = None,
    start: Any = None,
    end: Any = None,
    filters: list | None = None,
    view: str | None = None,
) -> pd.DataFrame:
    return get_client().value_counts(
        application, field, bucket=bucket, start=start, end=end, filters=filters, view=view
    )


def histogram(
    application: str,
    field: str,
    *,
    bins: int = 20,
    value_range: tuple[float, float] | None = None,
    start: Any = None,
    end: Any = None,
    filters: list | None = None,
    view: str | None = None,
) -> pd.DataFrame:
    return get_client().histogram(
        application,
        field,
        bins=bins,
        value_range=value_range,
        start=start,
        end=end,
        filters=filters,
        view=view,
    )


def list_applications() -> list[str]:
    return get_client().list_applications()


def create_view(
    application: str,
    name: str,
    start_time: Any = None,
    end_time: Any = None,
    filters: list | None = None,
    *,
    replace: bool = False,
) -> View:
    return get_client().create_view(
        application, name, start_time, end_time, filters, replace=replace
    )


def get_view(application: str, name: str) -> View:
    return get_client().get_view(application, name)


def list_views(application: str) -> list[View]:
    return get_client().list_views(application)


def delete_view(application: str, name: str) -> None:
    get_client().delete_view(application, name)


def compute_projections(
    application: str,
    start: Any = None,
    end: Any = None,
    *,
    projections: Sequence[str | dict | Projection] | None = None,
    recompute: bool = False,
    progress: bool = True,
) -> int:
    return get_client().compute_projections(
        application, start, end, projections=projections, recompute=recompute, progress=progress
    )


def register_baseline(
    application: str,
    data: Any,
    *,
    name: str = "default",
    columns: dict[str, str] | None = None,
    projections: Sequence[str | dict | Projection] | None = None,
) -> dict[str, int]:
    return get_client().register_baseline(
        application, data, name=name, columns=columns, projections=projections
    )


def compare_to_baseline(
    application: str,
    path: str,
    *,
    baseline: str = "default",
    bins: int = 20,
    start: Any = None,
    end: Any = None,
    filters: list | None = None,
    view: str | None = None,
) -> Any:
    return get_client().compare_to_baseline(
        application,
        path,
        baseline=baseline,
        bins=bins,
        start=start,
        end=end,
        filters=filters,
        view=view,
    )


def create_dataset(name: str, *, exist_ok: bool = False) -> Dataset:
    return get_client().create_dataset(name, exist_ok=exist_ok)


def get_dataset(name: str) -> Dataset:
    return get_client().get_dataset(name)


def list_datasets() -> list[str]:
    return get_client().list_datasets()


def start_automations(poll_seconds: float = 60.0) -> AutomationScheduler:
    """Run the store's automations (curators, alerts) on a background thread
    of this process (e.g. beside a Gradio app); `.stop()` ends it."""
    return AutomationScheduler(get_client(), poll_seconds=poll_seconds).start()


def create_alert(
    name: str,
    application: str,
    metric: str,
    *,
    field: str | None = None,
    above: float | None = None,
    below: float | None = None,
    window: Any = "1h",
    every: Any = "5min",
    min_records: int = 1,
    for_evaluations: int = 1,
    category: str | None = None,
    view: str | None = None,
    filters: list | None = None,
    severity: str = "warning",
    notify: list | None = None,
    link: str | None = None,
    quantile: float | None = None,
    baseline: str = "default",
    compare_to: str | None = None,
    start_on: Any = None,
    end_on: Any = None,
) -> Automation:
    """An alert on `metric` (acceptance_rate, mean, flag_count, volume,
    quantile, or psi/js/ks distance to a registered baseline) of
    `application` over the last `window`, evaluated every `every` by the
    store's automation schedulers (`start_automations()`); see AlertRule.
    With `start_on` in the past, the history is evaluated at once: the
    alerts that would have fired; `end_on` stops the evaluations. `notify`:
    webhook URLs or dicts (url or url_env, format "json" or "slack",
    secret_env for an HMAC signature), posted on firing and on resolution;
    `link`, the tab's URL for the message."""
    rule = AlertRule(
        name,
        application,
        metric,
        field=field,
        above=above,
        below=below,
        window=window,
        every=every,
        min_records=min_records,
        for_evaluations=for_evaluations,
        category=category,
        view=view,
        filters=list(filters or []),
        severity=severity,
        notify=list(notify or []),
        link=link,
        quantile=quantile,
        baseline=baseline,
        compare_to=compare_to,
    )
    return alerts.create_alert(get_client(), rule, start_on=start_on, end_on=end_on)


def list_alerts() -> list[AlertRule]:
    """The store's alert rules, by name."""
    found = stored_automations(get_client())
    return [a.action for a in found if isinstance(a.action, AlertRule)]


def alert_history(name: str) -> pd.DataFrame:
    """Every evaluation of alert `name`: window, value, records, state, transition."""
    return alerts.alert_history(get_client(), name)


def alert_notifications(name: str | None = None) -> list[dict]:
    """Queued notifications (of alert `name`, or all): status (pending, sent,
    failed), attempts, last error, payload."""
    return alerts.notifications(get_client(), name)


def _alert_automation(name: str) -> Automation:
    for automation in stored_automations(get_client()):
        if automation.name == name and isinstance(automation.action, AlertRule):
            return automation
    raise ValueError(f"no alert named {name!r}")


def pause_alert(name: str) -> None:
    """Stop evaluating alert `name` until `resume_alert`; the windows that pass
    meanwhile are evaluated on resuming (stored, not notified once old)."""
    _alert_automation(name).pause(get_client())


def resume_alert(name: str) -> None:
    _alert_automation(name).resume(get_client())


def delete_alert(name: str) -> None:
    """Stop evaluating alert `name` (its history stays)."""
    _alert_automation(name).delete(get_client())
