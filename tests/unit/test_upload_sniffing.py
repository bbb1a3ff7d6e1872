"""An upload's first bytes are checked against the kind the builder declared (intake.sniffing), in the portal and
the API alike: an executable or random bytes named .zip are never stored as "archive of the system"."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from intake.sniffing import kind_mismatch, sniff
from tests.factories import make_draft

PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(".mcp.json", '{"mcpServers": {}}')
    return buffer.getvalue()


def _tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"{}"
        info = tarfile.TarInfo(".mcp.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(("head", "key"), [
    (_zip(), "zip"), (_tar_gz(), "gzip"), (PE, "pe"), (ELF, "elf"), (b"%PDF-1.7\n", "pdf"),
    (b'{"a": "caf\xc3\xa9"}', "text"), (b"", "empty"), (b"\x13\x37\x00" + os.urandom(64), "binary")])
def test_sniff_names_the_format_from_the_first_bytes(head, key):  # noqa: ANN001
    assert sniff(head).key == key


def test_a_multibyte_character_cut_by_the_sample_is_still_text():
    assert sniff(("é" * 5000).encode()[:8191]).key == "text"


def test_an_executable_named_zip_is_refused_as_an_archive_with_one_line():
    message = kind_mismatch(name="system.zip", kind="archive", head=PE)
    assert message == ("“system.zip” is not accepted as an archive of the system: its content is a Windows executable "
                       "(PE). Upload a .zip, .tar, .tar.gz, .tar.bz2 or .tar.xz file.")
    assert "\n" not in message


def test_an_archive_whose_name_says_another_format_is_refused():
    assert kind_mismatch(name="system.zip", kind="archive", head=_tar_gz()) == (
        "“system.zip” is named like a zip archive but its content is a gzip stream; rename it or upload the file "
        "it should be.")
    assert kind_mismatch(name="system.tgz", kind="archive", head=_tar_gz()) is None
    assert kind_mismatch(name="system", kind="archive", head=_zip()) is None


@pytest.mark.parametrize(("kind", "head", "accepted"), [
    ("config", b"permissions:\n  allow: [Read]\n", True), ("config", _zip(), False), ("config", ELF, False),
    ("evidence", b"%PDF-1.4", True), ("evidence", PE, False), ("other", b"\x13\x37\x00" + os.urandom(32), True),
    ("other", ELF, False)])
def test_each_kind_accepts_only_what_it_can_be(kind, head, accepted):  # noqa: ANN001
    assert (kind_mismatch(name="f", kind=kind, head=head) is None) is accepted


@pytest.mark.django_db
def test_the_portal_refuses_random_bytes_named_zip_and_stores_nothing(client, builder, terms):  # noqa: ANN001
    from intake.vault.models import VaultObject

    case = make_draft(builder, complete=False)
    client.force_login(builder)
    response = client.post(reverse("case_artifacts", args=[case.pk]),
                           {"file": SimpleUploadedFile("system.zip", b"\x13\x37" + os.urandom(4000)),
                            "kind": "archive"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert ("“system.zip” is not accepted as an archive of the system: its content is unrecognised binary data."
            in response.content.decode())
    assert case.artifacts.count() == 0 and VaultObject.objects.count() == 0


@pytest.mark.django_db
def test_the_api_refuses_an_executable_declared_as_config(builder, terms):  # noqa: ANN001
    from tests.factories import make_token
    from rest_framework.test import APIClient

    case = make_draft(builder, complete=False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}")
    response = api.post(f"/api/v1/submissions/{case.pk}/artifacts/",
                        {"file": io.BytesIO(ELF), "kind": "config"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "its content is a Linux executable (ELF)" in response.json()["error"]["message"]
    assert case.artifacts.count() == 0
