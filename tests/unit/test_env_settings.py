from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from assay.env import env_bool, env_choice, env_int, env_str


def test_env_bool_rejects_junk(monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("ASSAY_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="ASSAY_X must be a boolean"):
        env_bool("ASSAY_X")
    monkeypatch.setenv("ASSAY_X", "Yes")
    assert env_bool("ASSAY_X") is True


def test_env_int_and_choice_reject_junk(monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("ASSAY_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="must be an integer"):
        env_int("ASSAY_N", 1)
    monkeypatch.setenv("ASSAY_SANDBOX", "docker")
    with pytest.raises(ImproperlyConfigured, match="must be one of auto, gvisor, bubblewrap, none"):
        env_choice("ASSAY_SANDBOX", ("auto", "gvisor", "bubblewrap", "none"), "auto")


def test_file_twin_reads_secret_from_disk(monkeypatch, tmp_path):  # noqa: ANN001
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env_str("SECRET_KEY") == "s3cret"
