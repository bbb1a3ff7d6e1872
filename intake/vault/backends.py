"""Where ciphertext lives: a local 0700 directory (embedded default) or S3.

Backends only ever see ciphertext. A writer is all-or-nothing: nothing is
visible under the object's name until ``commit()``, and ``abort()`` leaves no
partial object behind (a temp file removed, a multipart upload aborted).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlparse

from intake.vault.errors import ObjectMissing, StorageUnavailable, VaultError

NAME_RE = re.compile(r"^[0-9a-f]{32}$")
S3_PART_BYTES = 8 * 1024 * 1024  # S3 needs parts of at least 5 MiB (except the last)


def _check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise VaultError("invalid vault object name")
    return name


class ObjectWriter(Protocol):
    def write(self, data: bytes) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class StorageBackend(Protocol):
    uri: str

    def writer(self, name: str) -> ObjectWriter: ...
    def open(self, name: str) -> BinaryIO: ...
    def delete(self, name: str) -> None: ...
    def exists(self, name: str) -> bool: ...


class _FileWriter:
    def __init__(self, final: Path, partial: Path):
        self._final, self._partial = final, partial
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._handle = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def commit(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self._partial, self._final)

    def abort(self) -> None:
        if not self._handle.closed:
            self._handle.close()
        self._partial.unlink(missing_ok=True)


class FileBackend:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.uri = f"file://{self.root}"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.root / ".partial").mkdir(exist_ok=True, mode=0o700)

    def _path(self, name: str) -> Path:
        name = _check_name(name)
        return self.root / name[:2] / name

    def writer(self, name: str) -> ObjectWriter:
        return _FileWriter(self._path(name), self.root / ".partial" / _check_name(name))

    def open(self, name: str) -> BinaryIO:
        try:
            return self._path(name).open("rb")
        except FileNotFoundError:
            raise ObjectMissing(f"vault object {name} is not in storage") from None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)
        (self.root / ".partial" / name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).exists()


def _s3_errors(operation: str):  # noqa: ANN202
    """Translate boto errors into vault errors without leaking request details."""
    from botocore.exceptions import BotoCoreError, ClientError

    class _Translate:
        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, exc_type, exc, tb):  # noqa: ANN001, ANN204
            if exc is None:
                return False
            if isinstance(exc, ClientError):
                code = exc.response.get("Error", {}).get("Code", "")
                if code in ("NoSuchKey", "404", "NotFound"):
                    raise ObjectMissing("vault object is not in storage") from None
                raise StorageUnavailable(f"S3 {operation} failed: {code or 'error'}") from None
            if isinstance(exc, BotoCoreError):
                raise StorageUnavailable(f"S3 is unavailable ({exc.__class__.__name__}); retry later") from None
            return False

    return _Translate()


class _S3Writer:
    """Buffers one part; small objects become one PutObject, large ones a multipart upload."""

    def __init__(self, backend: S3Backend, key: str, part_bytes: int):
        self._backend, self._key, self._part_bytes = backend, key, part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []

    def _flush_part(self) -> None:
        client = self._backend.client
        with _s3_errors("upload"):
            if self._upload_id is None:
                self._upload_id = client.create_multipart_upload(Bucket=self._backend.bucket, Key=self._key)["UploadId"]
            number = len(self._parts) + 1
            response = client.upload_part(Bucket=self._backend.bucket, Key=self._key, UploadId=self._upload_id,
                                          PartNumber=number, Body=bytes(self._buffer))
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer.clear()

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= self._part_bytes:
            self._flush_part()

    def commit(self) -> None:
        client = self._backend.client
        if self._upload_id is None:
            with _s3_errors("upload"):
                client.put_object(Bucket=self._backend.bucket, Key=self._key, Body=bytes(self._buffer))
            self._buffer.clear()
            return
        if self._buffer:
            self._flush_part()
        with _s3_errors("upload"):
            client.complete_multipart_upload(Bucket=self._backend.bucket, Key=self._key, UploadId=self._upload_id,
                                             MultipartUpload={"Parts": self._parts})

    def abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            try:
                with _s3_errors("abort"):
                    self._backend.client.abort_multipart_upload(Bucket=self._backend.bucket, Key=self._key,
                                                                UploadId=self._upload_id)
            except StorageUnavailable:
                pass  # an abandoned multipart upload holds only ciphertext; a bucket lifecycle rule expires it


class S3Backend:
    def __init__(self, bucket: str, prefix: str = "", *, part_bytes: int = S3_PART_BYTES):
        if not bucket:
            raise VaultError("ASSAY_VAULT=s3:// needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_bytes = part_bytes
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = None

    @property
    def client(self):  # noqa: ANN201
        if self._client is None:
            import boto3
            from botocore.config import Config

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            self._client = boto3.client(
                "s3", region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}))
        return self._client

    def _key(self, name: str) -> str:
        name = _check_name(name)
        return f"{self.prefix}/{name}" if self.prefix else name

    def writer(self, name: str) -> ObjectWriter:
        return _S3Writer(self, self._key(name), self.part_bytes)

    def open(self, name: str) -> BinaryIO:
        with _s3_errors("download"):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]

    def delete(self, name: str) -> None:
        with _s3_errors("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def exists(self, name: str) -> bool:
        try:
            with _s3_errors("head"):
                self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ObjectMissing:
            return False
        return True


def backend_from_uri(uri: str) -> StorageBackend:
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.path:
        return FileBackend(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        return S3Backend(parsed.netloc, parsed.path)
    raise VaultError("ASSAY_VAULT must be file:///path or s3://bucket/prefix")
