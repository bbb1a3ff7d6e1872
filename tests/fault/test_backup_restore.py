"""Backup and restore (infra/backup.py) into fresh instances: reports still verify, kept artifacts decrypt,
cases shredded before the backup stay shredded, and a case shredded after the backup stays unreadable too:
restoring database and file vault together, the shred ledger (kept apart, outliving the instance) is
replayed; restoring the database against a vault that outlived the disaster, its ciphertext is gone as well.
A ledger that fails verification stops the restore before anything is written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

pytestmark = [pytest.mark.timeout(300)]

ROOT = Path(django_settings.BASE_DIR)
PY = sys.executable

SEED = """
import io, json
from intake.services import artifact_add
from intake.storage import artifact_store
from intake.vault.services import vault_purge_ciphertext
from intake.vault.shredding import case_delete_by_builder
from tests.factories import make_draft, make_user
owner = make_user("backup-builder@lab.example")
cases = {}
for name in ("keep", "shred_before", "shred_after"):
    case = make_draft(owner, title=name, complete=False)
    artifact = artifact_add(submission=case, actor=owner, name=f"{name}.txt", kind="config",
                            stream=io.BytesIO(f"content of {name}".encode()))
    cases[name] = {"case": str(case.pk), "key": artifact.storage_key}
from intake.models import Submission
case_delete_by_builder(submission=Submission.objects.get(pk=cases["shred_before"]["case"]), actor=owner)
vault_purge_ciphertext()
print("SEED " + json.dumps(cases))
"""

SHRED_AFTER = """
from intake.models import Submission
from intake.vault.services import vault_purge_ciphertext
from intake.vault.shredding import case_delete_by_builder
case = Submission.objects.get(pk="{case}")
case_delete_by_builder(submission=case, actor=case.owner)
vault_purge_ciphertext()
"""

INSPECT = """
import json
from intake.models import Submission
from intake.storage import artifact_store
from intake.vault.errors import VaultError
from intake.access import SystemRead
from intake.vault.services import ReadPurpose

MAINTENANCE_READ = SystemRead(ReadPurpose.SYSTEM)  # a test's own read, outside any person's access
seed = json.loads('{seed}')
out = {{}}
for name, entry in seed.items():
    try:
        with artifact_store().open(entry["key"], access=MAINTENANCE_READ) as stream:
            out[name] = stream.read().decode()
    except VaultError as exc:
        out[name] = exc.__class__.__name__
    out[name + "_state"] = Submission.objects.get(pk=entry["case"]).state
    out[name + "_title"] = Submission.objects.get(pk=entry["case"]).title
