"""Agentjacking: an outsider writes a report, ticket, email or page that an agent with write or shell power reads."""

from __future__ import annotations

from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.graph import ACTION_SINKS, EXFIL_SINKS, Agent
from triage.parsers.ci import foreign_text_in_prompt, trusted_triggers_only, widened_inputs

_REMEDIATION = ("Put a human approval between reading {what} and any shell, write, push or deploy tool, or split the "
                "work: a read-only agent summarises, a separate agent with write access acts only on the summary "
                "after review.")


def _flows(agent: Agent, kinds: set[str], sinks: frozenset[str] = ACTION_SINKS) -> tuple[list, list]:
    sources = [c for c in agent.untrusted() if c.kind in kinds]
    actions = agent.sinks(sinks) if sources else []
    return sources, actions


def _hits(context: AnalysisContext, kinds: set[str], label: str, sinks: frozenset[str] = ACTION_SINKS) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        sources, actions = _flows(agent, kinds, sinks)
        if sources and actions:
            source = sorted(sources, key=lambda c: (c.path, c.line or 0, c.via))[0]
            acts = ", ".join(sorted({f"{a.kind} via {a.via}" for a in actions}))[:90]
            yield Hit(source.path, source.line, f"agent {agent.id} reads {label} via {source.via}; acts without "
                      f"approval: {acts}", extra={"agent": agent.id})


@check("agentjacking.error-report-to-action", title="Error reports reach an agent that acts without approval",
       severity="critical", categories=("untrusted_input", "privilege_scope", "irreversible_action"),
       remediation=_REMEDIATION.format(what="error reports"),
       rationale="Anyone can trigger an error whose message or breadcrumbs carry instructions (e.g. through a "
                 "crafted request); a fixing agent with shell access then runs them.")
def error_report_to_action(context: AnalysisContext) -> Iterator[Hit]:
    yield from _hits(context, {"error-report"}, "error reports")


@check("agentjacking.ticket-to-action", title="Issues, tickets or PR text reach an agent that acts without approval",
       severity="high", categories=("untrusted_input", "privilege_scope"),
       remediation=_REMEDIATION.format(what="issues, tickets or pull-request text"),
       rationale="Issue and ticket bodies are written by outsiders; instructions in them are indistinguishable from "
                 "the task.")
def ticket_to_action(context: AnalysisContext) -> Iterator[Hit]:
    yield from _hits(context, {"issue", "ticket", "pr-text"}, "issues/tickets/PR text")


@check("agentjacking.email-to-action", title="Inbound email or chat reaches an agent that can act or reply unapproved",
       severity="high", categories=("untrusted_input", "exfiltration"),
       remediation=_REMEDIATION.format(what="inbound email or chat messages"),
       rationale="Anyone can email the inbox; an auto-acting mail agent forwards, pays or replies on an attacker's "
                 "behalf.")
def email_to_action(context: AnalysisContext) -> Iterator[Hit]:
    yield from _hits(context, {"email", "chat"}, "email/chat",
                     ACTION_SINKS | frozenset({"email-send", "messaging", "payments"}))


@check("agentjacking.web-to-action", title="Web content reaches an agent that runs commands or writes unapproved",
       severity="high", categories=("untrusted_input", "privilege_scope"),
       remediation=_REMEDIATION.format(what="web pages or search results"),
       rationale="Any page the agent visits can carry hidden instructions.")
def web_to_action(context: AnalysisContext) -> Iterator[Hit]:
    yield from _hits(context, {"web"}, "web content",
                     frozenset({"shell", "deploy", "payments", "database-drop", "delete", "git-push"}))




@check("agentjacking.ci-untrusted-trigger", title="A CI agent runs on events any outsider can trigger",
       severity="high", categories=("untrusted_input", "privilege_scope"),
       remediation="Run the agent only for trusted authors (check github.event.comment.author_association or "
                   "an allow-list of actors), give the job read-only permissions, and never expose secrets to it.",
       rationale="On a public repository anyone can open an issue or comment; the agent runs with the workflow's "
                 "token and secrets on their text.")
def ci_untrusted_trigger(context: AnalysisContext) -> Iterator[Hit]:
    for workflow in context.system.workflows:
        triggers = workflow.untrusted_triggers
        if not triggers:
            continue
        for step in workflow.agent_steps:
            if trusted_triggers_only(step):
                continue  # an author condition, or the action's own write-access check, keeps outsiders out
            widened = widened_inputs(step)
            foreign = foreign_text_in_prompt(step)
            how = f"with its write-access check widened ({'; '.join(widened)})" if widened else (
                f"handing the agent outsider-written {', '.join(foreign)} (an actor check does not vouch for it)"
                if foreign else "with no author check")
            agent = context.graph.agents.get(f"workflow:{step.path}#{step.job}")
            # an agent that can only read (no unapproved shell, fetch or token write) is still steered, but cannot act
            can_act = agent is None or bool(agent.sinks(ACTION_SINKS | EXFIL_SINKS))
            yield Hit(step.path, step.line, f"job {step.job} runs {step.uses or 'an agent CLI'} on "
                      f"{', '.join(triggers)} {how}", severity=None if can_act else "medium")
