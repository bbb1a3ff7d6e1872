"""Agent code: dynamic evaluation, shell strings and SQL built from model output."""

from __future__ import annotations

from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check


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
