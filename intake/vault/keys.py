"""Key providers: wrap and unwrap per-object data keys under a key-encryption key (KEK).

``local:/path/to/kek`` keeps versioned KEKs in one JSON file created 0600 on
first run; rotation adds a version and keeps the old ones so existing data
keys still unwrap until they are re-wrapped. ``kms:<key id or arn>`` asks AWS
KMS (``AWS_ENDPOINT_URL`` honoured) for data keys with an encryption context
bound to the vault object, so a wrapped key cannot be replayed for another.

Plaintext data keys are returned to the caller and never logged or stored.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import stat
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from intake.vault.crypto import KEY_BYTES
from intake.vault.errors import IntegrityFailure, KeyProviderUnavailable, UnknownKey, VaultError

LOCAL_FORMAT = "assay-kek/v1"


def write_key_file(path: Path, document: dict) -> None:
    """Atomic replace with a 0600 temp file, so readers never see half a key file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class DataKey:
    plaintext: bytes
    wrapped: bytes
    kek_id: str


class KeyProvider(Protocol):
    uri: str

    def generate_data_key(self, *, context: dict[str, str]) -> DataKey: ...
    def wrap(self, *, plaintext: bytes, context: dict[str, str]) -> tuple[bytes, str]: ...
    def unwrap(self, *, wrapped: bytes, kek_id: str, context: dict[str, str]) -> bytes: ...
    def rewrap(self, *, wrapped: bytes, kek_id: str, context: dict[str, str]) -> tuple[bytes, str]: ...
    def current_kek_id(self) -> str: ...
    def rotate(self) -> str: ...


def _context_bytes(context: dict[str, str]) -> bytes:
    return b"assay-data-key/v1\n" + json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


