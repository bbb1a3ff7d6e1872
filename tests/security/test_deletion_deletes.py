"""Deletion that deletes: after a builder's delete, no submitted or derived text survives anywhere we keep data.

The bug class (issue 14, item 2): the case went to ``shredded`` and a valid receipt was issued, yet the API,
the pages and the database still held the title, description, claim, manifest, competitors, triage evidence,
model notes and messages in clear, because only artifact bytes sat under a data key. Here one unique canary is
put in every field a builder writes or triage derives from it, the case is deleted through the API, and the
canary is then looked for in the API, the rendered pages, every text and blob column of every table, the
``dumpdata`` output, the vault's files, captured logs and log files under the data directory.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from intake.services import artifact_add, submission_update
from intake.states import State, transition
from intake.vault.disputes import dispute_open
from reviews.messaging import message_post
from tests.factories import VALID_MANIFEST, make_draft, make_token
from tests.unit.review_portal_support import client_for, make_coordinator
from triage.models import DynamicRun, ModelNote, TriageResult

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def signing(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def coordinator(db):  # noqa: ANN001
    return make_coordinator()


def _canary() -> str:
    return f"CANARY{uuid.uuid4().hex[:16].upper()}"


def _finding(canary: str) -> dict:
    return {"check": "secrets.plaintext-credential", "title": f"Credential in config {canary}",
            "severity": "high", "categories": ["secrets"], "path": f"config/{canary}.json", "line": 3,
            "evidence": f"token = \"{canary}\"", "remediation": f"Move the token {canary} to a secret store."}


def _case_with_canary_everywhere(builder, other_builder, coordinator, canary: str):  # noqa: ANN001, ANN202
    case = make_draft(builder, title=f"Agent {canary}")
    manifest = {**VALID_MANIFEST, "name": f"Agent {canary}"}
    case = submission_update(
        submission=case, actor=builder, description=f"It reads tickets. {canary}",
        claim_statement=f"It never sends {canary} outside.", claim_scope_in=[f"harness {canary}"],
        claim_scope_out=[f"provider {canary}"], claim_scope_note=f"Scope note {canary}",
        claim_assumptions=[f"proxy {canary}"], manifest=manifest,
        named_competitors=[f"Rival {canary}"])
    artifact_add(submission=case, actor=builder, name=f"{canary}.py",
                 stream=io.BytesIO(f"API_TOKEN = '{canary}'\n".encode()), kind="other")
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED):
        case = transition(case, state, actor=None)
    result = TriageResult.objects.create(
        submission=case, policy_version="2026.11.1", sandbox="gvisor", config_digest="sha256:" + "c" * 64,
        score=60, decision="escalate", reasons=[f"high finding relevant to the claim ({canary})"],
        findings=[_finding(canary)])
    ModelNote.objects.create(triage_result=result, status="ok", model="test-model", api="openai",
                             note={"summary": f"Looks risky: {canary}", "concerns": [canary]})
    DynamicRun.objects.create(submission=case, sandbox="gvisor", config_digest=result.config_digest,
                              pins={f"server-{canary}": {"pin": "sha256:" + "d" * 64, "tools": {canary: "x"}}},
                              servers=[{"name": f"server-{canary}", "tools": [canary]}],
                              findings=[{**_finding(canary), "check": "dynamic.canary-exfiltration"}],
                              not_run=[{"target": f"server-{canary}", "reason": f"missing {canary}"}])
    message_post(submission=case, actor=builder, body=f"Please look at {canary} first.")
    message_post(submission=case, actor=coordinator, body=f"Noted, {canary}.")
    theirs = make_draft(other_builder, title="Unrelated agent")
    dispute = dispute_open(claimant_case=case, respondent_case=theirs, actor=builder, source="builder",
                           statement=f"They copied {canary}.")
    return case, dispute


def _decide_dispute(dispute, coordinator):  # noqa: ANN001, ANN202
    from intake.vault.disputes import dispute_decide

    dispute_decide(dispute=dispute, actor=coordinator, outcome="dismissed", decision="No copying found after comparing digests.")


def _database_hits(canary: str) -> list[str]:
    """Every table, every row, every text and blob column of the test database."""
    hits = []
    needle = canary.encode()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names come from introspection
            columns = [col[0] for col in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row):
                    if isinstance(value, memoryview):
                        value = bytes(value)
                    if isinstance(value, bytes) and needle in value:
                        hits.append(f"{table}.{column}")
                    elif isinstance(value, str) and canary in value:
                        hits.append(f"{table}.{column}")
    return sorted(set(hits))


def _files_containing(root: Path, canary: str) -> list[str]:
    needle = canary.encode()
    found = []
    if not root.exists():
        return found
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


def test_a_deleted_case_leaves_its_canary_nowhere(builder, other_builder, coordinator, terms, signing, caplog):  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    canary = _canary()
    case, dispute = _case_with_canary_everywhere(builder, other_builder, coordinator, canary)
    token = make_token(builder, scopes=("submissions:read", "submissions:write"))
    api = client_for(None)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    # Before: the canary is really there to be found (so the checks below can fail).
    assert canary in api.get(f"/api/v1/submissions/{case.pk}/", **headers).content.decode()
    assert canary in api.get(f"/api/v1/submissions/{case.pk}/triage/", **headers).content.decode()
    assert canary in client_for(builder).get(f"/cases/{case.pk}/").content.decode()
    _decide_dispute(dispute, coordinator)  # an open dispute would (rightly) block the shred
    withdrawn = api.post(f"/api/v1/submissions/{case.pk}/withdraw/", data=json.dumps({"reason": f"why {canary}"}),
                         content_type="application/json", **headers)
    assert withdrawn.status_code == 200, withdrawn.content

    response = api.post(f"/api/v1/submissions/{case.pk}/delete/",
                        data=json.dumps({"confirm_reference": case.reference, "reason": f"gone {canary}"}),
                        content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    receipt = response.json()["receipt"]
    classes = {item["record_class"]: item["count"] for item in receipt["derived_records"] if "record_class" in item}
    assert classes["intake.submission"] == 1
    assert classes["triage.triage_result"] == 1
    assert classes["triage.model_note"] == 1
    assert classes["triage.dynamic_run"] == 1
    assert classes["reviews.message"] == 2
    assert classes["vault.ip_dispute"] == 1
    assert receipt["retained"], "the receipt says what stays and why"
    assert canary not in json.dumps(response.json())

    detail = api.get(f"/api/v1/submissions/{case.pk}/", **headers)
    assert detail.status_code == 200
    assert detail.json()["state"] == State.SHREDDED
    assert detail.json()["deletion_receipts"][0]["receipt"]["receipt_id"] == receipt["receipt_id"]
    responses = {
        "detail": detail,
        "triage": api.get(f"/api/v1/submissions/{case.pk}/triage/", **headers),
        "triage sarif": api.get(f"/api/v1/submissions/{case.pk}/triage/?as=sarif", **headers),
        "list": api.get("/api/v1/submissions/", **headers),
        "status": api.get(f"/api/v1/submissions/{case.pk}/status/", **headers),
        "receipts": api.get(f"/api/v1/submissions/{case.pk}/receipts/", **headers),
        "retention": api.get(f"/api/v1/submissions/{case.pk}/retention/", **headers),
        "builder case page": client_for(builder).get(f"/cases/{case.pk}/"),
        "builder dashboard": client_for(builder).get("/dashboard/"),
        "builder search": client_for(builder).get("/dashboard/", {"q": canary}),
        "coordinator case page": client_for(coordinator).get(f"/coordinate/cases/{case.pk}/"),
        "coordinator queue": client_for(coordinator).get("/queue/"),
    }
    for name, answer in responses.items():
        assert answer.status_code < 500, name
        assert canary not in answer.content.decode(errors="replace"), f"canary in {name}"
    assert "was crypto-shredded" in responses["builder case page"].content.decode()
    assert "was crypto-shredded" in responses["coordinator case page"].content.decode()
    # No empty findings list that could read as a clean result: the triage result is gone, and says so.
    assert responses["triage"].status_code == 404
    assert "crypto-shredded" in responses["triage"].json()["error"]["message"]

    from intake.models import AuditEvent

    assert [e.action for e in AuditEvent.objects.all() if canary in json.dumps(e.data)] == []
    assert _database_hits(canary) == []
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert canary not in dump.getvalue()
    vault_root = Path(settings.ASSAY_VAULT.removeprefix("file://"))
    assert _files_containing(vault_root, canary) == []
    assert _files_containing(Path(settings.DATA_DIR), canary) == []  # log files, broker spool, ledger
    assert canary not in caplog.text
