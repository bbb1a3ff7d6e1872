"""Agent code: dynamic evaluation, shell strings and SQL built from model output."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.parsers.ci import OUTSIDER_FIELD


def _risks(context: AnalysisContext, kind: str) -> Iterator[Hit]:
    for module in context.system.python_modules:
        for risk in module.risks:
            if risk.kind == kind:
                yield Hit(module.path, risk.line, risk.detail)


@check("code.eval-dynamic", title="eval/exec runs a computed string",
       severity="high", categories=("privilege_scope",),
       remediation="Parse structured output (json.loads, ast.literal_eval) instead; if code must run, run it in a "
                   "sandbox without credentials or network.",
       rationale="Model output that reaches eval is code execution for whoever steered the model.")
def eval_dynamic(context: AnalysisContext) -> Iterator[Hit]:
    yield from _risks(context, "eval-dynamic")


@check("code.shell-dynamic", title="A shell command is built from computed strings",
       severity="high", categories=("privilege_scope",),
       remediation="Call subprocess with an argument list and shell=False, validate each argument against an "
                   "allow-list, and require approval for anything outside it.",
       rationale="shell=True on model-influenced text is command injection.")
def shell_dynamic(context: AnalysisContext) -> Iterator[Hit]:
    yield from _risks(context, "shell-dynamic")


@check("code.sql-built", title="SQL is built by string formatting",
       severity="medium", categories=("privilege_scope", "private_data"),
       remediation="Use parameterised queries and a read-only database role for agent tools.",
       rationale="Model-chosen values spliced into SQL can read or change any table the role can.")
def sql_built(context: AnalysisContext) -> Iterator[Hit]:
    yield from _risks(context, "sql-built")


# Triggers on which those fields come from an outsider and the job holds the base repository's token and secrets.
_PRIVILEGED_OUTSIDER_EVENTS = frozenset({"issues", "issue_comment", "pull_request_target", "pull_request_review",
                                         "pull_request_review_comment", "discussion", "discussion_comment",
                                         "workflow_run"})


def _script_inputs(step) -> list[tuple[str, str]]:  # noqa: ANN001 - WorkflowStep
    """(what, text) of a step that the runner executes as code: its run script, github-script's script input."""
    found = [("run", step.run)] if step.run else []
    if step.uses.lower().startswith("actions/github-script") and isinstance(step.with_.get("script"), str):
        found.append(("script", step.with_["script"]))
    return found


@check("code.workflow-expression", title="Outsider-written event text is expanded into a workflow script",
       severity="high", categories=("untrusted_input", "privilege_scope"),
       remediation="Pass the value through an environment variable (env: TITLE: ${{ github.event.issue.title }}) "
                   'and use "$TITLE" in the script, quoted; never write ${{ github.event.* }} text inside run: or '
                   "script:.",
       rationale="${{ }} is substituted into the script before it runs: an issue title or branch name containing "
                 "a quote runs the author's commands with the job's token and secrets.")
def workflow_expression(context: AnalysisContext) -> Iterator[Hit]:
    for workflow in context.system.workflows:
        privileged = bool(set(workflow.triggers) & _PRIVILEGED_OUTSIDER_EVENTS)
        for step in workflow.steps:
            for what, text in _script_inputs(step):
                for match in OUTSIDER_FIELD.finditer(text):
                    line = workflow.file.line_of(match.group(0)) or step.line
                    # on pull_request a fork's run gets a read-only token and no secrets: its own sandbox
                    yield Hit(step.path, line, f"job {step.job} {what}: {match.group(0)}",
                              severity=None if privileged else "low")