class LocalKeyProvider:
    """KEKs in a local 0600 file. Safe for several processes: writers take an exclusive flock."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.uri = f"local:{self.path}"
        self._keys: dict[str, bytes] = {}
        self._current = ""
        self._loaded_mtime: int | None = None
        self._lock = threading.Lock()

    # -- file handling -------------------------------------------------------------------------
    def _lockfile(self):  # noqa: ANN202
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        return os.fdopen(fd, "r+")

    @staticmethod
    def _new_entry() -> tuple[str, bytes, dict]:
        secret = AESGCM.generate_key(bit_length=256)
        # The id is derived from the key itself: a different KEK file can never claim the same id.
        kek_id = "kek-" + hashlib.sha256(b"assay-kek-id\n" + secret).hexdigest()[:16]
        created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return kek_id, secret, {"id": kek_id, "created_at": created, "key": base64.b64encode(secret).decode()}

    def _write(self, document: dict) -> None:
        write_key_file(self.path, document)

    def _read_document(self) -> dict:
        mode = self.path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise VaultError(f"key file {self.path} is accessible to group or others; it must be mode 0600")
        try:
            document = json.loads(self.path.read_text())
            if document.get("format") != LOCAL_FORMAT:
                raise ValueError("format")
            return document
        except (ValueError, KeyError) as exc:
            raise VaultError(f"key file {self.path} is not an Assay KEK file") from exc

    def _ensure(self) -> None:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                with self._lockfile() as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    if not self.path.exists():
                        kek_id, _secret, entry = self._new_entry()
                        self._write({"format": LOCAL_FORMAT, "current": kek_id, "keys": [entry]})
                mtime = self.path.stat().st_mtime_ns
            if mtime == self._loaded_mtime:
                return
            document = self._read_document()
            self._keys = {entry["id"]: base64.b64decode(entry["key"]) for entry in document["keys"]}
            self._current = document["current"]
            if self._current not in self._keys or any(len(k) != KEY_BYTES for k in self._keys.values()):
                raise VaultError(f"key file {self.path} is inconsistent")
            self._loaded_mtime = mtime

    def _kek(self, kek_id: str) -> bytes:
        self._ensure()
        if kek_id not in self._keys:
            self._loaded_mtime = None  # another process may have rotated: re-read once
            self._ensure()
        try:
            return self._keys[kek_id]
        except KeyError:
            raise UnknownKey(f"data key is wrapped by key {kek_id!r}, which {self.path} does not hold") from None

    # -- provider interface --------------------------------------------------------------------
    def current_kek_id(self) -> str:
        self._ensure()
        return self._current

    def wrap(self, *, plaintext: bytes, context: dict[str, str]) -> tuple[bytes, str]:
        kek_id = self.current_kek_id()
        nonce = os.urandom(12)
        return nonce + AESGCM(self._kek(kek_id)).encrypt(nonce, plaintext, _context_bytes(context)), kek_id

    def generate_data_key(self, *, context: dict[str, str]) -> DataKey:
        plaintext = AESGCM.generate_key(bit_length=256)
        wrapped, kek_id = self.wrap(plaintext=plaintext, context=context)
        return DataKey(plaintext=plaintext, wrapped=wrapped, kek_id=kek_id)

    def unwrap(self, *, wrapped: bytes, kek_id: str, context: dict[str, str]) -> bytes:
        kek = self._kek(kek_id)
        try:
            return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], _context_bytes(context))
        except (InvalidTag, ValueError):
            raise IntegrityFailure("wrapped data key does not unwrap (tampered, or bound to another object)") from None

    def rewrap(self, *, wrapped: bytes, kek_id: str, context: dict[str, str]) -> tuple[bytes, str]:
        return self.wrap(plaintext=self.unwrap(wrapped=wrapped, kek_id=kek_id, context=context), context=context)

    def rotate(self) -> str:
        """Add a new current KEK version; old versions stay so existing wrapped keys still open."""
        self._ensure()
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = self._read_document()
            kek_id, _secret, entry = self._new_entry()
            document["keys"].append(entry)
            document["current"] = kek_id
            self._write(document)
        self._loaded_mtime = None
        return self.current_kek_id()

    def retire(self, kek_ids: set[str]) -> None:
        """Forget old KEK versions (only once nothing is wrapped under them any more)."""
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = self._read_document()
            if document["current"] in kek_ids:
                raise VaultError("the current key cannot be retired")
            document["keys"] = [entry for entry in document["keys"] if entry["id"] not in kek_ids]
            self._write(document)
        self._loaded_mtime = None


class KmsKeyProvider:
    """AWS KMS: GenerateDataKey / Decrypt / ReEncrypt with the object's encryption context."""

    _UNWRAP_REFUSED = {"InvalidCiphertextException", "IncorrectKeyException"}
    _UNKNOWN = {"NotFoundException"}

    def __init__(self, key_id: str):
        if not key_id:
            raise VaultError("ASSAY_KEY_PROVIDER=kms: needs a key id or ARN")
        self.key_id = key_id
        self.uri = f"kms:{key_id}"
        self._client = None
        self._arn: str | None = None

    @property
    def client(self):  # noqa: ANN201
        if self._client is None:
            import boto3
            from botocore.config import Config

            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            self._client = boto3.client(
                "kms", region_name=region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"}))
        return self._client

    def _call(self, operation: str, **kwargs):  # noqa: ANN003, ANN202
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in self._UNWRAP_REFUSED:
                raise IntegrityFailure("KMS refused to unwrap the data key (tampered, or bound to another "
                                       "object)") from None
            if code in self._UNKNOWN:
                raise UnknownKey(f"KMS does not know key {kwargs.get('KeyId', self.key_id)!r}") from None
            raise KeyProviderUnavailable(f"KMS {operation} failed: {code or 'error'}") from None
        except BotoCoreError as exc:
            raise KeyProviderUnavailable(f"KMS is unavailable ({exc.__class__.__name__}); retry later") from None

    def current_kek_id(self) -> str:
        """The key's ARN: KMS names the wrapping key by ARN, whatever alias or id we were configured with."""
        if self._arn is None:
            self._arn = self._call("describe_key", KeyId=self.key_id)["KeyMetadata"]["Arn"]
        return self._arn

    def generate_data_key(self, *, context: dict[str, str]) -> DataKey:
        response = self._call("generate_data_key", KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=context)
        return DataKey(plaintext=response["Plaintext"], wrapped=response["CiphertextBlob"], kek_id=response["KeyId"])

    def wrap(self, *, plaintext: bytes, context: dict[str, str]) -> tuple[bytes, str]:
        response = self._call("encrypt", KeyId=self.key_id, Plaintext=plaintext, EncryptionContext=context)
        return response["CiphertextBlob"], response["KeyId"]

    def unwrap(self, *, wrapped: bytes, kek_id: str, context: dict[str, str]) -> bytes:
        response = self._call("decrypt", CiphertextBlob=wrapped, EncryptionContext=context, KeyId=kek_id)
        plaintext = response["Plaintext"]
        if len(plaintext) != KEY_BYTES:
            raise IntegrityFailure("KMS returned a data key of the wrong length")
        return plaintext

    def rewrap(self, *, wrapped: bytes, kek_id: str, context: dict[str, str]) -> tuple[bytes, str]:
        response = self._call("re_encrypt", CiphertextBlob=wrapped, SourceEncryptionContext=context,
                              SourceKeyId=kek_id, DestinationKeyId=self.key_id,
                              DestinationEncryptionContext=context)
        return response["CiphertextBlob"], response["KeyId"]

    def rotate(self) -> str:
        # KMS rotates its own key material (EnableKeyRotation); rotating here means re-wrapping
        # every data key under the configured key id, which rewrap() does.
        return self.current_kek_id()


_providers: dict[str, KeyProvider] = {}
_providers_lock = threading.Lock()


def key_provider_from_uri(uri: str) -> KeyProvider:
    """One provider instance per URI per process (so the local KEK file is parsed once)."""
    with _providers_lock:
        provider = _providers.get(uri)
        if provider is None:
            scheme, _, rest = uri.partition(":")
            if scheme == "local" and rest:
                provider = LocalKeyProvider(Path(rest))
            elif scheme == "kms":
                provider = KmsKeyProvider(rest)
            else:
                raise VaultError("ASSAY_KEY_PROVIDER must be local:/path/to/kek or kms:<key id or arn>")
            _providers[uri] = provider
        return provider


def key_provider() -> KeyProvider:
    from django.conf import settings

    return key_provider_from_uri(settings.ASSAY_KEY_PROVIDER)
