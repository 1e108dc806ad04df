"""The client: configuration, the log calls, and the read calls, in one object.

Most programs use the module-level functions in `gantry_gradio`, which talk to
one default client made by `init()`; tests and multi-store programs can hold
several `Client`s."""

from __future__ import annotations

import atexit
import hashlib
import inspect
import itertools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from . import alerts, default_client
from ._timestamps import now_us, to_epoch_us
from .alerts import AlertRule
from .automation import Automation, AutomationScheduler
from .blobs import BlobStore, open_blob_store
from .datasets import Dataset, DatasetError, DatasetRegistry
from .evaluation import Evaluation
from .evaluation import run as evaluation_run
from .evaluation import runs as evaluation_runs
from .ingest import columnar, values
from .ingest.delivery import DeliveryWorker
from .ingest.join_key import JoinKey, check_join_key
from .ingest.spool import Spool
from .ingest.writer import RecordWriter
from .lake import ExportReport, LakeExporter, LakeExportScheduler, LakeRecordStore
from .lake.forget import DeletionReport, forget
from .lake.importer import ImportReport, import_records
from .lake.state import get_retention, set_retention
from .projections import Projection, resolve
from .projections.projector import Projector
from .review import ReviewQueue
from .review import registry as review_registry
from .store import (
    Catalog,
    RecordStore,
    Selection,
    SqlRecordStore,
    View,
    ViewStore,
    create_store_engine,
)
from .store.contract import check_bins

if TYPE_CHECKING:
    from .projections.baseline import BaselineComparison

DEFAULT_DATA_DIR = Path("gantry_data")
MAX_APPLICATION_NAME = 200
#: A single record above this (after large texts moved to blobs) is refused.
MAX_ENTRY_BYTES = 16 * 2**20
#: Application names whose check a log call skips (a bound, not a cache policy).
_CHECKED_NAMES_KEPT = 1000
EXIT_FLUSH_SECONDS = 10.0

log = logging.getLogger("gantry_gradio")
ANALYTICS_ENGINES = ("sql", "lake")


def _analytics_engine(choice: str | None) -> str:
    """Where aggregations run: "lake" is DuckDB over the Parquet lake plus
    the SQL tail (interactive at millions of records; the default), "sql"
    the SQL store alone."""
    value = choice or os.environ.get("GANTRY_ANALYTICS") or "lake"
    if value not in ANALYTICS_ENGINES:
        raise ValueError(f"analytics must be one of {', '.join(ANALYTICS_ENGINES)}, not {value!r}")
    return value


def _check_application(application: Any) -> str:
    if not isinstance(application, str) or not application.strip():
        raise ValueError("application must be a non-empty string, e.g. 'gec-demo-app'")
    if len(application) > MAX_APPLICATION_NAME or "\x00" in application:
        raise ValueError(
            f"application name must be at most {MAX_APPLICATION_NAME} characters, no NUL"
        )
    return application


def _check_section(value: Any, name: str) -> None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict like {{'text': ...}}, not {type(value).__name__}")


