"""The labelled corpus: its labels are well-formed, and our recall on it does not drop.

The analysis here is in-process (``triage.analysis.analyse``, the code the sandbox runs); the full
side-by-side run with the peers is tests/bench/bench_triage_quality.py. The floors are what this branch
measures today and are raised as checks land; lowering one needs a reason in the commit message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.quality.corpus import (CATEGORIES, CATEGORY_OF_CHECK, CORPUS_DIR, FORMATS, CaseResult, categories_of_check,
                                  label_problems, load_cases, result_of, result_of_ours, score)
from triage.analysis import analyse
from triage.checks import all_checks

MACRO_RECALL_FLOOR = 0.97  # measured 1.00 (111 cases) on 2026-12-03
CASE_RECALL_FLOOR = 0.97  # measured 1.00
FP_CASES_CEILING = 1  # measured 0 of 39 benign

CASES = load_cases()


@pytest.fixture(scope="module")
def measured():
    results = {case.name: result_of_ours(analyse(case.path)) for case in CASES}
    return score(CASES, results)


def test_recall_on_the_corpus_does_not_drop(measured):
    misses = "; ".join(f"{name}: {', '.join(cats)}" for name, cats in sorted(measured.misses.items()))
    assert measured.macro_recall >= MACRO_RECALL_FLOOR, f"macro recall {measured.macro_recall:.3f}; missed {misses}"
    assert measured.case_recall >= CASE_RECALL_FLOOR, f"case recall {measured.case_recall:.3f}; missed {misses}"


def test_benign_cases_stay_quiet(measured):
    assert len(measured.fp_cases) <= FP_CASES_CEILING, f"benign cases with medium+ findings: {measured.fp_cases}"


# --- the labels ------------------------------------------------------------------------------------

def test_the_corpus_is_big_and_varied_enough():
    assert len(CASES) >= 26
    assert sum(case.benign for case in CASES) >= 10
    assert len({case.format for case in CASES}) >= 5


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_label_is_well_formed(case):
    assert label_problems(case) == []
    assert case.format in FORMATS
    assert set(case.categories) <= set(CATEGORIES)


def test_every_label_has_its_case_and_parses():
    labels = sorted(CORPUS_DIR.glob("*.label.json"))
    assert sorted(p.name.removesuffix(".label.json") for p in labels) == [case.name for case in CASES]
    for label in labels:
        data = json.loads(label.read_text(encoding="utf-8"))
        assert set(data) == {"format", "benign", "categories", "flaws", "modelled_on"}, label.name


def test_json_files_inside_cases_parse():
    for path in sorted(CORPUS_DIR.rglob("*.json")):
        if not path.name.endswith(".label.json"):
            json.loads(path.read_text(encoding="utf-8"))


def test_label_problems_catches_a_bad_label(tmp_path):
    case_dir = tmp_path / "ts-broken"
    (case_dir / "src").mkdir(parents=True)
    (case_dir / "src" / "index.ts").write_text("const a = 1;\n")
    (tmp_path / "ts-broken.label.json").write_text(json.dumps({
        "format": "typescript", "benign": False, "categories": ["rce"],
        "flaws": [{"category": "rce", "file": "src/index.ts", "line": 9, "what": "x"},
                  {"category": "secrets", "file": "src/missing.ts", "line": 1, "what": "y"}],
        "modelled_on": "test"}))
    [case] = load_cases(tmp_path)
    problems = label_problems(case)
    assert "unknown format 'typescript'" in problems
    assert "unknown categories ['rce']" in problems
    assert "flaw line src/index.ts:9 outside 1..1" in problems
    assert "flaw file src/missing.ts does not exist" in problems
    assert "categories and the flaws' categories differ" in problems


# --- the scoring -----------------------------------------------------------------------------------

def test_every_registered_check_has_a_deliberate_mapping():
    for check in all_checks():
        family = check.id.split(".", 1)[0] + "."
        assert check.id in CATEGORY_OF_CHECK or family in CATEGORY_OF_CHECK, check.id


def test_check_ids_map_by_exact_id_before_family():
    assert categories_of_check("hooks.exports-session-data") == ("exfiltration",)
    assert categories_of_check("hooks.silences-checks") == ()
    assert categories_of_check("trifecta.lethal-trifecta") == ("untrusted-content",)
    assert categories_of_check("injection.path-traversal") == ("path-traversal",)
    assert categories_of_check("tools.env-to-child") == ("excessive-permissions",)
    assert categories_of_check("dynamic.tool-call-exfiltrates") == ()
    assert categories_of_check("unknownfamily.thing") == ()


def test_scoring_counts_medium_and_up_per_category_and_case(tmp_path):
    for name, label in {
        "a": {"benign": False, "categories": ["secrets", "ssrf"],
              "flaws": [{"category": "secrets", "file": "f", "line": 1, "what": "k"},
                        {"category": "ssrf", "file": "f", "line": 1, "what": "u"}]},
        "b": {"benign": False, "categories": ["ssrf"], "flaws": [{"category": "ssrf", "file": "f", "line": 1, "what": "u"}]},
        "c": {"benign": True, "categories": [], "flaws": []},
        "d": {"benign": True, "categories": [], "flaws": []},
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text("x\n")
        (tmp_path / f"{name}.label.json").write_text(json.dumps({"format": "typescript-mcp", "modelled_on": "t", **label}))
    cases = load_cases(tmp_path)
    results = {
        "a": result_of([(("secrets",), "high"), (("ssrf",), "low")]),  # low does not count
        "b": result_of([(("ssrf",), "medium")]),
        "c": result_of([((), "medium")]),  # unmapped but medium: still a false positive
        "d": result_of([(("secrets",), "low")]),
    }
    measured = score(cases, results)
    assert measured.per_category == {"ssrf": (1, 2), "secrets": (1, 1)}
    assert measured.macro_recall == pytest.approx(0.75)
    assert measured.case_recall == 1.0
    assert measured.fp_cases == ["c"]
    assert measured.misses == {"a": ["ssrf"]}
    assert score(cases, {}).case_recall == 0.0


def test_our_findings_are_read_from_objects_and_contract_dicts():
    from_dicts = result_of_ours([{"check": "code.sql-built", "severity": "high"},
                                 {"check": "secrets.env-file", "severity": "info"}])
    assert from_dicts == CaseResult(detected=frozenset({"sql-injection"}), flagged=True)
    real = analyse(Path(CORPUS_DIR / "ts-payouts-stripe"))
    assert "secrets" in result_of_ours(real).detected
