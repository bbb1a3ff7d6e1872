"""Responses for a signed-in person are never cached, and the embedded default writes files for its owner only.

Bug class: a case page or API answer kept by a browser cache, a shared proxy or the back button outlives the session
that fetched it; a 0644 SQLite file lets any local user read every case.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_draft, make_token

ROOT = Path(__file__).resolve().parents[2]


def _no_store(response) -> bool:  # noqa: ANN001
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_pages_and_api_answers_for_a_signed_in_person_are_no_store(builder):  # noqa: ANN001
    submission = make_draft(builder)
    client = Client()
    client.force_login(builder)
    page = client.get(f"/cases/{submission.pk}/")
    assert page.status_code == 200 and _no_store(page)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder)}")
    answer = api.get(f"/api/v1/submissions/{submission.pk}/")
    assert answer.status_code == 200 and _no_store(answer)


@pytest.mark.django_db
def test_public_pages_keep_their_own_caching():
    response = Client().get("/verify/")
    assert response.status_code == 200
    assert not _no_store(response)


def test_the_embedded_database_and_data_directory_are_owner_only(tmp_path):  # noqa: ANN001
    data = tmp_path / "data"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ASSAY_", "DATABASE_URL", "REDIS_URL", "CELERY_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "assay.settings", "ASSAY_DATA_DIR": str(data)})
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "assay.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
