"""A versioned dataset: immutable files on the blob store (S3 or a folder),
pulled into pandas, HuggingFace datasets or a local folder, edited, and
pushed back as a new version."""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..blobs import BlobStore
from .registry import DatasetError, DatasetRegistry, DatasetVersion, StoredFile
from .splits import SPLITS, splits_of

if TYPE_CHECKING:
    import datasets as hf_datasets

_READERS = {".parquet": pd.read_parquet, ".csv": pd.read_csv}
_CONTENT_TYPES = {".parquet": "application/vnd.apache.parquet", ".csv": "text/csv"}
FORMATS = ("parquet", "csv")


class Dataset:
    """Get one from `Client.create_dataset` / `get_dataset`."""

    def __init__(self, name: str, registry: DatasetRegistry, blobs: BlobStore) -> None:
        self.name = name
        self._registry = registry
        self._blobs = blobs

    def __repr__(self) -> str:
        return f"Dataset({self.name!r})"

    # -- writing -------------------------------------------------------------------

    def push(
        self, data: pd.DataFrame | str | Path, message: str, *, file_format: str = "parquet"
    ) -> DatasetVersion:
        """A new latest version holding exactly `data`: a DataFrame (one file,
        Parquet by default so column types survive; "csv" as Gantry wrote) or
        a folder, whose files are stored under their relative paths."""
        if not isinstance(message, str) or not message.strip():
            raise DatasetError("push needs a message saying what changed")
        if isinstance(data, pd.DataFrame):
            if file_format not in FORMATS:
                raise DatasetError(f"file_format must be one of {FORMATS}, not {file_format!r}")
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"data.{file_format}"
                write_table(data, path)
                return self.add_files([(path.name, path)], message, len(data))
        folder = Path(data)
        if not folder.is_dir():
            raise DatasetError(f"push takes a DataFrame or a folder; {str(folder)!r} is neither")
        files = sorted(
            (p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file()
        )
        if not files:
            raise DatasetError(f"folder {str(folder)!r} has no files to push")
        return self.add_files(files, message, _count_rows(p for _, p in files))

    def add_files(
        self,
        files: list[tuple[str, Path]],
        message: str,
        row_count: int | None,
        *,
        keep: Iterable[StoredFile] = (),
    ) -> DatasetVersion:
        """Upload `files` under a fresh version id, then record the version
        (with `keep`, files of an earlier version it still contains). Files go
        first, so a version is never visible before its files are stored."""
        version_id = uuid.uuid4().hex
        stored = {f.name: f for f in keep}
        for name, path in files:
            key = f"datasets/{self.name}/{version_id}/{name}"
            content_type = _CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
            self._blobs.put_file(key, path, content_type)
            stored[name] = StoredFile(name, self._blobs.uri_for(key), path.stat().st_size)
        ordered = [stored[name] for name in sorted(stored)]
        return self._registry.add_version(self.name, version_id, message, ordered, row_count)

    def rollback(self, version_id: str) -> DatasetVersion:
        """A new latest version with the files of an old one; history is kept."""
        old = self._registry.version(self.name, version_id)
        return self.add_files(
            [], f"Rollback to version {version_id}", old.row_count, keep=old.files
        )

    # -- reading -------------------------------------------------------------------

    def latest_version(self) -> DatasetVersion | None:
        return self._registry.latest(self.name)

    def list_versions(self) -> list[dict[str, Any]]:
        """Newest first."""
        return [v.to_dict() for v in self._registry.versions(self.name)]

    def pull(self, version_id: str | None = None, path: str | Path = ".") -> Path:
        """Download a version (default: the latest) into
        `path/<dataset>/<version_id>/` and return that folder."""
        version = self._registry.version(self.name, version_id)
        target = Path(path) / self.name / version.version_id
        for stored in version.files:
            local = (target / stored.name).resolve()
            if not local.is_relative_to(target.resolve()):
                raise DatasetError(f"file name {stored.name!r} would land outside {target}")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(self._blobs.read(stored.uri))
        return target

    def get_pandas(
        self, version_id: str | None = None, *, split: str | None = None
    ) -> pd.DataFrame:
        """The version's tabular files (Parquet, CSV), in name order, as one
        frame; with `split` ("train", "validation" or "test") only its rows
        (see `with_splits`)."""
        if split is not None and split not in SPLITS:
            raise DatasetError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        frame = self._read(version_id)
        if split is None:
            return frame
        frame = with_splits(frame, self.name)
        return frame[frame["split"] == split].reset_index(drop=True)

    def _read(self, version_id: str | None) -> pd.DataFrame:
        version = self._registry.version(self.name, version_id)
        frames = [
            _READERS[Path(f.name).suffix](io.BytesIO(self._blobs.read(f.uri)))
            for f in version.files
            if Path(f.name).suffix in _READERS
        ]
        if not frames:
            raise DatasetError(
                f"version {version.version_id} of {self.name!r} has no CSV or Parquet file"
            )
        return pd.concat(frames, ignore_index=True)

    def get_huggingface_dataset(self, version_id: str | None = None) -> hf_datasets.DatasetDict:
        """The version as a `datasets.DatasetDict` (`pip install datasets`):
        train / validation / test when its rows have a split or a join key
        (see `with_splits`), else one `train` split."""
        try:
            import datasets as hf_datasets
        except ImportError:
            raise ImportError(
                "get_huggingface_dataset needs the datasets package: pip install datasets"
            ) from None
        frame = self._read(version_id)
        if "split" not in frame.columns and "join_key" not in frame.columns:
            train = hf_datasets.Dataset.from_pandas(frame, preserve_index=False)
            return hf_datasets.DatasetDict({"train": train})
        frame = with_splits(frame, self.name)
        return hf_datasets.DatasetDict(
            {
                name: hf_datasets.Dataset.from_pandas(
                    frame[frame["split"] == name].reset_index(drop=True), preserve_index=False
                )
                for name in SPLITS
            }
        )


def with_splits(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The frame with its `split` column: kept as stored (a labeled dataset
    writes it), else from each row's join key, so a record keeps its split
    in every version of every dataset."""
    if "split" in frame.columns:
        return frame
    if "join_key" not in frame.columns:
        raise DatasetError(
            f"dataset {dataset!r} has neither a split nor a join_key column to split by"
        )
    return frame.assign(split=splits_of(frame["join_key"]))


def write_table(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def _count_rows(paths: Iterable[Path]) -> int | None:
    """Rows of the tabular files, or None when the folder has none."""
    tables = [p for p in paths if p.suffix in _READERS]
    if not tables:
        return None
    return sum(len(_READERS[p.suffix](p)) for p in tables)
