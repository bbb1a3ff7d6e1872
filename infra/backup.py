"""Back up and restore an Assay instance: database, file vault, and (separately) its keys.

    .venv/bin/python infra/backup.py backup  DEST [--keys-dest KEYS_DEST]
    .venv/bin/python infra/backup.py restore SRC  [--keys-src KEYS_SRC]

Both read the instance from the environment, exactly as the app does (DATABASE_URL, ASSAY_DATA_DIR,
ASSAY_VAULT, ASSAY_KEY_PROVIDER, ASSAY_SIGNING_KEY). docs/operations.md explains the procedure; in short:

* The database: ``pg_dump --format=custom`` (PostgreSQL) or SQLite's online ``.backup``.
* The vault: a tar of a ``file://`` vault's ciphertext. An ``s3://`` vault is not copied here: the bucket's
  versioning and replication are its backup (the script records the URI and stops short of copying).
* Keys (a local KEK file, the signing key, the KEK-wrapped audit chain keys) go to a *different*
  destination, or nowhere: whoever holds the database backup and the KEK together can read every case that
  was not yet shredded when the backup was taken. With ``kms:`` the KEK never leaves KMS.

* The shred ledger (``ASSAY_SHRED_LEDGER``) is never copied: it lives on its own append-only storage and
  outlives the instance. The backup records its head (sequence number and SHA-256).

Restore only into a fresh instance (empty database, empty vault, no keys): it refuses to overwrite. Before
anything is written it verifies the shred ledger (signatures, chain, and that it still holds the head the
backup recorded) and refuses a ledger that fails. It marks the instance "restore pending" (``/readyz`` answers
503 while the mark is there), restores, then runs ``migrate``, ``vault_reconcile`` (replays the ledger: every
key shredded after the backup is destroyed again and its case marked shredded; objects whose ciphertext is
gone are shredded; restored ciphertext of destroyed keys is deleted), ``verify_audit`` and
``check_transparency_log``, and only then removes the mark.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
RESTORE_PENDING = "restore-pending"  # in ASSAY_DATA_DIR while a restore is under way; /readyz refuses then
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")


def _settings():  # noqa: ANN202
    import django

    django.setup()
    from django.conf import settings

    return settings


def _pg_url(db: dict) -> str:
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_vault_root(uri: str) -> Path | None:
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _local_kek_path(uri: str) -> Path | None:
    scheme, _, rest = uri.partition(":")
    return Path(rest) if scheme == "local" else None


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True)


def backup(dest: Path, keys_dest: Path | None) -> dict:
    settings = _settings()
    from intake.signing import SigningKeyring
    from intake.vault.ledger import ledger_head, ledger_path

    ledger = ledger_path()
    if ledger.parent.resolve() == dest.resolve() or ledger.parent.resolve() in dest.resolve().parents:
        raise SystemExit("the backup must not be written into the shred ledger's directory")
    # Before the database copy: a shred landing in between is then in the ledger after this head, and replayed.
    head = ledger_head()

    dest.mkdir(parents=True, exist_ok=False, mode=0o700)
    db = settings.DATABASES["default"]
    files: dict[str, str] = {}
    if db["ENGINE"].endswith("postgresql"):
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dest / 'db.dump'}",
                        _pg_url(db)], check=True)
        files["db.dump"] = "postgresql"
    else:
        source = sqlite3.connect(db["NAME"])
        target = sqlite3.connect(dest / "db.sqlite3")
        with target:
            source.backup(target)  # consistent even while the app writes
        source.close()
        target.close()
        files["db.sqlite3"] = "sqlite"
    vault_root = _file_vault_root(settings.ASSAY_VAULT)
    if vault_root is not None:
        with tarfile.open(dest / "vault.tar", "w") as archive:
            for path in sorted(vault_root.iterdir()) if vault_root.exists() else []:
                if path.name != ".partial":  # uploads in progress are not objects yet
                    archive.add(path, arcname=path.name)
        files["vault.tar"] = "file-vault"
    if keys_dest is not None:
        if keys_dest.resolve() == dest.resolve():
            raise SystemExit("keys must not be stored with the data backup (--keys-dest must differ)")
        keys_dest.mkdir(parents=True, exist_ok=False, mode=0o700)
        kek = _local_kek_path(settings.ASSAY_KEY_PROVIDER)
        if kek is not None:
            shutil.copy2(kek, keys_dest / "kek")
        # The signing key and what is kept beside it (the published key history that dates each key's validity).
        ring = SigningKeyring(Path(settings.ASSAY_SIGNING_KEY))
        shutil.copy2(ring.private_path, keys_dest / "signing-key.pem")
        if ring.published_path.exists():
            shutil.copy2(ring.published_path, keys_dest / "signing-keys.published.json")
        # Without the audit chain's keys a restored chain cannot be verified (they are wrapped by the KEK).
        if Path(settings.ASSAY_AUDIT_KEY).exists():
            shutil.copy2(settings.ASSAY_AUDIT_KEY, keys_dest / "audit-keys.json")
        for key_file in keys_dest.iterdir():
            key_file.chmod(0o600)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "vault": settings.ASSAY_VAULT if vault_root is None else "file",
        "vault_uri": settings.ASSAY_VAULT,
        "key_provider": settings.ASSAY_KEY_PROVIDER.split(":", 1)[0],
        "files": {name: {"kind": kind, "sha256": _sha256(dest / name)} for name, kind in files.items()},
        "shred_ledger_head": head.as_dict(),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def _verification_keys(keys_src: Path | None, published: Path | None) -> list:
    """The published keys the ledger is checked against: the backed-up keyring's (or the target's own, when the
    keys are provisioned separately, e.g. mounted secrets), plus the live platform's current ones if given."""
    settings = _settings()
    from intake.signing import SigningKeyring, load_published_keys

    documents = []
    if keys_src is not None and (keys_src / "signing-keys.published.json").exists():
        documents.append(json.loads((keys_src / "signing-keys.published.json").read_text()))
    else:
        ring = SigningKeyring(Path(settings.ASSAY_SIGNING_KEY))
        if ring.published_path.exists():
            documents.append(json.loads(ring.published_path.read_text()))
    if published is not None:
        documents.append(json.loads(published.read_text()))
    keys: dict = {}
    for document in documents:
        for key in load_published_keys(document):
            keys.setdefault(key.key_id, key)
    return list(keys.values())


