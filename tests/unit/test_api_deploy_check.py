"""`manage.py check --deploy` is clean under production settings (HSTS, secure cookies, CSP, frame denial…)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_deploy_check(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ASSAY_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_", "REDIS_URL",
                                  "DJANGO_ALLOW_ASYNC_UNSAFE"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "assay.settings",
        "ASSAY_ENV": "production",
        "ASSAY_DATA_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "assay.example",
        "DATABASE_URL": "postgres://assay@127.0.0.1:5432/assay",
        **extra,
    })
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_under_production_settings(tmp_path):  # noqa: ANN001
    result = run_deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_notices_a_weakened_setting(tmp_path):  # noqa: ANN001
    """The clean result above means something: switching HSTS off is reported."""
    result = run_deploy_check(tmp_path, ASSAY_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_its_secrets(tmp_path, missing):  # noqa: ANN001
    result = run_deploy_check(tmp_path, **{missing: ""})
    assert result.returncode != 0
    assert f"{missing}" in result.stderr and "is required when ASSAY_ENV=production" in result.stderr


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("ALLOWED_HOSTS", "*", "ALLOWED_HOSTS must name the portal's hosts when ASSAY_ENV=production, not '*'"),
    ("SECRET_KEY", "build-only-not-a-secret", "SECRET_KEY is weak"),
    ("SECRET_KEY", "django-insecure-" + "k" * 60, "SECRET_KEY is weak"),
    ("SECRET_KEY", "ab" * 40, "SECRET_KEY is weak"),
])
def test_production_refuses_a_wildcard_host_or_a_weak_key(tmp_path, variable, value, message):  # noqa: ANN001
    result = run_deploy_check(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_a_data_directory_other_users_can_read(tmp_path):  # noqa: ANN001
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    result = run_deploy_check(data)
    assert result.returncode != 0
    assert "is readable or writable by other users; chmod 700 it" in result.stderr
    data.chmod(0o700)
    assert run_deploy_check(data).returncode == 0
