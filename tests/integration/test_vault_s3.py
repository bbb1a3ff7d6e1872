"""The vault on S3 and KMS, against moto's standalone server on loopback (real HTTP, both protocols)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from intake.errors import TooLarge
from intake.states import State, transition
from intake.storage import artifact_store
from intake.vault.errors import IntegrityFailure, KeyDestroyed, KeyProviderUnavailable
from intake.vault.keys import key_provider_from_uri
from intake.vault.models import VaultObject
from intake.vault.services import VaultStore, vault_rewrap_keys
from intake.access import SystemRead
from intake.vault.services import ReadPurpose

MAINTENANCE_READ = SystemRead(ReadPurpose.SYSTEM)  # a test's own read, outside any person's access

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():  # noqa: ANN201
    port = _free_port()
    server = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("moto_server exited during start-up")
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto_server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws(moto_endpoint, monkeypatch, settings, tmp_path):  # noqa: ANN001, ANN201
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"assay-vault-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    key_id = kms.create_key(Description="assay test KEK")["KeyMetadata"]["KeyId"]
    settings.ASSAY_VAULT = f"s3://{bucket}/artifacts"
    settings.ASSAY_KEY_PROVIDER = f"kms:{key_id}"
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "signing.pem")
    settings.ASSAY_AUDIT_KEY = str(tmp_path / "audit-keys.json")  # wrapped under this test's KMS key
    return {"s3": s3, "kms": kms, "bucket": bucket, "key_id": key_id, "endpoint": moto_endpoint}


def s3_objects(aws) -> list[str]:  # noqa: ANN001
    return [o["Key"] for o in aws["s3"].list_objects_v2(Bucket=aws["bucket"]).get("Contents", [])]


def test_it_stores_large_artifacts_as_multipart_ciphertext_on_s3_with_kms_wrapped_keys(aws):
    plaintext = os.urandom(19 * 1024 * 1024)
    stored = artifact_store().put(io.BytesIO(plaintext), max_bytes=10**9, artifact_id="agent.tar")
    assert s3_objects(aws) == [f"artifacts/{stored.key}"]
    head = aws["s3"].head_object(Bucket=aws["bucket"], Key=f"artifacts/{stored.key}")
    assert head["ETag"].strip('"').endswith("-3")  # three 8 MiB-ish parts: a real multipart upload
    record = VaultObject.objects.get(pk=stored.key)
    assert record.key_provider == f"kms:{aws['key_id']}"
    assert record.kek_id.endswith(aws["key_id"])
    with artifact_store().open(stored.key, access=MAINTENANCE_READ) as reader:
        assert reader.read() == plaintext


def test_a_kms_wrapped_key_is_bound_to_its_object(aws):
    store = artifact_store()
    first = store.put(io.BytesIO(b"first"), max_bytes=100, artifact_id="a")
    second = store.put(io.BytesIO(b"second"), max_bytes=100, artifact_id="b")
    stolen = VaultObject.objects.get(pk=first.key).wrapped_key
    VaultObject.objects.filter(pk=second.key).update(wrapped_key=stolen)
    with pytest.raises(IntegrityFailure, match="KMS refused to unwrap"):
        store.open(second.key, access=MAINTENANCE_READ)


def test_an_oversize_upload_aborts_its_multipart_upload_and_leaves_nothing(aws):
    with pytest.raises(TooLarge):
        artifact_store().put(io.BytesIO(b"\0" * (20 * 1024 * 1024)), max_bytes=17 * 1024 * 1024, artifact_id="x")
    assert s3_objects(aws) == []
    assert aws["s3"].list_multipart_uploads(Bucket=aws["bucket"]).get("Uploads", []) == []
    assert VaultObject.objects.count() == 0


def test_kms_unavailable_is_a_clear_retryable_error_and_stores_nothing(aws, monkeypatch, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{dead}")
    store = VaultStore(vault_uri=settings.ASSAY_VAULT, key_provider_uri=f"kms:{uuid.uuid4()}")
    with pytest.raises(KeyProviderUnavailable, match="KMS is unavailable .*; retry later") as caught:
        store.put(io.BytesIO(b"data"), max_bytes=100, artifact_id="x")
    assert caught.value.http_status == 503
    assert VaultObject.objects.count() == 0
    assert s3_objects(aws) == []


def test_shredding_on_s3_leaves_a_restored_ciphertext_undecryptable(aws, builder, terms):
    from intake.vault.shredding import case_shred
    from tests.factories import make_draft

    case = make_draft(builder)
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.REJECTED):
        case = transition(case, state)
    key = case.artifacts.get().storage_key
    backup = aws["s3"].get_object(Bucket=aws["bucket"], Key=f"artifacts/{key}")["Body"].read()
    receipt = case_shred(submission=case, actor=builder, trigger="builder_request")
    assert s3_objects(aws) == []
    aws["s3"].put_object(Bucket=aws["bucket"], Key=f"artifacts/{key}", Body=backup)
    with pytest.raises(KeyDestroyed):
        artifact_store().open(key, access=MAINTENANCE_READ)
    document = receipt.document["receipt"]
    # the artifact's data key and the case key that sealed its text and derived records
    assert sorted(document["data_keys_destroyed"]) == sorted([VaultObject.objects.get().data_key_id,
                                                              document["case_data_key_id"]])


def test_rewrapping_moves_local_keys_to_kms_without_reencrypting(aws, settings, tmp_path):
    local_uri = f"local:{tmp_path / 'kek'}"
    stored = VaultStore(key_provider_uri=local_uri).put(io.BytesIO(b"moved"), max_bytes=100, artifact_id="m")
    before = aws["s3"].get_object(Bucket=aws["bucket"], Key=f"artifacts/{stored.key}")["Body"].read()
    assert vault_rewrap_keys() == 1
    record = VaultObject.objects.get()
    assert record.key_provider == f"kms:{aws['key_id']}"
    assert aws["s3"].get_object(Bucket=aws["bucket"], Key=f"artifacts/{stored.key}")["Body"].read() == before
    with artifact_store().open(stored.key, access=MAINTENANCE_READ) as reader:
        assert reader.read() == b"moved"
    assert vault_rewrap_keys() == 0  # already under the current key


def test_rewrapping_to_another_kms_key_uses_reencrypt_and_stays_readable(aws, settings):
    stored = artifact_store().put(io.BytesIO(b"rotated"), max_bytes=100, artifact_id="r")
    new_key = aws["kms"].create_key(Description="next KEK")["KeyMetadata"]
    settings.ASSAY_KEY_PROVIDER = f"kms:{new_key['KeyId']}"
    assert vault_rewrap_keys() == 1
    record = VaultObject.objects.get()
    assert (record.key_provider, record.kek_id) == (f"kms:{new_key['KeyId']}", new_key["Arn"])
    assert key_provider_from_uri(settings.ASSAY_KEY_PROVIDER).current_kek_id() == new_key["Arn"]
    with artifact_store().open(stored.key, access=MAINTENANCE_READ) as reader:
        assert reader.read() == b"rotated"
