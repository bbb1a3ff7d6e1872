"""An uploaded archive is accepted only if it reads one way: the portal and the API refuse the rest with one clear
line, store nothing, and keep the draft as it was (the builder fixes the archive and uploads it again)."""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from rest_framework.test import APIClient

from intake.models import AuditEvent
from intake.run_dirs import MEMORY_ROOT
from tests import hostile_archives
from tests.factories import make_draft, make_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(builder) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(builder)
    return client


@pytest.fixture
def api(builder) -> APIClient:  # noqa: ANN001
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}")
    return api


def _upload_dirs() -> set[str]:
    roots = [Path(tempfile.gettempdir()), MEMORY_ROOT]
    return {p.name for root in roots if root.is_dir() for p in root.glob(f"assay-upload-{os.getpid()}-*")}


@pytest.mark.parametrize(("name", "build", "reason"), hostile_archives.CASES, ids=hostile_archives.CASE_IDS)
def test_the_portal_refuses_an_archive_that_reads_two_ways(client, builder, terms, name, build, reason):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    before = _upload_dirs()
    response = client.post(reverse("case_artifacts", args=[case.pk]),
                           {"file": SimpleUploadedFile(name, build()), "kind": "archive"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert escape(f"{name} cannot be accepted: {reason}") in response.content.decode()
    assert not case.artifacts.exists()
    assert not AuditEvent.objects.filter(action="artifact.add").exists()
    assert _upload_dirs() == before  # the staged plaintext is gone
    # nothing lost: the same draft takes the archive once it reads one way
    good = gzip.compress(hostile_archives.tar_bytes(hostile_archives.VISIBLE), mtime=0)
    response = client.post(reverse("case_artifacts", args=[case.pk]),
                           {"file": SimpleUploadedFile("system.tar.gz", good), "kind": "archive"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Added system.tar.gz." in response.content.decode()


@pytest.mark.parametrize(("name", "build", "reason"), hostile_archives.CASES, ids=hostile_archives.CASE_IDS)
def test_the_api_refuses_an_archive_that_reads_two_ways(api, builder, terms, name, build, reason):  # noqa: ANN001
    case = make_draft(builder, complete=False)
    upload = io.BytesIO(build())
    upload.name = name
    response = api.post(f"/api/v1/submissions/{case.pk}/artifacts/", {"file": upload, "kind": "archive"},
                        format="multipart")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid", "message": f"{name} cannot be accepted: {reason}"}}
    assert not case.artifacts.exists()


def test_a_hostile_archive_uploaded_as_a_single_file_is_kept_whole(client, builder, terms):  # noqa: ANN001
    """Declared an "other" file, it is triaged as one opaque file under its name: nothing inside is read, so
    there is nothing to read two ways."""
    case = make_draft(builder, complete=False)
    response = client.post(reverse("case_artifacts", args=[case.pk]),
                           {"file": SimpleUploadedFile("blob.bin", hostile_archives.two_member_gzip()), "kind": "other"})
    assert response.status_code == 302
    assert case.artifacts.get().name == "blob.bin"