class Client:
    """Configuration resolves keyword arguments first, then GANTRY_STORE /
    GANTRY_BLOBS / GANTRY_SPOOL, then the embedded defaults under ./gantry_data."""

    def __init__(
        self,
        store: str | None = None,
        blobs: str | Path | None = None,
        *,
        environment: str | None = None,
        spool_dir: str | Path | None = None,
        s3_endpoint_url: str | None = None,
        batch_size: int = 10_000,
        projections: Sequence[str | dict | Projection] | None = None,
        analytics: str | None = None,
        lake_export_seconds: float = 60.0,
    ) -> None:
        self.store_url = (
            store
            or os.environ.get("GANTRY_STORE")
            or (f"sqlite:///{(DEFAULT_DATA_DIR / 'records.db').resolve()}")
        )
        blob_location = blobs or os.environ.get("GANTRY_BLOBS") or (DEFAULT_DATA_DIR / "blobs")
        self.environment = environment
        self.engine = create_store_engine(self.store_url)
        self.blobs: BlobStore = open_blob_store(blob_location, endpoint_url=s3_endpoint_url)
        # One spool per (store, blobs) pair, so entries logged for one store are
        # never delivered to another after a configuration change.
        spool_root = Path(spool_dir or os.environ.get("GANTRY_SPOOL") or DEFAULT_DATA_DIR / "spool")
        destination = self.blobs.uri_for("")  # absolute, whatever form `blobs` took
        destination = hashlib.sha1(f"{self.store_url}|{destination}".encode()).hexdigest()[:12]
        self.spool = Spool(spool_root / destination)
        self.catalog = Catalog(self.engine)
        self.views = ViewStore(self.engine, self.catalog)
        self.lake = LakeExporter(self.engine, self.catalog, self.blobs)
        self.analytics = _analytics_engine(analytics)
        sql_store = SqlRecordStore(self.engine, self.catalog, self.views)
        #: Every read goes through this `RecordStore` (store/contract.py): the
        #: SQL store, or an engine over a copy of it (the lake, Spark).
        self.store: RecordStore = sql_store
        self._lake_scheduler: LakeExportScheduler | None = None
        if self.analytics == "lake":
            self.store = LakeRecordStore(
                sql_store, self.blobs, spool_root / "lake-cache", exporter=self.lake
            )
            self._lake_scheduler = LakeExportScheduler(self.lake, lake_export_seconds)
        self.dataset_registry = DatasetRegistry(self.engine, self.catalog)
        self.worker = DeliveryWorker(
            self.spool, RecordWriter(self.engine, self.catalog), self.blobs, batch_size=batch_size
        )
        self.worker.start()
        self.projections = [resolve(spec) for spec in projections or ()]
        self.projector = Projector(self.store, self.engine, self.catalog, self.projections)
        if self.projections:
            self.projector.start()
        if self._lake_scheduler is not None:
            self._lake_scheduler.start()
        self.closed = False  # set by close(); a closed client logs nothing more
        # Entry ids: a random prefix per client and a counter, unique across
        # processes and restarts; `next` on it is one C call, safe across threads.
        self._entry_ids = map(f"{os.urandom(8).hex()}{{:x}}".format, itertools.count())
        self._checked_names: set[str] = set()  # application names that passed the check
        self.monitoring_errors = 0  # failures the Gradio integration absorbed
        atexit.register(self.close)

    # -- logging (caller's thread: validate, serialize, append, return) ------------

    def log_record(
        self,
        application: str,
        version: str | int | None = None,
        inputs: dict | None = None,
        outputs: dict | None = None,
        feedback: dict | None = None,
        join_key: str | None = None,
        tags: dict | None = None,
        timestamp: Any = None,
    ) -> str:
        """Log one prediction (inputs/outputs), its feedback, or both; return the
        join key that later feedback must carry."""
        entry, blob_refs = self._entry(
            application, version, inputs, outputs, feedback, join_key, tags, timestamp
        )
        self.spool.append(self._encode(entry, blob_refs), 1)
        return entry["join_key"]

    def log_records(
        self,
        application: str,
        version: str | int | None = None,
        inputs: Sequence[dict] | None = None,
        outputs: Sequence[dict] | None = None,
        feedbacks: Sequence[dict] | None = None,
        join_keys: Sequence[str] | None = None,
        tags: dict | Sequence[dict] | None = None,
        timestamps: Sequence[Any] | None = None,
    ) -> list[str]:
        """The batch form of log_record (for backfills): lists of equal length;
        `tags` may be one dict for all. All or nothing: one bad record refuses
        the call before anything is spooled."""
        columns = {
            "inputs": inputs,
            "outputs": outputs,
            "feedbacks": feedbacks,
            "join_keys": join_keys,
            "timestamps": timestamps,
        }
        if isinstance(tags, (list, tuple)):
            columns["tags"] = tags
        lengths = {name: len(col) for name, col in columns.items() if col is not None}
        if not lengths:
            raise ValueError("log_records needs at least one of inputs, outputs or feedbacks")
        if len(set(lengths.values())) > 1:
            raise ValueError(f"log_records lists differ in length: {lengths}")
        count = next(iter(lengths.values()))
        bulk = self._bulk_lines(application, version, columns, tags, count)
        if bulk is not None:
            lines, keys = bulk
            self.spool.append(b"".join(lines), len(lines), wake=True)
            return keys

        def pick(name: str, i: int) -> Any:
            column = columns.get(name)
            return None if column is None else column[i]

        lines, keys = [], []
        for i in range(count):
            row_tags = pick("tags", i) if "tags" in columns else tags
            try:
                entry, refs = self._entry(
                    application,
                    version,
                    pick("inputs", i),
                    pick("outputs", i),
                    pick("feedbacks", i),
                    pick("join_keys", i),
                    row_tags,
                    pick("timestamps", i),
                )
            except (TypeError, ValueError, OSError) as exc:
                raise type(exc)(f"record {i}: {exc}") from exc
            lines.append(self._encode(entry, refs))
            keys.append(entry["join_key"])
        if lines:
            self.spool.append(b"".join(lines), len(lines))
        return keys

    def _bulk_lines(
        self, application: Any, version: Any, columns: dict, tags: Any, count: int
    ) -> tuple[list[bytes], list[str]] | None:
        """Columnar spool lines for a call of plain predictions (see _columnar),
        or None: then each record is checked and spooled on its own, as
        log_record does, which names the record in any error."""
        try:
            _check_application(application)
        except ValueError:
            return None
        if self.closed:
            return None
        sections = {
            "inputs": columns["inputs"],
            "outputs": columns["outputs"],
            "tags": columns.get("tags"),
            "feedback": columns["feedbacks"],
        }
        shared_tags = None if "tags" in columns else tags
        return columnar.encode(
            application,
            version,
            sections,
            shared_tags,
            columns["join_keys"],
            columns["timestamps"],
            count,
            self.environment,
        )

    def _entry(self, application, version, inputs, outputs, feedback, join_key, tags, timestamp):
        if self.closed:
            raise RuntimeError("this gantry_gradio client is closed; call gantry_gradio.init()")
        if application not in self._checked_names:
            _check_application(application)
            if len(self._checked_names) < _CHECKED_NAMES_KEPT:
                self._checked_names.add(application)
        for value, name in (
            (inputs, "inputs"),
            (outputs, "outputs"),
            (feedback, "feedback"),
            (tags, "tags"),
        ):
            _check_section(value, name)
        is_prediction = inputs is not None or outputs is not None
        if not is_prediction and not feedback:
            raise ValueError("log_record needs inputs/outputs (a prediction), feedback, or both")
        if join_key is None:
            if not is_prediction:
                raise ValueError(
                    "feedback without join_key cannot be joined to a prediction; pass the "
                    "join_key that log_record returned for it"
                )
            join_key = JoinKey.new()
        if version is not None and not isinstance(version, (str, int)):
            raise TypeError(f"version must be a str or int, not {type(version).__name__}")
        blob_refs: list[list[str]] = []

        def stage(content: bytes | Path, content_type: str) -> str:
            key, staged = self.spool.stage_blob(content, content_type)
            blob_refs.append([key, staged, content_type])
            return self.blobs.uri_for(key)

        if self.environment is not None and is_prediction:
            tags = {"env": self.environment, **(tags or {})}
        logged_at = now_us()
        entry: dict[str, Any] = {
            "id": next(self._entry_ids),
            "application": application,
            "version": None if version is None else str(version),
            "join_key": check_join_key(join_key),
            "timestamp": logged_at if timestamp is None else to_epoch_us(timestamp),
            "logged_at": logged_at,
        }
        if is_prediction:
            entry["prediction"] = {
                "inputs": values.normalize(inputs, "inputs", stage),
                "outputs": values.normalize(outputs, "outputs", stage),
                "tags": values.normalize(tags, "tags", stage),
            }
        elif tags:
            raise ValueError(
                "tags describe a prediction; a feedback-only call cannot carry them "
                "(log them with the prediction)"
            )
        if feedback:
            entry["feedback"] = values.normalize(feedback, "feedback", stage)
        return entry, blob_refs

    @staticmethod
    def _encode(entry: dict, blob_refs: list) -> bytes:
        if blob_refs:
            entry["blobs"] = blob_refs
        # orjson: a fifth of json.dumps' cost, the same JSON for the values
        # normalize leaves (str, bool, None, finite floats, ints within 2**53)
        line = orjson.dumps(entry)
        if len(line) > MAX_ENTRY_BYTES:
            raise ValueError(
                f"record is {len(line)} bytes serialized; the limit is {MAX_ENTRY_BYTES}. "
                "Log large values as bytes or gantry_gradio.File so they go to the blob store"
            )
        return line + b"\n"

    # -- delivery ------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged so far is stored; False if time ran out
        (nothing is lost then: it stays in the spool and keeps being retried)."""
        return self.spool.wait_until_empty(timeout)

    def stats(self) -> dict[str, Any]:
        """Delivery counters of this process, plus what waits in the spool."""
        s = self.worker.stats
        return {
            "delivered": s.delivered,
            "pending": self.spool.pending,
            "rejected": s.rejected,
            "duplicates": s.duplicates,
            "last_error": s.last_error,
            "rejected_file": str(self.worker.rejected_path),
            "monitoring_errors": self.monitoring_errors,
        }

    def absorb_failure(self, what: str, exc: BaseException) -> None:
        """Count and log a monitoring failure that must not reach the user's app
        (the Gradio wrapper and callbacks call this instead of raising)."""
        self.monitoring_errors += 1
        log.warning(
            "gantry_gradio: %s failed (%s: %s); the app goes on", what, type(exc).__name__, exc
        )

    def close(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        """Deliver what can be delivered within `timeout`, then stop the worker;
        anything left waits in the spool for the next start."""
        if self.closed:
            return
        self.closed = True
        atexit.unregister(self.close)
        if self.worker.is_alive():
            self.flush(timeout)
        self.projector.stop(timeout=timeout)
        if self._lake_scheduler is not None:
            self._lake_scheduler.stop(timeout=timeout)
        self.store.close()
        self.worker.stop(timeout=timeout)
        if not self.worker.is_alive():
            self.spool.close()
        self.engine.dispose()

    def export_lake(self, application: str | None = None) -> list[ExportReport]:
        """Export completed days that changed since the last pass (every day
        on the first) to the Parquet lake under the blob store's `lake/`
        folder; a background pass does this every `lake_export_seconds` when
        `analytics="lake"`."""
        return self.lake.export(application)

    def set_retention(self, application: str, days: int | None) -> None:
        """Keep the application's `days` most recent UTC days in the SQL store
        (None: all, the default); each export pass moves older days to the
        lake only, once their file is verified to hold them. Reads through
        the lake engine (`analytics="lake"`) see every day either way."""
        app_id = self.catalog.application_id(_check_application(application))
        if self.analytics != "lake" and days is not None:
            raise ValueError(
                'retention moves old days to the lake, which this client does not read: '
                'use Client(..., analytics="lake")'
            )
        self.lake.ensure_state(app_id)
        set_retention(self.engine, app_id, days)

    def delete_records(
        self,
        application: str,
        join_keys: Sequence[str] | None = None,
        *,
        tags: dict[str, Any] | None = None,
    ) -> DeletionReport:
        """Delete records on request (a user's right to be forgotten): those
        with these join keys, or whose tags equal all of `tags` (e.g.
        `{"username": "ana"}`), from the SQL store, the lake's files, every
        process's DuckDB copy, with their feedback and the stored files no
        other record uses. What was logged and not yet stored is stored
        first, so it goes too."""
        _check_application(application)
        if join_keys is None and not tags:
            raise ValueError("delete_records needs join_keys or tags to choose the records")
        if isinstance(join_keys, str):
            raise TypeError("join_keys is a list of join keys, not one string")
        self.flush()
        keys = list(join_keys or [])
        if tags:
            filters = [(f"tags.{name}", "==", value) for name, value in tags.items()]
            keys += list(self.store.keys(Selection(application, filters=filters))["join_key"])
        return forget(self.lake, application, keys)

    def get_retention(self, application: str) -> int | None:
        """The days the SQL store keeps for the application (None: all)."""
        return get_retention(self.engine, self.catalog.application_id(application))

    def import_records(
        self, data: Any, application: str, *, version: str | int | None = None
    ) -> ImportReport:
        """Write a history (a DataFrame, an Arrow table or a Parquet file's
        path, with the columns `query` returns) straight into the lake's
        days, checked as logging checks; running it again adds nothing. Its
        days are read through the lake engine (`analytics="lake"`), not the
        SQL store."""
        _check_application(application)
        if self.analytics != "lake":
            raise ValueError(
                'import_records writes to the lake, which this client does not read: '
                'use Client(..., analytics="lake")'
            )
        return import_records(self.lake, data, application, version=version)

    # -- reading -------------------------------------------------------------------

    def query(
        self,
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
        """One row per prediction in [start, end), dotted columns, feedback merged;
        `limit` and `offset` page through them."""
        selection = Selection(application, start, end, view, filters)
        return self.store.rows(selection, limit=limit, newest_first=newest_first, offset=offset)

    def percent_true(
        self,
        application: str,
        field: str = "feedback.accepted",
        *,
        bucket: str = "day",
        start: Any = None,
        end: Any = None,
        filters: list | None = None,
        view: str | None = None,
    ) -> pd.DataFrame:
        """Share of true values of a boolean field per time bucket (the acceptance rate)."""
        return self.store.percent_true(
            Selection(application, start, end, view, filters), field, bucket
        )

    def value_counts(
        self,
        application: str,
        field: str,
        *,
        bucket: str | None = None,
        start: Any = None,
        end: Any = None,
        filters: list | None = None,
        view: str | None = None,
    ) -> pd.DataFrame:
        """Counts per value of a field (e.g. flags by category), optionally per bucket."""
        return self.store.value_counts(
            Selection(application, start, end, view, filters), field, bucket
        )

    def histogram(
        self,
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
        """Equal-width histogram of a numeric field (1 to 1,000 bins)."""
        bins = check_bins(bins)
        selection = Selection(application, start, end, view, filters)
        return self.store.histogram(selection, field, bins, value_range)

    @staticmethod
    def check_application(application: Any) -> str:
        """`application` if it can name an application, else a clear ValueError."""
        return _check_application(application)

    def stored_join_keys(self, application: str, join_keys: Sequence[str]) -> set[str]:
        """Which of these keys are stored already: lets a backfill
        skip what an earlier run loaded (an unknown application has none)."""
        return self.store.stored_join_keys(application, join_keys)

    def list_applications(self) -> list[str]:
        """Every application with records in the store, sorted by name."""
        return self.store.list_applications()

    def create_view(
        self,
        application: str,
        name: str,
        start_time: Any = None,
        end_time: Any = None,
        filters: list | None = None,
        *,
        replace: bool = False,
    ) -> View:
        """Save a named window and filters for `application` (a view): the
        tab's picker and every read's `view=` use it. An existing name is
        refused unless `replace=True`."""
        return self.views.create(application, name, start_time, end_time, filters, replace=replace)

    def get_view(self, application: str, name: str) -> View:
        """A saved view; the error names the existing ones when it is missing."""
        return self.views.get(application, name)

    def list_views(self, application: str) -> list[View]:
        """The application's saved views, by name."""
        return self.views.list(application)

    def delete_view(self, application: str, name: str) -> None:
        """Forget a saved view (the records it selected stay)."""
        self.views.delete(application, name)

    # -- projections and baselines -------------------------------------------------

    def _projector_for(self, projections: Sequence | None) -> Projector:
        if projections is None:
            return self.projector
        return Projector(
            self.store, self.engine, self.catalog, [resolve(spec) for spec in projections]
        )

    def compute_projections(
        self,
        application: str,
        start: Any = None,
        end: Any = None,
        *,
        projections: Sequence[str | dict | Projection] | None = None,
        recompute: bool = False,
        progress: bool = True,
    ) -> int:
        """Project the stored records of [start, end) now (the configured
        projections unless `projections` is given); resumable, see Projector.compute."""
        projector = self._projector_for(projections)
        return projector.compute(application, start, end, recompute=recompute, progress=progress)

    def register_baseline(
        self,
        application: str,
        data: Any,
        *,
        name: str = "default",
        columns: dict[str, str] | None = None,
        projections: Sequence[str | dict | Projection] | None = None,
    ) -> dict[str, int]:
        """Store projection values of a reference set (DataFrame or CSV path)."""
        from .projections.baseline import register_baseline

        chosen = self._projector_for(projections).projections
        if not chosen:
            raise ValueError("no projections configured: pass projections=[...] here or to init()")
        return register_baseline(self.store, application, data, chosen, name=name, columns=columns)

    def compare_to_baseline(
        self,
        application: str,
        path: str,
        *,
        baseline: str = "default",
        bins: int = 20,
        start: Any = None,
        end: Any = None,
        filters: list | None = None,
        view: str | None = None,
    ) -> BaselineComparison:
        """Production vs baseline for one projection value, e.g.
        "projections.detoxify.obscene": histograms on shared bins, PSI, JS, KS."""
        from .projections.baseline import compare

        return compare(
            self.store,
            application,
            path,
            baseline=baseline,
            bins=bins,
            start=start,
            end=end,
            filters=filters,
            view=view,
        )

    # -- datasets ------------------------------------------------------------------

    def create_dataset(self, name: str, *, exist_ok: bool = False) -> Dataset:
        """A new, empty dataset; its versions' files go to this client's blob store."""
        self.dataset_registry.create(name, exist_ok=exist_ok)
        return Dataset(name, self.dataset_registry, self.blobs)

    def get_dataset(self, name: str) -> Dataset:
        """An existing dataset, to list, read or add versions."""
        if not self.dataset_registry.exists(name):
            raise DatasetError(f"no dataset {name!r}; create_dataset({name!r}) makes one")
        return Dataset(name, self.dataset_registry, self.blobs)

    def list_datasets(self) -> list[str]:
        """Every dataset's name."""
        return self.dataset_registry.names()

    # -- review queues -------------------------------------------------------------

    def create_review_queue(
        self,
        name: str,
        application: str,
        *,
        view: str | None = None,
        start: Any = None,
        end: Any = None,
        filters: list | None = None,
        dataset: str | None = None,
        dataset_version: str | None = None,
        sample: int | None = None,
        order: str = "newest",
        seed: int = 0,
        labels_per_item: int = 1,
        lease_seconds: float = 600.0,
        exist_ok: bool = False,
    ) -> ReviewQueue:
        """A queue of `application`'s records for reviewers to label: those
        of a saved `view`, window and `filters`, or of a `dataset` version;
        `sample` draws that many uniformly; `order` is newest, oldest or
        random. Each item needs `labels_per_item` reviewers; a reviewer holds
        an item for `lease_seconds` before it goes back to the others."""
        source = review_registry.source_of(
            view=view,
            start=start,
            end=end,
            filters=filters,
            dataset=dataset,
            dataset_version=dataset_version,
            sample=sample,
            order=order,
            seed=seed,
        )
        return review_registry.create_queue(
            self,
            name,
            application,
            source,
            labels_per_item=labels_per_item,
            lease_seconds=lease_seconds,
            exist_ok=exist_ok,
        )

    def get_review_queue(self, name: str) -> ReviewQueue:
        """An existing review queue, to take items, label, or read labels."""
        return review_registry.get_queue(self, name)

    def list_review_queues(self, application: str | None = None) -> list[str]:
        """Every review queue's name (of one application when given)."""
        return review_registry.list_queues(self, application)

    def delete_review_queue(self, name: str) -> None:
        """Remove a queue with its leases and label history; the labels it
        logged as feedback stay on the records."""
        review_registry.delete_queue(self, name)

    # -- evaluations ---------------------------------------------------------------

    def evaluate(
        self,
        data: Any,
        candidates: dict[str, Any],
        metrics: Sequence[Any] | None = None,
        *,
        split: str | None = "test",
        input_column: str = "input",
        label_column: str = "label",
        slices: Sequence[str] = (),
        application: str | None = None,
        batch_size: int = 32,
        name: str | None = None,
        progress: bool = True,
    ) -> Evaluation:
        """Run every candidate (name -> function on a batch of inputs, or a
        seq2seq model folder / hub id) on the same rows of `data` (a Dataset,
        a version, "name[@version_id]" or a DataFrame; its `split`), score
        them with `metrics` (built-in names, "projection:<name>.<value>",
        Metric objects or functions (input, output, label) -> float), and
        compare: each metric with a 95% bootstrap interval, each candidate
        minus the first paired on the same rows, per slice (columns or
        "view:<name>" of `application`), and the rows where outputs differ.
        The run is stored (list_evaluations) and its rows logged to
        "<application>:evaluations"."""
        return evaluation_run.evaluate(
            self,
            data,
            candidates,
            metrics,
            split=split,
            input_column=input_column,
            label_column=label_column,
            slices=slices,
            application=application,
            batch_size=batch_size,
            name=name,
            progress=progress,
        )

    def list_evaluations(self, application: str | None = None) -> pd.DataFrame:
        """Stored evaluation runs, newest first (of one application when given)."""
        return evaluation_runs.list_runs(self, application)

    def get_evaluation(self, run: str, application: str | None = None) -> Evaluation:
        """A stored run by id, or the newest of that name, with its tables."""
        return evaluation_runs.get_run(self, run, application)

    def start_automations(self, poll_seconds: float = 60.0) -> AutomationScheduler:
        """Run the store's automations (curators, alerts) on a background thread
        of this process (e.g. beside a Gradio app); `.stop()` ends it."""
        return AutomationScheduler(self, poll_seconds=poll_seconds).start()

    def create_alert(self, *rule: Any, start_on: Any = None, end_on: Any = None, **fields: Any):
        """An alert on `metric` (acceptance_rate, mean, flag_count, volume,
        quantile, or psi/js/ks distance to a registered baseline) of
        `application` over the last `window`, evaluated every `every` by the
        store's automation schedulers (`start_automations()`); the parameters are
        AlertRule's. With `start_on` in the past, the history is evaluated at
        once: the alerts that would have fired; `end_on` stops the evaluations.
        `notify`: webhook URLs or dicts (url or url_env, format "json" or "slack",
        secret_env for an HMAC signature), posted on firing and on resolution;
        `link`, the tab's URL for the message."""
        made = AlertRule(*rule, **fields)
        return alerts.create_alert(self, made, start_on=start_on, end_on=end_on)

    _signature = alerts.create_alert_signature()
    create_alert.__signature__ = _signature.replace(
        parameters=[
            inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            *_signature.parameters.values(),
        ]
    )
    del _signature

    def list_alerts(self) -> list[AlertRule]:
        """The store's alert rules, by name."""
        return [automation.action for automation in alerts.stored_alerts(self)]

    def alert_history(self, name: str) -> pd.DataFrame:
        """Every evaluation of alert `name`: window, value, records, state, transition."""
        return alerts.alert_history(self, name)

    def alert_notifications(self, name: str | None = None) -> list[dict]:
        """Queued notifications (of alert `name`, or all): status (pending, sent,
        failed), attempts, last error, payload."""
        return alerts.notifications(self, name)

    def _alert_automation(self, name: str) -> Automation:
        for automation in alerts.stored_alerts(self):
            if automation.name == name:
                return automation
        raise ValueError(f"no alert named {name!r}")

    def pause_alert(self, name: str) -> None:
        """Stop evaluating alert `name` until `resume_alert`; the windows that pass
        meanwhile are evaluated on resuming (stored, not notified once old)."""
        self._alert_automation(name).pause(self)

    def resume_alert(self, name: str) -> None:
        """Evaluate alert `name` again; the windows missed while paused are caught up."""
        self._alert_automation(name).resume(self)

    def delete_alert(self, name: str) -> None:
        """Stop evaluating alert `name`; its history stays readable until a new
        rule is created under the same name, which starts with none."""
        self._alert_automation(name).delete(self)

    def read_blob(self, uri: str) -> bytes:
        return self.blobs.read(uri)

    def blob_url(self, uri: str, *, expires_in: int = 3600) -> str:
        """A short-lived link for S3 blobs (presigned), a local path otherwise."""
        return self.blobs.url(uri, expires_in=expires_in)


# The default client (`gantry.init()`, `get_client()`) is made by this class;
# default_client.py holds it without importing this module.
default_client.set_factory(Client)
