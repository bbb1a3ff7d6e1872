"""`manage.py triage_path` exactly as CONTRACT.md defines it: one JSON document, deterministic, exit 2 on bad input."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from intake.digest import config_digest
from tests import hostile_archives
from triage.findings import CATEGORIES, SEVERITIES
from triage.sandbox import backend_works

AGENT = Path(__file__).resolve().parent.parent / "fixtures" / "archives" / "agent_system"
CONTRACT_KEYS = ["config_digest", "policy_version", "sandbox", "findings", "score", "decision", "reasons"]
FINDING_KEYS = {"check", "title", "severity", "categories", "path", "line", "evidence", "remediation"}


@pytest.fixture(autouse=True)
def _fast_sandbox(settings, tmp_path, monkeypatch):  # noqa: ANN001
    """Bubblewrap where it works (fast to start); each test gets a private temp dir to watch for leftovers."""
    settings.ASSAY_SANDBOX = "bubblewrap" if backend_works("bubblewrap") else "auto"
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    return private_tmp


def triage(*args: str, capsys) -> tuple[int, str, str]:  # noqa: ANN001
    capsys.readouterr()
    try:
        call_command("triage_path", *args)
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def archive_copies(tmp_path: Path) -> dict[str, Path]:
    files = sorted(p for p in AGENT.rglob("*") if p.is_file())
    zipped = tmp_path / "agent.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in reversed(files):  # a different order on purpose
            archive.write(path, path.relative_to(AGENT).as_posix())
    tarred = tmp_path / "agent.tgz"
    with tarfile.open(tarred, "w:gz") as archive:
        for path in files:
            info = archive.gettarinfo(str(path), path.relative_to(AGENT).as_posix())
            info.mtime = 0
            with path.open("rb") as handle:
                archive.addfile(info, handle)
    plain = tmp_path / "agent.tar"
    with tarfile.open(plain, "w") as archive:
        archive.add(str(AGENT), arcname=".")
    return {"directory": AGENT, "zip": zipped, "tgz": tarred, "tar": plain}


def test_it_prints_exactly_the_contract_document(capsys) -> None:  # noqa: ANN001
    code, out, err = triage(str(AGENT), capsys=capsys)
    assert code == 0, err
    document = json.loads(out)
    assert list(document) == CONTRACT_KEYS
    assert document["sandbox"] in ("gvisor", "bubblewrap", "none")
    assert document["sandbox"] == settings.ASSAY_SANDBOX or settings.ASSAY_SANDBOX == "auto"
    assert document["config_digest"].startswith("sha256:") and len(document["config_digest"]) == 71
    assert 0 <= document["score"] <= 100
    assert document["decision"] in ("reject", "guidance", "escalate")
    assert document["reasons"] and all(isinstance(reason, str) for reason in document["reasons"])
    assert document["findings"], "the fixture has known problems"
    for finding in document["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["severity"] in SEVERITIES
        assert set(finding["categories"]) <= set(CATEGORIES)
        assert not finding["path"].startswith("/")
    checks = {finding["check"] for finding in document["findings"]}
    assert {"approval.bypass-permissions", "provenance.curl-pipe-shell"} <= checks


def test_config_digest_covers_the_unpacked_files_and_the_root_manifest(capsys) -> None:  # noqa: ANN001
    code, out, _ = triage(str(AGENT), capsys=capsys)
    files = [(p.relative_to(AGENT).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
             for p in AGENT.rglob("*") if p.is_file()]
    manifest = json.loads((AGENT / "assay-manifest.json").read_text())
    assert code == 0
    assert json.loads(out)["config_digest"] == config_digest(files=files, manifest=manifest)


def test_directory_zip_and_tarballs_of_the_same_files_give_the_same_document(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    outputs = {}
    for name, path in archive_copies(tmp_path).items():
        code, out, err = triage(str(path), capsys=capsys)
        assert code == 0, f"{name}: {err}"
        outputs[name] = out
    assert len(set(outputs.values())) == 1, "format, order and timestamps must not change the result"


def test_the_same_input_gives_byte_identical_json(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    zipped = archive_copies(tmp_path)["zip"]
    first = triage(str(zipped), capsys=capsys)
    second = triage(str(zipped), capsys=capsys)
    assert first[0] == 0 and first[1] == second[1]


def test_sarif_has_one_result_per_finding_with_the_check_as_rule_id(capsys) -> None:  # noqa: ANN001
    _, out, _ = triage(str(AGENT), capsys=capsys)
    code, sarif_out, err = triage(str(AGENT), "--format", "sarif", capsys=capsys)
    assert code == 0, err
    sarif = json.loads(sarif_out)
    findings = json.loads(out)["findings"]
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert [result["ruleId"] for result in run["results"]] == [finding["check"] for finding in findings]
    assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {finding["check"] for finding in findings}
    first = run["results"][0]
    assert run["tool"]["driver"]["rules"][first["ruleIndex"]]["id"] == first["ruleId"]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == findings[0]["path"]


def test_an_explicit_policy_version_is_used_and_an_unknown_one_is_bad_input(capsys) -> None:  # noqa: ANN001
    from triage.policy import available_policies

    oldest = sorted(available_policies())[0]
    code, out, _ = triage(str(AGENT), "--policy", oldest, capsys=capsys)
    assert code == 0 and json.loads(out)["policy_version"] == oldest
    code, out, err = triage(str(AGENT), "--policy", "1999.1", capsys=capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("unknown policy version 1999.1; available: ")


def test_none_is_recorded_when_explicitly_chosen_and_finds_the_same(settings, capsys, _fast_sandbox) -> None:  # noqa: ANN001
    _, sandboxed, _ = triage(str(AGENT), capsys=capsys)
    settings.ASSAY_SANDBOX = "none"
    code, out, _ = triage(str(AGENT), capsys=capsys)
    document = json.loads(out)
    assert code == 0 and document["sandbox"] == "none"
    assert {**document, "sandbox": "x"} == {**json.loads(sandboxed), "sandbox": "x"}
    assert list(_fast_sandbox.iterdir()) == []  # even unsandboxed, it unpacked only into its own scratch


def _zip_slip(tmp_path: Path) -> Path:
    path = tmp_path / "slip.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "hello")
        archive.writestr("../../../../tmp/assay-pwned", "owned")
    return path


def _tar_link_escape(tmp_path: Path) -> Path:
    path = tmp_path / "link.tgz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("config")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc"
        archive.addfile(info)
    return path


def _device(tmp_path: Path) -> Path:
    path = tmp_path / "dev.tar"
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("null")
        info.type = tarfile.CHRTYPE
        archive.addfile(info)
    return path


def _bomb(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros", "w") as member:
        for _ in range(40):
            member.write(b"\0" * (1024 * 1024))
    return path


def _text(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    return path


def _bad_manifest(tmp_path: Path) -> Path:
    path = tmp_path / "system.tgz"
    with tarfile.open(path, "w:gz") as archive:
        data = b'{"schema_version": 1,'
        info = tarfile.TarInfo("assay-manifest.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return path


def _unreadable(tmp_path: Path) -> Path:
    path = tmp_path / "secret.zip"
    path.write_bytes(b"PK\x03\x04")
    path.chmod(0)
    return path


@pytest.mark.parametrize(("make", "expected"), [
    (lambda tmp: tmp / "absent", "absent: no such file or directory"),
    (_text, "notes.txt: not a directory or an archive (.zip, .tar, .tar.gz, .tgz)"),
    (_zip_slip, "entry escapes the root: ../../../../tmp/assay-pwned"),
    (_tar_link_escape, "link leaves the root: config -> /etc"),
    (_device, "device or special file: null"),
    (_bomb, "compression ratio above 200:1 (possible archive bomb)"),
    (_bad_manifest, "assay-manifest.json is not valid JSON (JSONDecodeError)"),
])
def test_bad_input_exits_2_with_one_line_naming_the_problem(tmp_path: Path, capsys, make, expected,  # noqa: ANN001
                                                            _fast_sandbox) -> None:  # noqa: ANN001
    path = make(tmp_path)
    code, out, err = triage(str(path), capsys=capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.rstrip("\n").endswith(expected)
    assert not Path("/tmp/assay-pwned").exists()
    assert list(_fast_sandbox.iterdir()) == []  # its scratch space is gone, nothing else was written


@pytest.mark.parametrize(("name", "build", "reason"), hostile_archives.CASES, ids=hostile_archives.CASE_IDS)
def test_an_archive_that_reads_two_ways_exits_2_with_one_line(tmp_path: Path, capsys, name, build, reason,  # noqa: ANN001
                                                               _fast_sandbox) -> None:  # noqa: ANN001
    """The two-member .tar.gz of issue 16 gave "guidance, score 0" and a digest without the hidden settings."""
    path = tmp_path / name
    path.write_bytes(build())
    code, out, err = triage(str(path), capsys=capsys)
    assert (code, out) == (2, "")
    assert err == f"{reason}\n"
    assert list(_fast_sandbox.iterdir()) == []


def test_unreadable_input_exits_2(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    if os.geteuid() == 0:
        pytest.skip("root can read a mode-000 file")
    path = _unreadable(tmp_path)
    code, _, err = triage(str(path), capsys=capsys)
    assert code == 2 and err.strip().endswith("secret.zip: not readable")


def test_the_real_command_line_through_the_default_sandbox(tmp_path: Path) -> None:
    """One end-to-end run as an operator would type it: auto sandbox, a separate process, exit codes."""
    env = {**os.environ, "ASSAY_SANDBOX": "auto", "ASSAY_DATA_DIR": str(tmp_path / "data")}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "triage_path"]
    ok = subprocess.run([*manage, str(AGENT)], capture_output=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert document["sandbox"] == ("gvisor" if backend_works("gvisor") else "bubblewrap")
    bad = subprocess.run([*manage, str(_zip_slip(tmp_path))], capture_output=True, env=env, timeout=120)
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.decode() == "entry escapes the root: ../../../../tmp/assay-pwned\n"
