from __future__ import annotations

import pytest

from intake.digest import config_digest


def test_digest_ignores_listing_order():
    files = [("b/tool.py", "1" * 64), ("a/settings.json", "2" * 64)]
    assert config_digest(files=files) == config_digest(files=list(reversed(files)))


def test_digest_changes_with_content_path_or_manifest():
    base = config_digest(files=[("a", "1" * 64)], manifest={"x": 1})
    assert base.startswith("sha256:") and len(base) == 71
    assert base != config_digest(files=[("a", "2" * 64)], manifest={"x": 1})
    assert base != config_digest(files=[("b", "1" * 64)], manifest={"x": 1})
    assert base != config_digest(files=[("a", "1" * 64)], manifest={"x": 2})
    assert base == config_digest(files=[("a", "1" * 64)], manifest={"x": 1})


def test_digest_refuses_duplicate_paths():
    with pytest.raises(ValueError, match="duplicate path"):
        config_digest(files=[("a", "1" * 64), ("a", "2" * 64)])