def restore(src: Path, keys_src: Path | None, *, vault_survived: bool = False,
            published_keys: Path | None = None) -> None:
    settings = _settings()
    from intake.signing import SigningKeyring
    from intake.vault.ledger import LedgerHead, LedgerInvalid, ledger_verify

    manifest = json.loads((src / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        if _sha256(src / name) != entry["sha256"]:
            raise SystemExit(f"{name} does not match the backup manifest: refusing to restore")
    # The ledger decides which restored keys must die again: check it before writing anything.
    head = LedgerHead.parse(manifest["shred_ledger_head"]) if "shred_ledger_head" in manifest else None
    try:
        entries = ledger_verify(keys=_verification_keys(keys_src, published_keys), expect_head=head)
    except LedgerInvalid as exc:
        raise SystemExit(f"the shred ledger failed verification, refusing to restore: {exc}") from None
    pending = Path(settings.DATA_DIR) / RESTORE_PENDING
    pending.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pending.write_text(json.dumps({"backup": str(src), "ledger_entries": len(entries)}))
    db = settings.DATABASES["default"]
    if "db.dump" in manifest["files"]:
        if not db["ENGINE"].endswith("postgresql"):
            raise SystemExit("a PostgreSQL backup restores into PostgreSQL (set DATABASE_URL)")
        from django.db import connection

        if connection.introspection.table_names():
            raise SystemExit("the target database is not empty: restore only into a fresh instance")
        connection.close()
        subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={_pg_url(db)}",
                        str(src / "db.dump")], check=True)
    else:
        target = Path(db["NAME"])
        if target.exists() and target.stat().st_size:
            raise SystemExit(f"{target} exists: restore only into a fresh instance")
        shutil.copy2(src / "db.sqlite3", target)
        target.chmod(0o600)
    vault_root = _file_vault_root(settings.ASSAY_VAULT)
    if "vault.tar" in manifest["files"] and not vault_survived:
        if vault_root is None:
            raise SystemExit("the backup holds a file vault; the target's ASSAY_VAULT is not file://")
        vault_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if any(path.name != ".partial" for path in vault_root.iterdir()):
            raise SystemExit(f"the vault {vault_root} is not empty: restore only into a fresh instance")
        with tarfile.open(src / "vault.tar") as archive:
            archive.extractall(vault_root, filter="data")  # names were written by us; the filter refuses escapes
    if keys_src is not None:
        kek = _local_kek_path(settings.ASSAY_KEY_PROVIDER)
        ring = SigningKeyring(Path(settings.ASSAY_SIGNING_KEY))
        pairs = [(keys_src / "signing-key.pem", ring.private_path)]
        if (keys_src / "signing-keys.published.json").exists():
            pairs.append((keys_src / "signing-keys.published.json", ring.published_path))
        if kek is not None and (keys_src / "kek").exists():
            pairs.append((keys_src / "kek", kek))
        if (keys_src / "audit-keys.json").exists():
            pairs.append((keys_src / "audit-keys.json", Path(settings.ASSAY_AUDIT_KEY)))
        for source, target in pairs:
            if target.exists():
                raise SystemExit(f"{target} exists: restore only into a fresh instance")
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(source, target)
            target.chmod(0o600)
    _manage("migrate", "--noinput", "-v0")
    _manage("createcachetable")
    reconcile = ["vault_reconcile"]
    if head is not None:
        reconcile += ["--expect-head", f"{head.seq}:{head.sha256}"]
    if published_keys is not None:
        reconcile += ["--published-keys", str(published_keys)]
    if manifest.get("vault_uri"):  # the objects' recorded location is the backed-up instance's vault
        reconcile += ["--relocate-from", manifest["vault_uri"]]
    _manage(*reconcile)  # fails (and the restore with it, the mark staying) if the ledger does not verify
    _manage("verify_audit")
    _manage("check_transparency_log")
    pending.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("backup")
    make.add_argument("dest", type=Path)
    make.add_argument("--keys-dest", type=Path)
    back = commands.add_parser("restore")
    back.add_argument("src", type=Path)
    back.add_argument("--keys-src", type=Path)
    back.add_argument("--vault-survived", action="store_true",
                      help="the vault (e.g. a replicated S3 bucket) outlived the disaster: keep it, restore the database only")
    back.add_argument("--published-keys", type=Path,
                      help="the platform's current published signing keys, if a key was rotated after the backup")
    args = parser.parse_args()
    if args.command == "backup":
        print(json.dumps(backup(args.dest, args.keys_dest), indent=2))
    else:
        restore(args.src, args.keys_src, vault_survived=args.vault_survived, published_keys=args.published_keys)
        print("restored; audit chain and transparency log verified")


if __name__ == "__main__":
    main()
