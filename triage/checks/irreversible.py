"""Irreversible actions without a brake, and autonomous agents without spend or turn budgets."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.parsers.base import as_dict, as_list


def auto_commands(context: AnalysisContext) -> Iterator[tuple[str, int | None, str, str]]:
    """(path, line, command, how) for commands that run with no human seeing them first."""
    system = context.system
    for allow in system.claude_allow:
        match = re.match(r"^Bash\((.+)\)$", allow.rule.strip())
        if match:
            yield allow.path, allow.line, match.group(1), "pre-approved"
    for rule in as_list(as_dict((system.manifest or {}).get("permissions")).get("allow")):
        match = re.match(r"^Bash\((.+)\)$", rule.strip()) if isinstance(rule, str) else None
        if match:
            yield system.manifest_path, system.manifest_line(rule), match.group(1), "pre-approved"
    for hook in system.hooks:
        yield hook.path, hook.line, hook.command, f"{hook.event} hook"
    for module in system.python_modules:
        for tool in module.tools:
            if tool.gated or module.has_human_gate:
                continue
            for effect in tool.effects:
                if effect.kind in ("shell", "command", "delete", "database-drop", "database-write"):
                    yield tool.path, effect.line, effect.detail, f"tool {tool.name}"


def _command_check(context: AnalysisContext, pattern: re.Pattern[str]) -> Iterator[Hit]:
    for path, line, command, how in auto_commands(context):
        if pattern.search(command):
            yield Hit(path, line, f"{how}: {command}")


_BRAKE = ("Require explicit human approval for this command (remove it from allow rules and unattended tools), "
          "or wrap it in a tool that enforces a dry run, a scope and a confirmation.")


@check("irreversible.recursive-delete", title="Recursive deletes run without approval",
       severity="high", categories=("irreversible_action",), remediation=_BRAKE,
       rationale="One injected or mistaken path argument wipes the workspace or host; there is no undo.")
def recursive_delete(context: AnalysisContext) -> Iterator[Hit]:
    yield from _command_check(context, re.compile(
        r"\brm\s+(-\w*[rR]\w*|--recursive)|\brm(:\*|\s+:\*|\s*\*)$|^rm$|shutil\.rmtree|\bfind\b.*\s-delete|\brmtree\("))


@check("irreversible.force-push", title="Force-push runs without approval",
       severity="high", categories=("irreversible_action",), remediation=_BRAKE,
       rationale="A force-push rewrites shared history and can erase others' work.")
def force_push(context: AnalysisContext) -> Iterator[Hit]:
    yield from _command_check(context, re.compile(
        r"git\s+push\b.*(--force\b|\s-f\b|--force-with-lease|\s\+\S)|^git(\s+push)?(:\*|\s+\*|\s*:\*)$"))


@check("irreversible.terraform-auto-approve", title="Terraform destroy or auto-approved apply without a brake",
       severity="critical", categories=("irreversible_action",), remediation=_BRAKE,
       rationale="Auto-approved infrastructure changes can delete production resources and data.")
def terraform_auto_approve(context: AnalysisContext) -> Iterator[Hit]:
    yield from _command_check(context, re.compile(
        r"terraform\s+(destroy|apply\b.*-auto-approve)|-auto-approve|^terraform(\s+(apply|destroy))?(:\*|\s*\*)$"))


@check("irreversible.sql-drop", title="DROP or TRUNCATE reachable without approval",
       severity="critical", categories=("irreversible_action", "private_data"), remediation=_BRAKE,
       rationale="Dropped tables are gone unless a tested backup exists.")
def sql_drop(context: AnalysisContext) -> Iterator[Hit]:
    pattern = re.compile(r"\b(DROP\s+(TABLE|DATABASE|SCHEMA)|TRUNCATE)\b", re.I)
    yield from _command_check(context, pattern)


@check("irreversible.kubectl-delete", title="Kubernetes deletes run without approval",
       severity="high", categories=("irreversible_action",), remediation=_BRAKE,
       rationale="kubectl delete and helm uninstall remove running workloads and their volumes.")
def kubectl_delete(context: AnalysisContext) -> Iterator[Hit]:
    yield from _command_check(context, re.compile(
        r"kubectl\s+delete|helm\s+(uninstall|delete)|^kubectl(\s+delete)?(:\*|\s*\*)$"))


@check("irreversible.payments-unapproved", title="Payments or transfers run without approval",
       severity="critical", categories=("irreversible_action",),
       remediation="Require a human approval for every payment, refund or transfer, with the amount and payee shown.",
       rationale="Money sent on an injected instruction is rarely recoverable.")
def payments_unapproved(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        for sink in agent.sinks({"payments"}, uncontained=False):
            yield Hit(sink.path, sink.line, f"agent {agent.id}: payments via {sink.via}", extra={"agent": agent.id})


@check("irreversible.prod-deploy-unapproved", title="Production deploys run without approval",
       severity="high", categories=("irreversible_action",),
       remediation="Deploy through a pipeline with a protected environment and required reviewers; give the agent "
                   "preview-only credentials.",
       rationale="An agent that deploys unattended can ship an attacker's change to production.")
def prod_deploy_unapproved(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        for sink in agent.sinks({"deploy"}, uncontained=False):
            yield Hit(sink.path, sink.line, f"agent {agent.id}: deploy via {sink.via}", extra={"agent": agent.id})
    yield from _command_check(context, re.compile(
        r"vercel\b.*--prod|fly(ctl)?\s+deploy|kubectl\s+(apply|rollout)|helm\s+(upgrade|install)|"
        r"gcloud\s+\w+\s+deploy|serverless\s+deploy|npm\s+publish"))


@check("irreversible.payments-no-limit", title="A payment tool has no amount or spend limit",
       severity="medium", categories=("irreversible_action",),
       remediation="Enforce a per-transaction and per-day cap inside the tool (not in the prompt) and reject above it.",
       rationale="Without a cap in code, one bad call can move any amount.")
def payments_no_limit(context: AnalysisContext) -> Iterator[Hit]:
    for module in context.system.python_modules:
        for tool in module.tools:
            payments = [e for e in tool.effects if e.kind == "payments"]
            if payments and not tool.bounded:
                yield Hit(tool.path, payments[0].line, f"tool {tool.name}: {payments[0].detail} with no cap check")


@check("irreversible.no-run-budget", title="An autonomous agent runs with no turn, iteration or time budget",
       severity="medium", categories=("irreversible_action",),
       remediation="Set max_turns / max_iterations and a wall-clock timeout (timeout-minutes in CI) on every "
                   "unattended run.",
       rationale="An unbounded loop burns money and multiplies the damage of a bad instruction.")
def no_run_budget(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        if agent.harness in ("claude-code", "codex", "cursor", "vscode", "python-tools") or agent.id == "manifest":
            continue  # interactive harnesses: a human is at the keyboard
        if not agent.budget and agent.sinks({"shell", "network", "payments", "deploy", "write-files", "git-push",
                                             "messaging", "email-send", "database-write", "delete"}, uncontained=False):
            limit = "no --max-turns and no timeout-minutes" if agent.harness == "github-actions" else \
                "its turn/iteration limit switched off"
            yield Hit(agent.path, agent.line, f"agent {agent.id} ({agent.harness}): {limit}",
                      extra={"agent": agent.id})
