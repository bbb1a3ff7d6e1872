"""Sealed fields: case text is ciphertext at rest under the case's key, and shredding the key ends it."""

from __future__ import annotations

import io

import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction

from intake.models import Submission
from intake.states import State, transition
from intake.vault import sealed_fields
from intake.vault.errors import IntegrityFailure, VaultError
from intake.vault.models import CaseKey
from intake.vault.sealed_fields import PREFIX, SHREDDED_TEXT, seal_existing_rows
from intake.vault.shredding import case_shred
from reviews.messaging import message_post
from tests.factories import make_draft

pytestmark = pytest.mark.django_db


def raw(table: str, column: str, pk) -> str:  # noqa: ANN001
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk.hex if hasattr(pk, "hex") else pk])
        return cursor.fetchone()[0]


def write_raw(table: str, column: str, pk, value) -> None:  # noqa: ANN001
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s WHERE id = %s",
                       [value, pk.hex if hasattr(pk, "hex") else pk])


def rejected(case: Submission) -> Submission:
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.REJECTED):
        case = transition(case, state)
    return case


def test_case_text_is_ciphertext_at_rest_and_clear_through_the_model(builder, terms):  # noqa: ANN001
    case = make_draft(builder, title="Quartermaster agent")
    stored = raw("intake_submission", "title", case.pk)
    assert stored.startswith(f"{PREFIX}{case.pk}:") and "Quartermaster" not in stored
    assert "egress proxy" not in raw("intake_submission", "claim_assumptions", case.pk)
    fresh = Submission.objects.get(pk=case.pk)
    assert fresh.title == "Quartermaster agent"
    assert fresh.claim_assumptions == ["egress proxy enforced"]
    assert CaseKey.objects.get(case_id=case.pk).wrapped_key is not None


