"""The S3 store (moto's server on loopback) goes down: uploads fail with a clear, retryable error and nothing
half-written is visible (no artifact, no vault object row, no object in the bucket); it works again after."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from intake.models import Artifact
from intake.vault.models import VaultObject
from tests.factories import make_draft, make_token
from tests.fault.conftest import free_port, wait_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


class Moto:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        server = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        wait_port(self.port, up=False)


@pytest.fixture
def s3_vault(settings, monkeypatch):  # noqa: ANN001, ANN201
    import boto3

    moto = Moto()
    moto.start()
    endpoint = f"http://127.0.0.1:{moto.port}"
    for name, value in {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    bucket = f"assay-fault-{uuid.uuid4().hex[:12]}"  # a new URI: a fresh boto3 client for this endpoint
    settings.ASSAY_VAULT = f"s3://{bucket}/vault"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    yield moto, s3, bucket
    moto.stop()


def upload(client: APIClient, case_id: str, name: str):  # noqa: ANN201
    archive = io.BytesIO(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    archive.name = name
    return client.post(f"/api/v1/submissions/{case_id}/artifacts/", {"file": archive, "kind": "archive"},
                       format="multipart")


def test_uploads_fail_clearly_while_s3_is_down_and_leave_nothing_half_written(builder, s3_vault) -> None:  # noqa: ANN001
    moto, s3, bucket = s3_vault
    case = make_draft(builder, complete=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}")
    assert upload(client, str(case.pk), "before.zip").status_code == 201
    objects_before = VaultObject.objects.count()

    moto.stop()
    response = upload(client, str(case.pk), "during.zip")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "vault_storage_unavailable"
    assert "retry later" in error["message"] or "S3" in error["message"]
    assert "127.0.0.1" not in error["message"]
    assert list(Artifact.objects.filter(submission=case).values_list("name", flat=True)) == ["before.zip"]
    assert VaultObject.objects.count() == objects_before  # the pending row was removed with the failure

    moto.start()  # moto keeps nothing across a restart: the bucket comes back empty, as after a failover drill
    s3.create_bucket(Bucket=bucket)
    assert upload(client, str(case.pk), "after.zip").status_code == 201
    assert sorted(Artifact.objects.filter(submission=case).values_list("name", flat=True)) == ["after.zip",
                                                                                               "before.zip"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert len(keys) == 1  # only the upload made after the restart; nothing partial from the failed one
