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


def test_the_directory_and_every_accepted_archive_form_of_one_tree_give_one_digest(tmp_path):  # noqa: ANN001
    """What the upload check reads is what triage reads (one parser); its listing is what the digest covers."""
    import gzip

    from intake.archives import MemoryTree, archive_listing, unpack_into
    from tests import hostile_archives

    tree = {**hostile_archives.VISIBLE, **hostile_archives.HIDDEN}
    for name, data in tree.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(data)
    forms = {"system.zip": hostile_archives.zip_bytes(dict(reversed(tree.items()))),
             "system.tar": hostile_archives.tar_bytes(tree),
             "system.tar.gz": gzip.compress(hostile_archives.tar_bytes(tree), mtime=0),
             "system.tgz": gzip.compress(hostile_archives.tar_bytes(dict(reversed(tree.items()))), mtime=0)}

    def digest(listing) -> str:  # noqa: ANN001
        return config_digest(files=[(f.path, f.sha256) for f in listing], manifest={"schema_version": 1})

    directory = digest(unpack_into(MemoryTree(keep_bytes=0), source=tmp_path / "src"))
    for name, data in forms.items():
        (tmp_path / name).write_bytes(data)
        assert digest(archive_listing(tmp_path / name)) == directory, name
    assert len({data for data in forms.values()}) == len(forms)  # four different byte streams, one digest
