"""Artifact storage behind one interface.

``artifact_store()`` returns the encrypted vault (intake.vault.services.VaultStore):
put(stream, *, max_bytes, artifact_id) -> StoredObject (sha256 of the plaintext),
open(key, *, access, purpose=None, reason="") -> readable plaintext stream,
delete(key). ``open`` decrypts only for what ``access`` allows: a person's
decision from the access kernel (intake.access) or a named system purpose
(intake.access.SystemRead); the vault records which in its audit event. The plain
PrivateFileStore below is kept only as the reference implementation of the
interface; nothing in production uses it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings

from intake.errors import TooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ArtifactStore(Protocol):
    def put(self, stream: BinaryIO, *, max_bytes: int, artifact_id: str) -> StoredObject: ...
    def open(self, key: str, *, access, purpose: str | None = None, reason: str = "") -> BinaryIO: ...  # noqa: ANN001
    def delete(self, key: str) -> None: ...


class PrivateFileStore:
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        if not key.replace("-", "").isalnum():
            raise ValueError("invalid storage key")
        return self.root / key

    def put(self, stream: BinaryIO, *, max_bytes: int, artifact_id: str) -> StoredObject:
        key = uuid.uuid4().hex
        path = self._path(key)
        digest = hashlib.sha256()
        size = 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"artifact is larger than the {max_bytes} byte limit")
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StoredObject(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def artifact_store() -> ArtifactStore:
    from intake.vault.services import vault_store

    return vault_store()
