"""approval.broad-command-allow: a rule that allows a program with any arguments, read by what the program can do."""

from __future__ import annotations

import pytest

from tests.unit.triage_checks.helpers import lay_out
from triage.analysis import analyse


def _broad(tmp_path, rule: str) -> list[tuple[str, str]]:  # noqa: ANN001
    lay_out(tmp_path, {".claude/settings.json": {"permissions": {"allow": [rule]}}})
    return [(f.severity, f.evidence) for f in analyse(tmp_path) if f.check == "approval.broad-command-allow"]


@pytest.mark.parametrize("rule", ["Bash(node:*)", "Bash(bash *)", "Bash(uvx:*)", "Bash(docker:*)", "Bash(sudo:*)"])
def test_an_interpreter_or_launcher_with_any_arguments_is_every_command(tmp_path, rule):  # noqa: ANN001
    assert _broad(tmp_path, rule) == [("high", f'allow: "{rule}" (runs any command it is given)')]


@pytest.mark.parametrize("rule,program", [("Bash(terraform *)", "terraform"), ("Bash(aws:*)", "aws"),
                                          ("Bash(git:*)", "git"), ("Bash(psql:*)", "psql")])
def test_a_cli_with_destructive_subcommands_is_medium(tmp_path, rule, program):  # noqa: ANN001
    assert _broad(tmp_path, rule) == [("medium", f'allow: "{rule}" (every {program} subcommand, destructive ones '
                                                 "included)")]


@pytest.mark.parametrize("rule", ["Bash(git status)", "Bash(git diff:*)", "Bash(pytest:*)", "Bash(ruff check:*)",
                                  "Bash(python3 tools/report.py:*)", "Bash(kubectl get pods)", "Read", "Bash(*)"])
def test_named_subcommands_harmless_programs_and_the_blanket_rule_are_not_this_check(tmp_path, rule):  # noqa: ANN001
    assert _broad(tmp_path, rule) == []  # Bash(*) is approval.blanket-shell-allow's


def test_a_slash_command_front_matter_counts_like_settings(tmp_path):  # noqa: ANN001
    lay_out(tmp_path, {".claude/commands/rollout.md": "---\nallowed-tools: Bash(gcloud:*)\n---\nRoll out.\n"})
    [finding] = [f for f in analyse(tmp_path) if f.check == "approval.broad-command-allow"]
    assert (finding.path, finding.line, finding.severity) == (".claude/commands/rollout.md", 2, "medium")