print("INSPECT " + json.dumps(out))
"""


class Instance:
    """One Assay installation: its own data dir, database, vault and keys, driven through manage.py."""

    def __init__(self, root: Path, name: str, *, vault: Path | None = None, ledger: Path | None = None) -> None:
        self.data = root / name
        self.data.mkdir()
        # The shred ledger lives on its own storage, shared by the instance and whatever is restored in its place.
        self.env = {**os.environ, "ASSAY_DATA_DIR": str(self.data), "DJANGO_SETTINGS_MODULE": "assay.settings",
                    "ASSAY_SANDBOX": "bubblewrap", "ASSAY_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
                    "ASSAY_SHRED_LEDGER": str(ledger or root / "shred-ledger")}
        for variable in ("CELERY_BROKER_URL", "REDIS_URL", "DATABASE_URL"):
            self.env.pop(variable, None)
        if vault is not None:
            self.env["ASSAY_VAULT"] = f"file://{vault}"
        self.pg_name = None
        if connection.vendor == "postgresql":
            import psycopg

            self.pg_name = f"assay_backup_{name}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(self._pg("postgres"), autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.pg_name}"')
            self.env["DATABASE_URL"] = self._pg(self.pg_name).replace("postgresql://", "postgres://")

    @staticmethod
    def _pg(database: str) -> str:
        db = connection.settings_dict
        return f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database}"

    def run(self, *args: str) -> str:
        result = subprocess.run(args, env=self.env, cwd=str(ROOT), capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def manage(self, *args: str) -> str:
        return self.run(PY, "manage.py", *args)

    def shell(self, code: str, marker: str) -> dict:
        output = self.manage("shell", "-c", code)
        line = next(line for line in output.splitlines() if line.startswith(marker + " "))
        return json.loads(line[len(marker) + 1:])

    def tables(self) -> list[str]:
        if not self.pg_name:
            return []
        import psycopg

        with psycopg.connect(self._pg(self.pg_name)) as conn:
            return [row[0] for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]

    def drop(self) -> None:
        if self.pg_name:
            import psycopg

            with psycopg.connect(self._pg("postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@pytest.fixture
def instances(tmp_path):  # noqa: ANN001, ANN201
    created: list[Instance] = []

    def make(name: str, **kwargs) -> Instance:  # noqa: ANN003
        instance = Instance(tmp_path, name, **kwargs)
        created.append(instance)
        return instance

    yield make
    for instance in created:
        instance.drop()


def test_restore_into_fresh_instances_keeps_reports_verifiable_and_shreds_shredded(instances, tmp_path) -> None:  # noqa: ANN001
    origin = instances("origin")
    origin.manage("migrate", "--noinput", "-v0")
    origin.manage("createcachetable")
    report = tmp_path / "report.pdf"
    origin.manage("demo_report", str(report))
    seed = origin.shell(SEED, "SEED")
    backup_dir, keys_dir = tmp_path / "backup", tmp_path / "backup-keys"
    origin.run(PY, "infra/backup.py", "backup", str(backup_dir), "--keys-dest", str(keys_dir))
    assert not (backup_dir / "kek").exists() and (keys_dir / "kek").exists()  # keys kept apart from data
    origin.shell(SHRED_AFTER.format(case=seed["shred_after"]["case"]) + "\nprint('DONE {}')", "DONE")

    with tarfile.open(backup_dir / "vault.tar") as archive:  # the ledger is never part of the vault backup
        assert archive.getnames() and not any("ledger" in name for name in archive.getnames())
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    assert manifest["shred_ledger_head"]["seq"] == 0  # the shred before the backup; the later one is seq 1

    # 1. Full restore (database, file vault with the shredded case's ciphertext, keys) into a fresh instance:
    #    the ledger replay destroys the restored key of the case shredded after the backup.
    restored = instances("restored")
    output = restored.run(PY, "infra/backup.py", "restore", str(backup_dir), "--keys-src", str(keys_dir))
    # Two keys: the artifact's and the case key that sealed its text in the database.
    assert "2 key(s) destroyed again, 1 case(s) marked shredded again, 1 receipt(s) restored" in output
    assert not (restored.data / "restore-pending").exists()  # /readyz may now say ready
    assert "valid" in restored.manage("verify_report", str(report)).lower()
    state = restored.shell(INSPECT.format(seed=json.dumps(seed)), "INSPECT")
    assert state["keep"] == "content of keep"
    assert state["shred_before"] == "KeyDestroyed" and state["shred_before_state"] == "shredded"
    assert state["shred_after"] == "KeyDestroyed" and state["shred_after_state"] == "shredded"
    assert state["shred_after_title"] == state["shred_before_title"] == "[shredded]"  # the restored text too
    assert state["keep_title"] != "[shredded]"
    restored_vault = restored.data / "vault"
    assert not any(seed["shred_after"]["key"] in str(path) for path in restored_vault.rglob("*"))  # ciphertext too
    receipts = restored.shell(
        "from intake.vault.models import DeletionReceipt\n"
        f"print('RECEIPTS ' + str(DeletionReceipt.objects.filter(submission_id='{seed['shred_after']['case']}')"
        ".count()))", "RECEIPTS")
    assert receipts == 1  # the builder's receipt is listed again

    # 2. The database restored against a vault that outlived the disaster (the S3 model): the case shredded
    #    after the backup had its ciphertext deleted, so reconciliation destroys its restored key.
    surviving_vault = tmp_path / "surviving-vault"
    shutil.copytree(origin.data / "vault", surviving_vault)
    survivor = instances("survivor", vault=surviving_vault)
    output = survivor.run(PY, "infra/backup.py", "restore", str(backup_dir), "--keys-src", str(keys_dir),
                          "--vault-survived")
    assert "restored" in output
    assert "valid" in survivor.manage("verify_report", str(report)).lower()
    state = survivor.shell(INSPECT.format(seed=json.dumps(seed)), "INSPECT")
    assert state["keep"] == "content of keep"
    assert state["shred_before"] == "KeyDestroyed"
    assert state["shred_after"] == "KeyDestroyed"  # not revived by the older backup
    assert state["shred_after_title"] == "[shredded]"


def test_restore_refuses_a_tampered_backup_and_a_non_empty_target(instances, tmp_path) -> None:  # noqa: ANN001
    origin = instances("origin2")
    origin.manage("migrate", "--noinput", "-v0")
    backup_dir = tmp_path / "backup"
    origin.run(PY, "infra/backup.py", "backup", str(backup_dir))
    tampered = tmp_path / "tampered"
    shutil.copytree(backup_dir, tampered)
    database = next(name for name in ("db.dump", "db.sqlite3") if (tampered / name).exists())
    with (tampered / database).open("ab") as handle:
        handle.write(b"tampered")
    target = instances("target2")
    result = subprocess.run([PY, "infra/backup.py", "restore", str(tampered)], env=target.env, cwd=str(ROOT),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "does not match the backup manifest" in result.stderr
    result = subprocess.run([PY, "infra/backup.py", "restore", str(backup_dir)], env=origin.env, cwd=str(ROOT),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "restore only into a fresh instance" in result.stderr


def test_restore_refuses_a_shred_ledger_that_fails_verification(instances, tmp_path) -> None:  # noqa: ANN001
    origin = instances("origin3")
    origin.manage("migrate", "--noinput", "-v0")
    origin.manage("createcachetable")
    seed = origin.shell(SEED, "SEED")
    backup_dir, keys_dir = tmp_path / "backup3", tmp_path / "backup3-keys"
    origin.run(PY, "infra/backup.py", "backup", str(backup_dir), "--keys-dest", str(keys_dir))
    origin.shell(SHRED_AFTER.format(case=seed["shred_after"]["case"]) + "\nprint('DONE {}')", "DONE")
    ledger = tmp_path / "shred-ledger" / "shred-ledger.jsonl"
    lines = ledger.read_text().splitlines()
    assert len(lines) == 2

    def refused(name: str, ledger_text: str) -> str:
        copy = tmp_path / f"ledger-{name}"
        copy.mkdir()
        (copy / "shred-ledger.jsonl").write_text(ledger_text)
        target = instances(name, ledger=copy)
        result = subprocess.run([PY, "infra/backup.py", "restore", str(backup_dir), "--keys-src", str(keys_dir)],
                                env=target.env, cwd=str(ROOT), capture_output=True, text=True, timeout=120)
        assert result.returncode != 0, result.stdout
        # Refused before anything was written: no database, no vault, no keys, no restore under way.
        assert not (target.data / "db.sqlite3").exists() and not (target.data / "vault").exists()
        assert target.tables() == []
        assert not (target.data / "keys").exists() and not (target.data / "restore-pending").exists()
        return result.stderr

    # The later shred's line edited so it no longer names the keys it destroyed.
    edited = json.loads(lines[1])
    edited["entry"]["object_ids"] = []
    message = refused("edited", lines[0] + "\n" + json.dumps(edited) + "\n")
    assert "shred ledger failed verification" in message and "line 2" in message
    # The ledger replaced by an empty one (or cut short before the backup's head).
    message = refused("emptied", "")
    assert "truncated or replaced" in message
