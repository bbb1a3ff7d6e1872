"""The platform's Ed25519 signing keys: sign, verify, rotate, publish.

The private key lives at ``settings.ASSAY_SIGNING_KEY`` (PKCS#8 PEM, 0600,
created on first use). Beside it, ``<name>.published.json`` lists every public
key the platform has signed with, each with a validity period, so a document
signed before a rotation still verifies afterwards. A rotation writes a new
private key over the old one (the old private key is destroyed) and closes the
old public key's validity period.

Key ids are derived from the public key (``ed25519:<16 hex>``), so a verifier
needs nothing but the published keys file. Deletion receipts and reports both
use this module.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PUBLISHED_FORMAT = "assay-signing-keys/v1"
ALGORITHM = "Ed25519"


class SignatureInvalid(Exception):
    """Verification failed; the message is the reason, fit to show to whoever is verifying."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    public_key: Ed25519PublicKey
    not_before: datetime
    not_after: datetime | None

    def valid_at(self, moment: datetime) -> bool:
        return self.not_before <= moment and (self.not_after is None or moment <= self.not_after)

    def as_dict(self) -> dict:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"key_id": self.key_id, "alg": ALGORITHM, "public_key": base64.b64encode(raw).decode(),
                "not_before": _iso(self.not_before), "not_after": _iso(self.not_after) if self.not_after else None}


def load_published_keys(document: dict) -> list[PublishedKey]:
    """Parse a published keys document (e.g. downloaded from the platform) for offline verification."""
    if not isinstance(document, dict) or document.get("format") != PUBLISHED_FORMAT:
        raise SignatureInvalid("not an Assay published signing keys document")
    keys = []
    try:
        for entry in document["keys"]:
            if entry.get("alg") != ALGORITHM:
                continue
            public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(entry["public_key"], validate=True))
            if key_id_for(public_key) != entry["key_id"]:
                raise SignatureInvalid(f"published key {entry['key_id']} does not match its public key")
            keys.append(PublishedKey(entry["key_id"], public_key, parse_time(entry["not_before"]),
                                     parse_time(entry["not_after"]) if entry.get("not_after") else None))
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureInvalid("published signing keys document is malformed") from exc
    return keys


