"""Parsing code on two cores (triage/parsers/prefetch.py) gives exactly the serial result, and survives its child."""

from __future__ import annotations

import json
import os

import pytest

from tests.bench.generated_repository import generate_repository
from triage.analysis import analyse_tree
from triage.parsers import js_code, prefetch
from triage.parsers.base import load_tree


def _findings_json(tree, *, parallel: bool) -> str:  # noqa: ANN001
    return json.dumps([f.as_contract_dict() for f in analyse_tree(tree, parallel=parallel)], sort_keys=True)


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    return load_tree(generate_repository(tmp_path_factory.mktemp("parallel") / "repo", files=120))


def test_it_gives_the_serial_findings_byte_for_byte(repository):
    serial = _findings_json(repository, parallel=False)
    assert '"injection.' in serial or '"tools.' in serial  # the code models took part
    assert _findings_json(repository, parallel=True) == serial


def test_it_parses_the_js_in_a_child_and_the_python_here(repository, monkeypatch):
    parent = os.getpid()
    parsed_here = []
    real = js_code.parse_js

    def spy(text, path, project=None):  # noqa: ANN001, ANN202
        if os.getpid() == parent:
            parsed_here.append(path)
        return real(text, path, project)

    monkeypatch.setattr(js_code, "parse_js", spy)
    code = prefetch.prefetch_code(repository)
    ts_path = next(p for p in sorted(repository.files) if p.endswith(".ts"))
    assert code.get(ts_path, "", lambda *_: pytest.fail("a prefetched file was parsed again")) is not None
    assert parsed_here == []


def test_a_failing_child_leaves_its_files_to_the_serial_loop(repository, monkeypatch):
    parent = os.getpid()
    real = js_code.parse_js

    def crash_in_child(text, path, project=None):  # noqa: ANN001, ANN202
        if os.getpid() != parent:
            raise MemoryError("the child ran out of memory")
        return real(text, path, project)

    serial = _findings_json(repository, parallel=False)
    monkeypatch.setattr(js_code, "parse_js", crash_in_child)
    code = prefetch.prefetch_code(repository)
    ts_path = next(p for p in sorted(repository.files) if p.endswith(".ts"))
    fallback = []
    code.get(ts_path, "", lambda text, path: fallback.append(path))
    assert fallback == [ts_path]
    assert _findings_json(repository, parallel=True) == serial


def test_small_trees_are_not_forked(tmp_path, monkeypatch):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.ts").write_text("const x = 1;\n")
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked for two files"))
    assert prefetch.prefetch_code(load_tree(tmp_path)).get("a.py", "y = 2\n", lambda text, path: "parsed") == "parsed"


def test_it_gives_the_serial_findings_on_every_corpus_case(monkeypatch):  # noqa: ANN001
    """Forced to fork on small trees too, so cross-file JS projects and Python imports are covered."""
    from tests.quality.corpus import load_cases

    monkeypatch.setattr(prefetch, "MIN_FILES_EACH", 0)
    for case in load_cases():
        tree = load_tree(case.path)
        assert _findings_json(tree, parallel=True) == _findings_json(tree, parallel=False), case.name


def test_the_generator_module_leaves_the_environment_alone():
    """The benchmark module itself points ASSAY_DATA_DIR at a throwaway dir on import; a unit test importing it
    sent a later-started Celery worker to another broker folder (tasks never arrived)."""
    import importlib
    import sys

    before = dict(os.environ)
    sys.modules.pop("tests.bench.generated_repository", None)
    importlib.import_module("tests.bench.generated_repository")
    assert dict(os.environ) == before
    assert "tests.bench.bench_triage" not in sys.modules
