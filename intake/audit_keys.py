"""The audit chain's MAC keys: held outside the database, wrapped by the key provider's KEK.

``settings.ASSAY_AUDIT_KEY`` names a JSON file (0600, created on the first audit append)::

    {"format": "assay-audit-keys/v1", "current": "<id>",
     "keys": [{"id", "provider", "kek_id", "wrapped", "created_at"}, ...],
     "legacy": {"seq": N, "hash": "<hex>"}}

Each key is a random 256-bit HMAC secret wrapped under the key provider's key-encryption key (the local KEK
file in the embedded default, KMS in production) with an encryption context naming the audit key, so the
file alone opens nothing and a database writer holds neither it nor the KEK. Each key records the provider
that wrapped it (as vault objects do), so moving ``ASSAY_KEY_PROVIDER`` and re-wrapping works the same way.
Rotation adds a version and keeps the old ones (every event records the id of the key that hashed it); a
KEK rotation re-wraps them.
``legacy`` records where the chain stood when keyed hashing began: events up to it may be the old unkeyed
kind, nothing after it may, and the legacy tip's hash is pinned here, outside the database.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import stat
import threading
from datetime import datetime, timezone
from pathlib import Path

from intake.vault.errors import UnknownKey, VaultError
from intake.vault.keys import KmsKeyProvider, key_provider, key_provider_from_uri, write_key_file

FORMAT = "assay-audit-keys/v1"


def _context(key_id: str) -> dict[str, str]:
    return {"purpose": "audit-chain-mac", "audit_key_id": key_id}


class AuditKeyring:
    """Versioned audit MAC keys in one file. Writers take an exclusive flock; readers re-read on change."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._document: dict | None = None
        self._mtime: int | None = None
        self._plaintext: dict[str, bytes] = {}

    # -- file handling -------------------------------------------------------------------------
    def _lockfile(self):  # noqa: ANN202
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        return os.fdopen(fd, "r+")

    def _write(self, document: dict) -> None:
        write_key_file(self.path, document)
        self._mtime = None

    def _read(self) -> dict | None:
        """The document, re-read when the file changed (another process rotated); None if there is none yet."""
        with self._lock:
            try:
                status = self.path.stat()
            except FileNotFoundError:
                self._document, self._mtime = None, None
                return None
            if status.st_mtime_ns == self._mtime and self._document is not None:
                return self._document
            if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise VaultError(f"audit key file {self.path} is accessible to group or others; it must be 0600")
            try:
                document = json.loads(self.path.read_text())
                if document.get("format") != FORMAT or document["current"] not in {k["id"] for k in document["keys"]}:
                    raise ValueError("format")
                int(document["legacy"]["seq"]), str(document["legacy"]["hash"])
            except (ValueError, KeyError, TypeError) as exc:
                raise VaultError(f"audit key file {self.path} is not an Assay audit key file") from exc
            self._document, self._mtime = document, status.st_mtime_ns
            return document

    def _new_entry(self) -> dict:
        key_id = "audit-" + secrets.token_hex(8)
        provider = key_provider()
        wrapped, kek_id = provider.wrap(plaintext=secrets.token_bytes(32), context=_context(key_id))
        return {"id": key_id, "provider": provider.uri, "kek_id": kek_id,
                "wrapped": base64.b64encode(wrapped).decode(),
                "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    # -- interface -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self._read() is not None

    def ensure(self, *, legacy_seq: int, legacy_hash: str) -> None:
        """Create the first key if there is none, recording the chain tip it starts after.

        Call with the chain head locked, so ``legacy_seq``/``legacy_hash`` are the tip no keyed event precedes.
        """
        if self._read() is not None:
            return
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.path.exists():
                return
            entry = self._new_entry()
            self._write({"format": FORMAT, "current": entry["id"], "keys": [entry],
                         "legacy": {"seq": legacy_seq, "hash": legacy_hash}})

    def legacy(self) -> tuple[int, str] | None:
        document = self._read()
        return None if document is None else (int(document["legacy"]["seq"]), document["legacy"]["hash"])

    def current(self) -> tuple[str, bytes]:
        document = self._read()
        if document is None:
            raise VaultError(f"there is no audit key file at {self.path} yet")
        return document["current"], self.key(document["current"])

    def key(self, key_id: str) -> bytes:
        if key_id in self._plaintext:
            return self._plaintext[key_id]
        document = self._read() or {"keys": []}
        entry = next((k for k in document["keys"] if k["id"] == key_id), None)
        if entry is None:
            raise UnknownKey(f"audit key {key_id!r} is not in {self.path}")
        plaintext = key_provider_from_uri(entry["provider"]).unwrap(
            wrapped=base64.b64decode(entry["wrapped"]), kek_id=entry["kek_id"], context=_context(key_id))
        self._plaintext[key_id] = plaintext
        return plaintext

    def rotate(self) -> str:
        """Add a new current key; the old ones stay so the events they hashed still verify."""
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = self._read()
            if document is None:
                raise VaultError("there is no audit key to rotate yet: the first audit event creates it")
            entry = self._new_entry()
            self._write({**document, "current": entry["id"], "keys": [*document["keys"], entry]})
        return entry["id"]

    def rewrap(self) -> int:
        """Re-wrap the audit keys not yet under the configured provider's current KEK; returns how many.

        Nothing is written when every key is current, so a read-only mounted key file (Kubernetes) survives
        ``rotate_keys`` under KMS, where the key id does not change.
        """
        target = key_provider()
        current = target.current_kek_id()
        with self._lockfile() as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            document = self._read()
            if document is None:
                return 0
            keys, changed = [], 0
            for entry in document["keys"]:
                if (entry["provider"], entry["kek_id"]) == (target.uri, current):
                    keys.append(entry)
                    continue
                changed += 1
                source, context = key_provider_from_uri(entry["provider"]), _context(entry["id"])
                wrapped_before = base64.b64decode(entry["wrapped"])
                # Same provider, or KMS to KMS (ReEncrypt): the plaintext key never reaches this process.
                if source.uri == target.uri or (isinstance(source, KmsKeyProvider)
                                                and isinstance(target, KmsKeyProvider)):
                    wrapped, kek_id = target.rewrap(wrapped=wrapped_before, kek_id=entry["kek_id"], context=context)
                else:
                    plaintext = source.unwrap(wrapped=wrapped_before, kek_id=entry["kek_id"], context=context)
                    wrapped, kek_id = target.wrap(plaintext=plaintext, context=context)
                keys.append({**entry, "provider": target.uri, "kek_id": kek_id,
                             "wrapped": base64.b64encode(wrapped).decode()})
            if changed:
                self._write({**document, "keys": keys})
        return changed


_keyrings: dict[str, AuditKeyring] = {}
_keyrings_lock = threading.Lock()


def audit_keyring() -> AuditKeyring:
    """One keyring per configured path per process, so each key is unwrapped once."""
    from django.conf import settings

    path = str(settings.ASSAY_AUDIT_KEY)
    with _keyrings_lock:
        if path not in _keyrings:
            _keyrings[path] = AuditKeyring(Path(path))
        return _keyrings[path]
