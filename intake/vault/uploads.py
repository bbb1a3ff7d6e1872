"""An upload handler that never writes plaintext to disk.

Django spools uploads larger than FILE_UPLOAD_MAX_MEMORY_SIZE to a temp file
in clear. This handler spools them encrypted instead: the chunked AES-256-GCM
format under a key that exists only in this process's memory, in an unlinked
0600 temp file. The view sees an ordinary uploaded file whose reads decrypt,
so ``artifact_add(stream=request.FILES[...])`` works unchanged and the only
plaintext at rest is what the vault has encrypted.
"""

from __future__ import annotations

import io
import tempfile
import uuid

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from intake.errors import TooLarge
from intake.vault.crypto import ChunkSealer, new_data_key, open_decrypting

SPOOL_CHUNK_BYTES = 256 * 1024


class _DecryptingSpool(io.RawIOBase):
    """Read (and rewind) the plaintext of an encrypted spool file."""

    def __init__(self, spool, *, key: bytes, object_id: uuid.UUID):  # noqa: ANN001
        super().__init__()
        self._spool, self._key, self._object_id = spool, key, object_id
        self._reader = None
        self.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("an encrypted upload can only be rewound to its start")
        self._spool.seek(0)
        # The reader must not close the spool: rewinding re-reads it.
        self._reader = open_decrypting(_Unclosable(self._spool), key=self._key, expected_object_id=self._object_id)
        return 0

    def tell(self) -> int:
        raise io.UnsupportedOperation("tell")

    def readinto(self, target) -> int:  # noqa: ANN001
        return self._reader.readinto(target)

    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)

    def close(self) -> None:
        if not self.closed:
            self._key = b""
            self._spool.close()
            super().close()


class _Unclosable:
    def __init__(self, handle):  # noqa: ANN001
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def close(self) -> None:
        pass


class EncryptedUploadedFile(UploadedFile):
    def __init__(self, spool: _DecryptingSpool, *, name: str, content_type: str, size: int, charset, content_type_extra):  # noqa: ANN001
        super().__init__(spool, name, content_type, size, charset, content_type_extra)

    def open(self, mode=None):  # noqa: ANN001, ANN201
        self.file.seek(0)
        return self


class EncryptedTemporaryFileUploadHandler(FileUploadHandler):
    chunk_size = SPOOL_CHUNK_BYTES

    def new_file(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().new_file(*args, **kwargs)
        self._key = new_data_key()
        self._object_id = uuid.uuid4()
        # An unlinked temp file (O_TMPFILE where available): nothing to clean up if the process dies.
        self._spool = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)
        self._sealer = ChunkSealer(self._spool.write, key=self._key, object_id=self._object_id,
                                   chunk_size=SPOOL_CHUNK_BYTES)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        limit = settings.ASSAY_MAX_ARTIFACT_BYTES
        if self._sealer.size + len(raw_data) > limit:
            self.upload_interrupted()
            raise TooLarge(f"artifact is larger than the {limit} byte limit")
        self._sealer.feed(raw_data)

    def file_complete(self, file_size: int) -> EncryptedUploadedFile:
        self._sealer.finish()
        self._spool.flush()
        spool = _DecryptingSpool(self._spool, key=self._key, object_id=self._object_id)
        self._key = b""
        return EncryptedUploadedFile(spool, name=self.file_name, content_type=self.content_type, size=file_size,
                                     charset=self.charset, content_type_extra=self.content_type_extra)

    def upload_interrupted(self) -> None:
        spool = getattr(self, "_spool", None)
        if spool is not None:
            spool.close()
