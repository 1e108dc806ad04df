"""Which datasets exist and which files make each version, in the record
store's database: one transaction per version makes a push all-or-nothing
and lets concurrent pushes each add their own row."""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._timestamps import now_us, to_timestamp
from ..names import check_name
from ..store import Catalog
from ..store.schema import dataset_versions, datasets


class DatasetError(ValueError):
    """A dataset or version that cannot be created or found."""


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class StoredFile:
    name: str  # relative path inside the version, e.g. "data.parquet"
    uri: str
    bytes: int


@dataclass(frozen=True)
class DatasetVersion:
    version_id: str
    dataset: str
    message: str
    created_at: pd.Timestamp
    created_by: str
    row_count: int | None
    files: tuple[StoredFile, ...]
    is_latest_version: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The columns Gantry's list_versions showed, plus the row count."""
        return {
            "version_id": self.version_id,
            "dataset": self.dataset,
            "message": self.message,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "is_latest_version": self.is_latest_version,
            "row_count": self.row_count,
        }


class DatasetRegistry:
    def __init__(self, engine: sa.Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog

    def create(self, name: str, *, exist_ok: bool = False) -> None:
        check_name(name, "dataset", DatasetError)
        self.catalog.ensure_tables()
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    datasets.insert().values(
                        name=name, created_at_us=now_us(), created_by=current_user()
                    )
                )
        except IntegrityError:
            if not exist_ok:
                raise DatasetError(f"dataset {name!r} exists already; use get_dataset") from None

    def exists(self, name: str) -> bool:
        self.catalog.ensure_tables()
        with self.engine.connect() as conn:
            found = conn.scalar(sa.select(datasets.c.name).where(datasets.c.name == name))
        return found is not None

    def names(self) -> list[str]:
        self.catalog.ensure_tables()
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(datasets.c.name).order_by(datasets.c.name)))

    def add_version(
        self,
        dataset: str,
        version_id: str,
        message: str,
        files: list[StoredFile],
        row_count: int | None,
    ) -> DatasetVersion:
        with self.engine.begin() as conn:
            conn.execute(
                dataset_versions.insert().values(
                    version_id=version_id,
                    dataset=dataset,
                    message=message,
                    created_at_us=now_us(),
                    created_by=current_user(),
                    row_count=row_count,
                    files=json.dumps([f.__dict__ for f in files]),
                )
            )
        return self.version(dataset, version_id)

    def versions(self, dataset: str) -> list[DatasetVersion]:
        """Newest first."""
        stmt = (
            sa.select(dataset_versions)
            .where(dataset_versions.c.dataset == dataset)
            .order_by(dataset_versions.c.seq.desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).fetchall()
        return [_to_version(row, latest=i == 0) for i, row in enumerate(rows)]

    def latest(self, dataset: str) -> DatasetVersion | None:
        try:
            return self.version(dataset, None)
        except DatasetError:
            return None

    def version(self, dataset: str, version_id: str | None) -> DatasetVersion:
        """`None` means the latest."""
        newest = (
            sa.select(sa.func.max(dataset_versions.c.seq))
            .where(dataset_versions.c.dataset == dataset)
            .scalar_subquery()
        )
        wanted = (
            dataset_versions.c.seq == newest
            if version_id is None
            else dataset_versions.c.version_id == version_id
        )
        stmt = sa.select(dataset_versions, (dataset_versions.c.seq == newest).label("latest"))
        with self.engine.connect() as conn:
            row = conn.execute(stmt.where(dataset_versions.c.dataset == dataset, wanted)).first()
        if row is None and version_id is None:
            raise DatasetError(f"dataset {dataset!r} has no versions yet; push data first")
        if row is None:
            raise DatasetError(f"dataset {dataset!r} has no version {version_id!r}")
        return _to_version(row, latest=bool(row.latest))


def _to_version(row: sa.Row, *, latest: bool) -> DatasetVersion:
    return DatasetVersion(
        version_id=row.version_id,
        dataset=row.dataset,
        message=row.message,
        created_at=to_timestamp(row.created_at_us),
        created_by=row.created_by,
        row_count=row.row_count,
        files=tuple(StoredFile(**f) for f in json.loads(row.files)),
        is_latest_version=latest,
    )
