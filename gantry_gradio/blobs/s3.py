"""Blobs on S3 or any S3-compatible server, through boto3."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import ClientError

from .base import BlobStoreError, partial_path

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    """Objects are written without an ACL, so they stay private to the bucket
    owner; readers get short-lived presigned URLs instead of public links."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # The delivery worker retries with its own backoff; keep boto3's short.
        config = Config(
            signature_version="s3v4",
            retries={"max_attempts": 2},
            connect_timeout=5,
            read_timeout=60,
        )
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _exists(self, object_key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise self._explain(exc) from exc
        return True

    def put_file(self, key: str, path: Path, content_type: str) -> None:
        object_key = self._key(key)
        if self._exists(object_key):
            return
        try:
            self.client.upload_file(
                str(path), self.bucket, object_key, ExtraArgs={"ContentType": content_type}
            )
        except S3UploadFailedError as exc:
            cause = exc.__context__
            if isinstance(cause, ClientError):
                raise self._explain(cause) from exc
            raise BlobStoreError(f"upload to bucket {self.bucket!r} failed: {exc}") from exc

    def _split(self, uri: str) -> str:
        """The object key of a URI of this store, refused unless it lies under the
        prefix as a whole path segment: a store at `s3://b/monitoring` must not
        read or sign `s3://b/monitoring-finance/...`. Empty, `.` and `..` segments
        are refused too, since some S3 servers and every browser collapse them."""
        head = f"s3://{self.bucket}/"
        key = uri[len(head) :] if isinstance(uri, str) and uri.startswith(head) else ""
        inside = key.startswith(f"{self.prefix}/") if self.prefix else bool(key)
        if not inside or any(part in ("", ".", "..") for part in key.split("/")):
            raise BlobStoreError(
                f"{uri!r} is not in this blob store (s3://{self.bucket}/{self.prefix})"
            )
        return key

    def read(self, uri: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._split(uri))["Body"].read()
        except ClientError as exc:
            raise self._explain(exc) from exc

    def replace_bytes(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )
        except ClientError as exc:
            raise self._explain(exc) from exc

    def delete(self, uri: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._split(uri))
        except ClientError as exc:
            raise self._explain(exc) from exc

    def fetch(self, uri: str, cache_dir: Path) -> Path:
        """A local copy under `cache_dir`, downloaded once: lake files are never
        rewritten under the same name, so a copy never goes stale. Why not let
        the query engine read S3 itself: DuckDB's httpfs is an extension it
        downloads on first use, which an offline machine cannot."""
        key = self._split(uri)
        target = Path(cache_dir) / self.bucket / key
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = partial_path(target)
        try:
            self.client.download_file(self.bucket, key, str(partial))
        except ClientError as exc:
            partial.unlink(missing_ok=True)
            raise self._explain(exc) from exc
        os.replace(partial, target)
        return target

    def list_files(self, prefix: str) -> list[tuple[str, float]]:
        found = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    uri = f"s3://{self.bucket}/{item['Key']}"
                    found.append((uri, item["LastModified"].timestamp()))
        except ClientError as exc:
            raise self._explain(exc) from exc
        return found

    def url(self, uri: str, *, expires_in: int = 3600) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._split(uri)},
            ExpiresIn=expires_in,
        )

    def _explain(self, exc: ClientError) -> BlobStoreError:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            return BlobStoreError(
                f"S3 bucket {self.bucket!r} does not exist; create it "
                f"(aws s3 mb s3://{self.bucket}) or point GANTRY_BLOBS elsewhere"
            )
        if code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
            return BlobStoreError(
                f"S3 refused access to bucket {self.bucket!r} ({code}); check the AWS_* credentials"
            )
        return BlobStoreError(f"S3 error on bucket {self.bucket!r}: {exc}")
