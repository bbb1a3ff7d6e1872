"""Builder retention controls in the portal: delete now with a signed receipt, receipts, export."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from intake.models import Submission
from intake.states import State
from tests.factories import PASSWORD, make_draft


@pytest.fixture
def signing_key(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")


@pytest.mark.django_db
def test_builder_deletes_a_case_and_downloads_a_verifiable_receipt(client, builder, signing_key, tmp_path):  # noqa: ANN001
    from django.core.management import call_command

    submission = make_draft(builder)
    client.login(email=builder.email, password=PASSWORD)
    page = client.get(f"/cases/{submission.pk}/").content.decode()
    assert "Delete now" in page
    wrong = client.post(f"/cases/{submission.pk}/delete/", {"confirm": "nope"})
    assert wrong.status_code == 400
    assert Submission.objects.get(pk=submission.pk).state == State.DRAFT
    response = client.post(f"/cases/{submission.pk}/delete/", {"confirm": submission.reference})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == State.SHREDDED
    receipt = submission.deletion_receipts.get()
    download = client.get(f"/cases/{submission.pk}/receipts/{receipt.pk}.json")
    path = tmp_path / "receipt.json"
    path.write_bytes(download.content)
    call_command("verify_receipt", str(path))
    assert json.loads(download.content) == receipt.document


@pytest.mark.django_db
def test_another_builder_cannot_delete_or_fetch_receipts(client, builder, other_builder, signing_key):  # noqa: ANN001
    submission = make_draft(builder)
    client.login(email=other_builder.email, password=PASSWORD)
    assert client.post(f"/cases/{submission.pk}/delete/", {"confirm": submission.reference}).status_code == 404
    assert Submission.objects.get(pk=submission.pk).state == State.DRAFT


@pytest.mark.django_db
def test_export_contains_only_the_builders_own_cases(client, builder, other_builder):  # noqa: ANN001
    mine = make_draft(builder, title="Mine")
    theirs = make_draft(other_builder, title="Theirs")
    client.login(email=builder.email, password=PASSWORD)
    response = client.get("/account/export.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    document = json.loads(archive.read("assay-export.json"))
    references = {case["reference"] for case in document["cases"]}
    assert mine.reference in references and theirs.reference not in references
