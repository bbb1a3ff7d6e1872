"""Lethal trifecta: private data, untrusted input and a way out, reachable together without a human in the way."""

from __future__ import annotations

from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.graph import EXFIL_SINKS, Agent, Capability


def _legs(caps: list[Capability], width: int = 48) -> str:
    """"issue/pr-text via on: issues, on: pull_request" shortened to ``width`` characters."""
    text = "/".join(sorted({c.kind for c in caps})) + " via " + ", ".join(sorted({c.via for c in caps}))
    return text if len(text) <= width else text[: width - 1] + "…"


def _describe(agent: Agent, untrusted: list[Capability], private: list[Capability], out: list[Capability]) -> str:
    return (f"{agent.id}: reads {_legs(untrusted)}; sees {_legs(private, 36)}; "
            f"sends out unapproved {_legs(out)}")


@check("trifecta.lethal-trifecta", title="One agent combines private data, untrusted input and unapproved exfiltration",
       severity="critical", categories=("private_data", "untrusted_input", "exfiltration"),
       remediation="Break one leg: require approval on every outbound tool (network, push, messaging), drop the "
                   "untrusted reader from this agent, or run it with egress blocked by a sandbox.",
       rationale="Anyone who can write the untrusted input can instruct the agent to read the private data and send "
                 "it out; no prompt defence reliably stops that.")
def lethal_trifecta(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        untrusted, private, out = agent.untrusted(), agent.private(), agent.exfil()
        if untrusted and private and out:
            sink = sorted(out, key=lambda c: (c.path, c.line or 0, c.kind))[0]
            yield Hit(sink.path, sink.line, _describe(agent, untrusted, private, out), extra={"agent": agent.id})


@check("trifecta.mcp-untrusted-to-shell", title="Untrusted content from an MCP server reaches an unapproved shell",
       severity="critical", categories=("untrusted_input", "exfiltration", "privilege_scope"),
       remediation="Require approval for shell commands in any session that has this MCP server enabled, or run the "
                   "shell in a sandbox without network and with a read-only workspace.",
       rationale="A shell is every sink at once: text returned by the server can make the agent run any command.")
def mcp_untrusted_to_shell(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        untrusted = [c for c in agent.untrusted() if c.via.startswith("mcp:")]
        shells = agent.sinks({"shell"})
        if untrusted and shells:
            source = sorted(untrusted, key=lambda c: (c.path, c.line or 0, c.via))[0]
            yield Hit(source.path, source.line,
                      f"agent {agent.id}: {source.kind} from {source.via} with unapproved shell via {shells[0].via}",
                      extra={"agent": agent.id})


@check("trifecta.cross-agent-flow", title="Trifecta completed across agents that hand work to each other",
       severity="critical", categories=("private_data", "untrusted_input", "exfiltration"),
       remediation="Do not pass raw untrusted content between agents; hand off structured, validated data only, and "
                   "gate the outbound tools of every agent downstream of an untrusted reader.",
       rationale="Splitting capabilities across agents does not break the chain when one agent's output is another's "
                 "instruction.")
def cross_agent_flow(context: AnalysisContext) -> Iterator[Hit]:
    for group in context.graph.groups():
        if len(group) < 2:
            continue
        if any(a.untrusted() and a.private() and a.exfil() for a in group):
            continue  # already reported per agent
        untrusted = [c for a in group for c in a.untrusted()]
        private = [c for a in group for c in a.private()]
        out = [c for a in group for c in a.exfil()]
        if untrusted and private and out:
            first = group[0]
            yield Hit(first.path, first.line,
                      f"agents {', '.join(a.id for a in group)[:80]}: untrusted [{_legs(untrusted)}]; "
                      f"exfiltration [{_legs(out)}]", extra={"agents": [a.id for a in group]})


@check("trifecta.untrusted-memory", title="Memory writable by outsiders feeds an agent with unapproved outbound tools",
       severity="high", categories=("untrusted_input", "exfiltration"),
       remediation="Keep persistent memory writable only by the agent's owner, or require approval for outbound "
                   "tools whenever memory written by others is loaded.",
       rationale="Poisoned memory is a delayed prompt injection: it persists across sessions and users.")
def untrusted_memory(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        memory = [c for c in agent.untrusted() if c.kind == "memory"]
        out = agent.sinks(EXFIL_SINKS | {"payments", "deploy"})
        if memory and out:
            yield Hit(memory[0].path, memory[0].line,
                      f"agent {agent.id}: memory {memory[0].via} is writable by outsiders; sinks [{_legs(out)}]",
                      extra={"agent": agent.id})


# Untrusted kinds an outsider authors on purpose (an issue, a ticket, a mail); a web page a tool fetches on request is
# left to the per-flow checks: a documentation fetcher that also reads local files is not a toxic server.
_AUTHORED_KINDS = frozenset({"issue", "pr-text", "ticket", "error-report", "email", "chat"})


@check("trifecta.server-toxic-flow",
       title="One MCP server's tools combine outsider-written content, private data and a way out",
       severity="high", categories=("private_data", "untrusted_input", "exfiltration"),
       remediation="Split the server: keep the tool that reads outsider-written content (issues, tickets, mail) "
                   "apart from the tools that read private data and publish or send, or make the publishing tool "
                   "ask for confirmation showing what leaves. Never auto-approve this server's tools.",
       rationale="Whoever writes the issue, ticket or mail the first tool returns can instruct the agent to read "
                 "private data with the second and publish it with the third; the client's per-call prompt is "
                 "the only defence left, and users routinely approve it.")
def server_toxic_flow(context: AnalysisContext) -> Iterator[Hit]:
    for agent in context.graph.sorted_agents():
        if not agent.harness.startswith("mcp-server/"):
            continue
        untrusted = [c for c in agent.untrusted() if c.kind in _AUTHORED_KINDS]
        private = agent.private()
        out = agent.sinks(EXFIL_SINKS | {"api-write"}, ungated=False)
        if untrusted and private and out:
            sink = sorted(out, key=lambda c: (c.path, c.line or 0, c.kind, c.via))[0]
            yield Hit(sink.path, sink.line, f"{agent.id}: reads {_legs(untrusted)}; sees {_legs(private, 36)}; "
                      f"sends out {_legs(out)}", extra={"agent": agent.id})