class SigningKeyring:
    def __init__(self, private_path: Path):
        self.private_path = Path(private_path)
        self.published_path = self.private_path.with_name(self.private_path.stem + ".published.json")
        self._lock = threading.Lock()
        self._cached: tuple[int, Ed25519PrivateKey] | None = None

    def _lockfile(self):  # noqa: ANN202
        self.private_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.private_path.with_name(self.private_path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        return os.fdopen(fd, "r+")

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _read_published(self) -> list[dict]:
        if not self.published_path.exists():
            return []
        document = json.loads(self.published_path.read_text())
        return list(document.get("keys", []))

    def _write_published(self, entries: list[dict]) -> None:
        body = json.dumps({"format": PUBLISHED_FORMAT, "keys": entries}, indent=1).encode()
        self._write_atomic(self.published_path, body)
        os.chmod(self.published_path, 0o644)  # public by design

    def _private_key(self) -> Ed25519PrivateKey:
        with self._lock:
            try:
                mtime = self.private_path.stat().st_mtime_ns
            except FileNotFoundError:
                self._create_first_key()
                mtime = self.private_path.stat().st_mtime_ns
            if self._cached is None or self._cached[0] != mtime:
                key = serialization.load_pem_private_key(self.private_path.read_bytes(), password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise ValueError(f"{self.private_path} is not an Ed25519 private key")
                self._cached = (mtime, key)
                self._ensure_published(key)
            return self._cached[1]

    @staticmethod
    def _pem(key: Ed25519PrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    def _create_first_key(self) -> None:
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.private_path.exists():
                return
            self._write_atomic(self.private_path, self._pem(Ed25519PrivateKey.generate()))

    def _ensure_published(self, key: Ed25519PrivateKey) -> None:
        """Record the current public key in the published file (once), if we may write there."""
        key_id = key_id_for(key.public_key())
        entries = self._read_published()
        if any(entry["key_id"] == key_id for entry in entries):
            return
        try:
            with self._lockfile() as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                entries = self._read_published()
                if not any(entry["key_id"] == key_id for entry in entries):
                    now = datetime.now(timezone.utc).replace(microsecond=0)
                    entries.append(PublishedKey(key_id, key.public_key(), now, None).as_dict())
                    self._write_published(entries)
        except OSError:
            pass  # a read-only key mount: published_keys() still includes the current key

    # -- public API -----------------------------------------------------------------------------
    def sign(self, data: bytes) -> tuple[str, bytes]:
        key = self._private_key()
        return key_id_for(key.public_key()), key.sign(data)

    def current_key_id(self) -> str:
        return key_id_for(self._private_key().public_key())

    def published_keys(self) -> list[PublishedKey]:
        key = self._private_key()
        keys = load_published_keys({"format": PUBLISHED_FORMAT, "keys": self._read_published()})
        current = key_id_for(key.public_key())
        if not any(k.key_id == current for k in keys):
            keys.append(PublishedKey(current, key.public_key(), datetime(1970, 1, 1, tzinfo=timezone.utc), None))
        return keys

    def published_json(self) -> dict:
        return {"format": PUBLISHED_FORMAT, "keys": [k.as_dict() for k in self.published_keys()]}

    def rotate(self) -> str:
        """Replace the private key; the old public key stays published with its validity closed."""
        self._private_key()
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            now = datetime.now(timezone.utc).replace(microsecond=0)
            new_key = Ed25519PrivateKey.generate()
            entries = self._read_published()
            for entry in entries:
                if entry.get("not_after") is None:
                    entry["not_after"] = _iso(now)
            entries.append(PublishedKey(key_id_for(new_key.public_key()), new_key.public_key(), now, None).as_dict())
            # Publish first: a crash between the writes leaves a published key that was never used,
            # never a signature no one can verify.
            self._write_published(entries)
            self._write_atomic(self.private_path, self._pem(new_key))
        with self._lock:
            self._cached = None
        return key_id_for(new_key.public_key())


def verify(data: bytes, *, key_id: str, signature: bytes, keys: list[PublishedKey],
           signed_at: datetime | None = None) -> PublishedKey:
    """Check ``signature`` over ``data`` by ``key_id`` among ``keys``; raise SignatureInvalid with the reason."""
    match = next((k for k in keys if k.key_id == key_id), None)
    if match is None:
        raise SignatureInvalid(f"unknown signing key {key_id}")
    try:
        match.public_key.verify(signature, data)
    except InvalidSignature:
        raise SignatureInvalid("bad signature: the document was altered or not signed by this key") from None
    if signed_at is not None and not match.valid_at(signed_at):
        raise SignatureInvalid(f"signed at {_iso(signed_at)}, outside the validity period of key {key_id}")
    return match


_keyrings: dict[str, SigningKeyring] = {}


def platform_keyring() -> SigningKeyring:
    from django.conf import settings

    path = str(settings.ASSAY_SIGNING_KEY)
    if path not in _keyrings:
        _keyrings[path] = SigningKeyring(Path(path))
    return _keyrings[path]


def sign(data: bytes) -> tuple[str, bytes]:
    """Sign with the platform's current key: returns (key id, raw 64-byte signature)."""
    return platform_keyring().sign(data)


def published_keys() -> list[PublishedKey]:
    return platform_keyring().published_keys()


def published_keys_json() -> dict:
    return platform_keyring().published_json()


def verify_with_platform_keys(data: bytes, *, key_id: str, signature: bytes,
                              signed_at: datetime | None = None) -> PublishedKey:
    return verify(data, key_id=key_id, signature=signature, keys=published_keys(), signed_at=signed_at)
