"""Large multipart uploads spool to disk encrypted, and reach the vault unchanged through the same interface."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.test.client import FakePayload, encode_multipart

from intake.services import artifact_add
from intake.vault.crypto import ChunkSealer, new_data_key, open_decrypting
from intake.vault.uploads import EncryptedUploadedFile
from tests.factories import make_draft


def multipart_request(payload: bytes, name: str) -> WSGIRequest:
    upload = io.BytesIO(payload)
    upload.name = name
    body = encode_multipart("BoUnDaRy", {"file": upload})
    return WSGIRequest({"REQUEST_METHOD": "POST", "CONTENT_TYPE": "multipart/form-data; boundary=BoUnDaRy",
                        "CONTENT_LENGTH": str(len(body)), "wsgi.input": FakePayload(body),
                        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "PATH_INFO": "/"})


def spool_files() -> list[Path]:
    """Open files of this process under the upload temp dir (spools are unlinked, so look at open fds)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the fd listdir itself used
            continue
        if target.startswith(settings.FILE_UPLOAD_TEMP_DIR):
            found.append(Path("/proc/self/fd") / fd)
    return found


@pytest.mark.parametrize("size", [0, 1, 256 * 1024, 256 * 1024 + 1, 3 * 1024 * 1024 + 7])
def test_the_push_sealer_writes_the_vault_format(size):
    key, oid = new_data_key(), __import__("uuid").uuid4()
    out = io.BytesIO()
    sealer = ChunkSealer(out.write, key=key, object_id=oid, chunk_size=256 * 1024)
    data = os.urandom(size)
    for start in range(0, size, 100_000):
        sealer.feed(data[start:start + 100_000])
    sealer.finish()
    assert open_decrypting(io.BytesIO(out.getvalue()), key=key, expected_object_id=oid).read() == data


@pytest.mark.django_db
def test_a_large_upload_never_touches_disk_in_clear_and_reaches_the_vault(builder, terms):
    marker = b"CONFIDENTIAL-AGENT-PROMPT|"
    payload = marker * (3 * 1024 * 1024 // len(marker) + 1)
    request = multipart_request(payload, "agent.txt")
    uploaded = request.FILES["file"]
    assert isinstance(uploaded, EncryptedUploadedFile)
    spools = spool_files()
    assert len(spools) == 1
    on_disk = spools[0].read_bytes()
    assert len(on_disk) >= len(payload) and marker not in on_disk
    assert uploaded.read(len(marker)) == marker
    uploaded.seek(0)  # views may sniff, then rewind and store
    artifact = artifact_add(submission=make_draft(builder, complete=False), actor=builder, name=uploaded.name,
                            stream=uploaded, kind="other")
    assert artifact.sha256 == hashlib.sha256(payload).hexdigest()
    assert artifact.size == len(payload) == uploaded.size
    uploaded.close()
    assert spool_files() == []


def test_small_uploads_stay_in_memory():
    request = multipart_request(b"{}", "settings.json")
    assert request.FILES["file"].read() == b"{}"
    assert spool_files() == []


@pytest.mark.django_db
def test_an_upload_over_the_artifact_cap_is_refused_while_spooling(settings):
    from intake.errors import TooLarge

    settings.ASSAY_MAX_ARTIFACT_BYTES = 2 * 1024 * 1024 + 10
    request = multipart_request(b"x" * (3 * 1024 * 1024), "big.bin")
    with pytest.raises(TooLarge, match=f"larger than the {2 * 1024 * 1024 + 10} byte limit"):
        request.FILES
    assert spool_files() == []
