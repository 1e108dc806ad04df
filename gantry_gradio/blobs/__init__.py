"""Blob stores hold files and binary values; records keep only their URI."""

from __future__ import annotations

from pathlib import Path

from .base import BlobStore, BlobStoreError
from .local import LocalBlobStore

__all__ = ["BlobStore", "BlobStoreError", "LocalBlobStore", "open_blob_store"]


def open_blob_store(location: str | Path, *, endpoint_url: str | None = None) -> BlobStore:
    """`s3://bucket/prefix` gives S3 (boto3, standard AWS_* settings); anything else
    is a local folder."""
    text = str(location)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"blob location {text!r} names no bucket; use s3://bucket/prefix")
        try:  # boto3 is the optional [s3] extra: only an S3 location needs it
            from .s3 import S3BlobStore
        except ImportError as exc:
            raise ImportError(
                f"blob location {text!r} needs boto3: pip install 'gantry_gradio[s3]'"
            ) from exc
        return S3BlobStore(bucket, prefix, endpoint_url=endpoint_url)
    if "://" in text and not text.startswith("file://"):
        raise ValueError(f"blob location {text!r} is neither a folder nor s3://bucket/prefix")
    return LocalBlobStore(Path(text.removeprefix("file://")))
