"""analyse(): deterministic, sorted, fast, and never quoting a secret."""

from __future__ import annotations

import json
import tempfile
import shutil
from pathlib import Path

from tests.unit.triage_checks.helpers import lay_out
from triage.analysis import analyse
from triage.checks.registry import mask_evidence
from triage.findings import Finding

SYSTEMS = Path(__file__).resolve().parents[2] / "fixtures" / "agent_systems"
PLANTED_SECRETS = [
    "sntrys_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rESQedU",  # sentry_fixer_claude/.mcp.json
    "sk-proj-mxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtHF4vUCsMe",  # containerised_agent/.env
    "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",  # containerised_agent/config/settings.py
    "QyNTUxOQAAACBStPKR0CsTy4Qwb8DwkNhFdnXsiVpzz63FfkCzJr4i0B3JrTAwR4y9ojfl",  # containerised_agent/deploy key
]


def test_findings_are_sorted_and_identical_across_runs_and_copies(tmp_path):
    original = SYSTEMS / "sentry_fixer_claude"
    copy = tmp_path / "elsewhere"
    shutil.copytree(original, copy)
    for path in sorted(copy.rglob("*"), reverse=True):  # different timestamps and creation order
        path.touch()
    first = analyse(original)
    assert first == sorted(first, key=Finding.sort_key)
    assert analyse(original) == first
    dump = [json.dumps(f.as_contract_dict(), sort_keys=True) for f in first]
    assert [json.dumps(f.as_contract_dict(), sort_keys=True) for f in analyse(copy)] == dump


def test_findings_have_the_contract_shape():
    finding = analyse(SYSTEMS / "ci_issue_agent")[0]
    assert set(finding.as_contract_dict()) == {"check", "title", "severity", "categories", "path", "line",
                                               "evidence", "remediation"}


def test_no_planted_secret_ever_appears_in_a_finding():
    findings = analyse(SYSTEMS / "sentry_fixer_claude") + analyse(SYSTEMS / "containerised_agent")
    text = json.dumps([f.as_contract_dict() for f in findings] + [repr(f.extra) for f in findings])
    secret_checks = {f.check for f in findings if "secrets" in f.categories}
    assert {"secrets.hardcoded-credential", "secrets.env-file", "secrets.private-key",
            "secrets.inline-mcp-credential"} <= secret_checks
    for secret in PLANTED_SECRETS:
        assert secret[6:30] not in text


def test_evidence_is_one_short_line_with_credentials_and_invisible_characters_masked():
    evidence = mask_evidence('curl -H "Authorization: Bearer ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"\n'
                             'password = "hunter2hunter2"\u200b ' + "x" * 400)
    assert "\n" not in evidence and len(evidence) <= 200
    assert "u8jzPde0IgxLd6" not in evidence and "hunter2hunter2" not in evidence
    assert "[U+200B]" in evidence


def test_a_password_in_a_url_is_masked_in_evidence_and_a_variable_is_left_readable():
    assert mask_evidence("DATABASE_URL=postgresql://ops:Zt4rQ8wLx2Pk@db.internal:5432/app") == \
        "DATABASE_URL=postgresql://ops:********@db.internal:5432/app"
    assert mask_evidence("redis://:plain-words-too@cache:6379/0") == "redis://:********@cache:6379/0"
    assert mask_evidence("mysql://app:${DB_PASSWORD}@db/app") == "mysql://app:${DB_PASSWORD}@db/app"
    assert mask_evidence("see https://example.com/a:b@c") == "see https://example.com/a:b@c"  # no credentials


def test_an_empty_tree_has_no_findings(tmp_path):
    assert analyse(tmp_path) == []
    assert analyse(tmp_path / "missing") == []


def test_a_500_file_repository_is_analysed_whole(tmp_path):
    """Every one of the 100 tool modules is read (speed is measured by tests/bench/bench_triage.py, not here)."""
    tools = (SYSTEMS / "python_ops_agents" / "ops" / "tools.py").read_text()
    files: dict[str, str] = {".mcp.json": (SYSTEMS / "sentry_fixer_claude" / ".mcp.json").read_text()}
    for i in range(500):
        folder = f"pkg{i // 50}"
        match i % 5:
            case 0:
                files[f"{folder}/tools_{i}.py"] = tools.replace("def ", f"def t{i}_")
            case 1:
                files[f"{folder}/mod_{i}.py"] = "\n".join(f"def f{j}(x):\n    return x * {j}\n" for j in range(60))
            case 2:
                files[f"{folder}/notes_{i}.md"] = "# Notes\n" + "Prose about the agent and its tools. " * 200
            case 3:
                files[f"{folder}/data_{i}.json"] = json.dumps({"a": list(range(500))})
            case _:
                files[f"{folder}/conf_{i}.yaml"] = "\n".join(f"key{j}: value{j}" for j in range(100))
    lay_out(tmp_path, files)
    findings = analyse(tmp_path)
    assert sum(1 for f in findings if f.check == "code.eval-dynamic") == 100


def test_findings_are_byte_identical_across_processes_with_different_hash_seeds():
    import os
    import subprocess
    import sys

    script = ("import json, sys; from pathlib import Path; from triage.analysis import analyse; "
              "print(json.dumps([[f.as_contract_dict(), f.extra] for name in sys.argv[1:] "
              "for f in analyse(Path(name))], sort_keys=True))")
    systems = [str(SYSTEMS / name) for name in sorted(p.name for p in SYSTEMS.iterdir())]
    root = Path(__file__).resolve().parents[3]
    outputs = {subprocess.run([sys.executable, "-c", script, *systems], capture_output=True, text=True, check=True,
                              cwd=root, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}
    assert len(outputs) == 1 and len(outputs.pop()) > 1000


def test_a_pattern_repeated_thousands_of_times_is_listed_a_hundred_times_and_counted():
    from triage.checks.registry import MAX_FINDINGS_PER_CHECK

    with tempfile.TemporaryDirectory() as directory:
        lay_out(Path(directory), {"requirements.txt": "\n".join(f"package{i}" for i in range(5000))})
        findings = [f for f in analyse(Path(directory)) if f.check == "provenance.unpinned-dependencies"]
    assert len(findings) == MAX_FINDINGS_PER_CHECK + 1
    assert [(f.path, f.evidence) for f in findings if f.path == ""] == [
        ("", "4900 more finding(s) of this check not listed")]
