"""Where the bytes of evidence files live: a folder on this machine, or an S3 bucket.

``app/services/files.py`` is the only caller: it checks and cleans a file, then hands
the bytes to ``storage()`` under a generated key (``ab/ab12….jpg``). Which storage
that is comes from the configuration:

- ``STORAGE_URL`` unset (the default, the demo, one machine): ``LocalStorage`` over
  ``UPLOAD_FOLDER``;
- ``STORAGE_URL=s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=cn-east-1``
  (several machines): ``S3Storage`` through boto3, for AWS S3 or any S3-compatible
  server (MinIO, Ceph, a cloud's object storage). Query parameters, all optional:
  ``endpoint`` (omit for AWS itself), ``region``, ``addressing`` (``path`` or
  ``virtual``; ``path`` when an endpoint is given, which is what self-hosted servers
  expect). Credentials never go in the URL: boto3 reads the standard
  ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (/ ``AWS_SESSION_TOKEN``)
  environment variables, a shared credentials file or an instance role.

The interface is small on purpose: ``put``, ``open`` (a stream and its size, or None),
``exists``, ``delete`` (only the file service's rolled-back uploads, committed
deletions and the orphan sweep call it), and ``keys`` / ``entries`` (for the sweep).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

from flask import current_app

#: what a key may look like: relative, slash-separated, no "..", no odd characters
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


class StorageError(Exception):
    """The storage could not be reached or refused an operation."""


def _check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key) or ".." in key.split("/"):
        raise ValueError("not a storage key")
    return key


@dataclass
class StoredObject:
    """An object opened for reading: a binary stream (close it) and its size."""

    stream: BinaryIO
    size: int | None


class LocalStorage:
    """Files under a folder of this machine (``UPLOAD_FOLDER``)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    @property
    def description(self) -> str:
        return f"local folder {self.root}"

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": never overwrite; keys are random, so a clash means a bug
        with open(path, "xb") as fh:
            fh.write(data)

    def open(self, key: str) -> StoredObject | None:
        try:
            fh = open(self.path(key), "rb")  # noqa: SIM115 - the caller closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return StoredObject(fh, os.fstat(fh.fileno()).st_size)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        return (key for key, _modified in self.entries())

    def entries(self) -> Iterator[tuple[str, dt.datetime]]:
        """Every key with the time it was last written (UTC)."""
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
                yield path.relative_to(self.root).as_posix(), modified


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    endpoint: str | None
    region: str | None
    addressing: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError("STORAGE_URL must look like s3://bucket/prefix?endpoint=…&region=…")
        if parts.username or parts.password:
            raise ValueError(
                "STORAGE_URL must not carry credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY in the environment"
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"endpoint", "region", "addressing"}
        if unknown:
            raise ValueError(f"STORAGE_URL has unknown parameters: {', '.join(sorted(unknown))}")
        endpoint = query.get("endpoint") or None
        addressing = query.get("addressing") or ("path" if endpoint else "auto")
        if addressing not in ("path", "virtual", "auto"):
            raise ValueError("STORAGE_URL addressing must be path or virtual")
        prefix = parts.path.strip("/")
        if prefix:
            _check_key(prefix)
        return cls(parts.netloc, prefix, endpoint, query.get("region") or None, addressing)


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def _client(location: S3Location):
    """One boto3 client per endpoint, region and addressing (clients are thread-safe);
    made on first use, so after gunicorn forked its workers."""
    key = (location.endpoint, location.region, location.addressing)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.session.Session().client(
                "s3",
                endpoint_url=location.endpoint,
                region_name=location.region,
                config=Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 4, "mode": "standard"},
                    s3={"addressing_style": location.addressing},
                ),
            )
            _clients[key] = client
    return client


class S3Storage:
    """Objects in an S3 bucket (AWS or S3-compatible), under an optional prefix."""

    def __init__(self, url: str) -> None:
        self.location = S3Location.parse(url)
        self.client = _client(self.location)

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.location.bucket!r}, prefix={self.location.prefix!r})"

    @property
    def description(self) -> str:
        where = self.location.endpoint or "AWS"
        prefix = f"/{self.location.prefix}" if self.location.prefix else ""
        return f"s3://{self.location.bucket}{prefix} at {where}"

    def _name(self, key: str) -> str:
        key = _check_key(key)
        return f"{self.location.prefix}/{key}" if self.location.prefix else key

    def _fail(self, exc: Exception, what: str) -> StorageError:
        return StorageError(f"{what} failed on {self.description}: {type(exc).__name__}")

    @staticmethod
    def _missing(exc: Exception) -> bool:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        name = self._name(key)
        try:
            self.client.put_object(Bucket=self.location.bucket, Key=name, Body=data, **extra)
        except Exception as exc:
            raise self._fail(exc, "writing an object") from exc

    def open(self, key: str) -> StoredObject | None:
        name = self._name(key)
        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=name)
        except Exception as exc:
            if self._missing(exc):
                return None
            raise self._fail(exc, "reading an object") from exc
        return StoredObject(answer["Body"], answer.get("ContentLength"))

    def exists(self, key: str) -> bool:
        name = self._name(key)
        try:
            self.client.head_object(Bucket=self.location.bucket, Key=name)
        except Exception as exc:
            if self._missing(exc):
                return False
            raise self._fail(exc, "checking an object") from exc
        return True

    def delete(self, key: str) -> None:
        name = self._name(key)
        try:
            self.client.delete_object(Bucket=self.location.bucket, Key=name)
        except Exception as exc:
            raise self._fail(exc, "deleting an object") from exc

    def keys(self) -> Iterator[str]:
        return (key for key, _modified in self.entries())

    def entries(self) -> Iterator[tuple[str, dt.datetime]]:
        """Every key under the prefix with the time it was last written (UTC)."""
        prefix = f"{self.location.prefix}/" if self.location.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.location.bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    yield item["Key"][len(prefix) :], item["LastModified"]
        except Exception as exc:
            raise self._fail(exc, "listing objects") from exc


Storage = LocalStorage | S3Storage


def storage_for(config) -> Storage:
    """The storage a configuration names: S3 when ``STORAGE_URL`` is set, else the
    local ``UPLOAD_FOLDER``."""
    url = config.get("STORAGE_URL")
    if url:
        return S3Storage(url)
    return LocalStorage(config["UPLOAD_FOLDER"])


def storage() -> Storage:
    """The current app's evidence storage (read from its config on every call, so a
    test that changes ``UPLOAD_FOLDER`` or ``STORAGE_URL`` gets the new one; the boto3
    client behind S3 is made once)."""
    return storage_for(current_app.config)


def check(store: Storage | None = None) -> dict[str, float]:
    """Write, read back, check and delete a probe object; the milliseconds each step
    took. Raises ``StorageError`` (or the storage's own error) when a step fails."""
    import secrets
    import time

    store = store or storage()
    key = f"storage-check/{secrets.token_hex(16)}.txt"
    data = secrets.token_bytes(64)
    took: dict[str, float] = {}

    def timed(step, fn):
        start = time.perf_counter()
        result = fn()
        took[step] = (time.perf_counter() - start) * 1000
        return result

    timed("write", lambda: store.put(key, data, "text/plain"))
    try:
        opened = timed("read", lambda: store.open(key))
        if opened is None:
            raise StorageError("the probe object just written cannot be read")
        try:
            if opened.stream.read() != data:
                raise StorageError("the probe object read back differs from what was written")
        finally:
            opened.stream.close()
    finally:
        timed("delete", lambda: store.delete(key))
    if store.exists(key):
        raise StorageError("the probe object is still there after it was deleted")
    return took