def test_a_sealed_value_moved_into_another_field_does_not_open(builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    write_raw("intake_submission", "description", case.pk, raw("intake_submission", "title", case.pk))
    with pytest.raises(IntegrityFailure, match="moved from another field"):
        Submission.objects.get(pk=case.pk)


def test_clear_text_cannot_reach_a_sealed_column_by_a_bulk_update(builder, terms):  # noqa: ANN001
    case = make_draft(builder)
    with pytest.raises(VaultError, match="intake.submission.title is sealed"), transaction.atomic():
        Submission.objects.filter(pk=case.pk).update(title="in the clear")
    assert Submission.objects.get(pk=case.pk).title == "Ticket triage agent"


def test_a_backup_copy_of_a_shredded_case_reads_as_shredded(builder, coordinator, terms):  # noqa: ANN001
    case = rejected(make_draft(builder, title="Backed-up agent"))
    message = message_post(submission=case, actor=builder, body="a private question")
    backup = {"title": raw("intake_submission", "title", case.pk),
              "body": raw("reviews_message", "body", message.pk)}
    receipt = case_shred(submission=case, actor=builder, trigger="builder_request")
    assert raw("intake_submission", "title", case.pk) == sealed_fields.SHREDDED_TOKEN
    write_raw("intake_submission", "title", case.pk, backup["title"])  # the old column restored from a backup
    write_raw("reviews_message", "body", message.pk, backup["body"])
    case = Submission.objects.get(pk=case.pk)
    assert case.title == SHREDDED_TEXT
    assert case.messages.get().body == SHREDDED_TEXT
    key = CaseKey.objects.get(case_id=case.pk)
    assert key.wrapped_key is None and key.data_key_id in receipt.document["receipt"]["data_keys_destroyed"]
    assert receipt.document["receipt"]["case_data_key_id"] == key.data_key_id


def test_nothing_more_can_be_sealed_for_a_shredded_case(builder, terms):  # noqa: ANN001
    from intake.vault.errors import KeyDestroyed

    case = rejected(make_draft(builder))
    case_shred(submission=case, actor=builder, trigger="builder_request")
    case = Submission.objects.get(pk=case.pk)
    case.title = "written after the shred"
    with pytest.raises(KeyDestroyed):
        case.save(update_fields=["title"])


def test_the_data_migration_seals_clear_text_written_before_sealing(builder, coordinator, terms):  # noqa: ANN001
    case = make_draft(builder)
    message = message_post(submission=case, actor=builder, body="placeholder")
    write_raw("reviews_message", "body", message.pk, "written in the clear by an older release")
    write_raw("intake_submission", "named_competitors", case.pk, '["Old Rival Ltd"]')
    seal_existing_rows("reviews.Message", ["body"])(django_apps, None)
    seal_existing_rows("intake.Submission", ["named_competitors"])(django_apps, None)
    assert raw("reviews_message", "body", message.pk).startswith(PREFIX)
    assert "Old Rival" not in raw("intake_submission", "named_competitors", case.pk)
    assert case.messages.get().body == "written in the clear by an older release"
    assert Submission.objects.get(pk=case.pk).named_competitors == ["Old Rival Ltd"]


def test_the_data_migration_overwrites_text_of_cases_shredded_before_sealing(builder, terms):  # noqa: ANN001
    case = rejected(make_draft(builder, title="Shredded by an older release"))
    Submission.objects.filter(pk=case.pk).update(state=State.SHREDDED)
    write_raw("intake_submission", "description", case.pk, "clear text an older shred left behind")
    seal_existing_rows("intake.Submission", ["description"])(django_apps, None)
    assert raw("intake_submission", "description", case.pk) == sealed_fields.SHREDDED_TOKEN
    assert Submission.objects.get(pk=case.pk).description == SHREDDED_TEXT


def test_rewrapping_covers_case_keys(builder, terms):  # noqa: ANN001
    from intake.vault.keys import key_provider
    from intake.vault.services import vault_rewrap_keys

    case = make_draft(builder, title="Rotated agent")
    old = CaseKey.objects.get(case_id=case.pk).kek_id
    new = key_provider().rotate()
    assert vault_rewrap_keys() >= 2  # the artifact's key and the case key
    assert CaseKey.objects.get(case_id=case.pk).kek_id == new != old
    sealed_fields._cache.forget(str(case.pk))
    assert Submission.objects.get(pk=case.pk).title == "Rotated agent"


def test_a_shredded_case_keeps_only_a_keyed_fingerprint_that_still_catches_an_exact_resubmission(
        builder, terms):  # noqa: ANN001
    from triage.fingerprints import content_digest, fingerprint_similar, fingerprint_store
    from triage.models import FileHash, FingerprintBand, SubmissionFingerprint

    files = [("agent.py", "a" * 64), ("tools.py", "b" * 64)]
    fingerprint = {"scheme": "minhash-v1", "signature": list(range(128))}
    case = rejected(make_draft(builder))
    fingerprint_store(submission=case, fingerprint=fingerprint, files=files)
    case_shred(submission=case, actor=builder, trigger="builder_request")
    stored = SubmissionFingerprint.objects.get(submission=case)
    assert stored.content_sha256 != content_digest(files) and bytes(stored.signature) == b""
    assert not FingerprintBand.objects.filter(fingerprint=stored).exists()
    assert not FileHash.objects.filter(fingerprint=stored).exists()
    similar = fingerprint_similar(signature=fingerprint["signature"], content_sha256=content_digest(files))
    assert [(item.submission_id, item.exact) for item in similar] == [(str(case.pk), True)]


def test_an_artifact_uploaded_after_sealing_has_no_file_name_in_the_vault_index(builder, terms):  # noqa: ANN001
    from intake.services import artifact_add
    from intake.vault.models import VaultObject

    case = make_draft(builder, complete=False)
    artifact = artifact_add(submission=case, actor=builder, name="secret-roadmap.md", stream=io.BytesIO(b"x"),
                            kind="other")
    assert VaultObject.objects.get(pk=artifact.storage_key).label == str(artifact.pk)
