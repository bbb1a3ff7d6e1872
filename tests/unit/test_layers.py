"""The one-way layers (intake < triage < reviews < assay) hold, as import-linter sees every import, and the check
can fail: a throwaway tree whose lower package imports a higher one inside a function is reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *extra], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_no_module_imports_a_higher_layer():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_lists_no_exceptions():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = config["contracts"]
    assert contract["layers"] == ["assay", "reviews", "triage", "intake"]
    assert not contract.get("ignore_imports") and not config.get("exclude_type_checking_imports")


def test_an_upward_import_inside_a_function_breaks_the_contract(tmp_path):
    for package in ("low", "high"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "high" / "api.py").write_text("def run():\n    return 1\n")
    (tmp_path / "low" / "work.py").write_text("def step():\n    from high.api import run\n\n    return run()\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["low", "high"]\n\n[[tool.importlinter.contracts]]\n'
        'name = "layers"\ntype = "layers"\nlayers = ["high", "low"]\n')
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "low.work -> high.api" in result.stdout


def test_the_triage_task_queued_by_name_is_the_registered_one():
    from intake.services import TRIAGE_TASK
    from triage.tasks import triage_submission

    assert triage_submission.name == TRIAGE_TASK
