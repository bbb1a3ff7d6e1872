"""Lethal trifecta: private data, untrusted input and a way out, reachable together without a human in the way."""

from __future__ import annotations

from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.graph import EXFIL_SINKS, PRIVATE, SOURCE, Agent, Capability, code_tool_capabilities


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
                   "apart from the tools that read private data and publish or send, or ask the user in code "
                   "(elicitation) before every send, showing what leaves. Never auto-approve this server's tools.",
       rationale="Whoever writes the issue, ticket or mail the first tool returns can instruct the agent to read "
                 "private data with the second and publish it with the third; the client's per-call prompt is "
                 "the only defence left, and users routinely approve it.")
def server_toxic_flow(context: AnalysisContext) -> Iterator[Hit]:
    # leg by leg over the server's own tools; a send its code asks the user about (elicitation) is no way out
    for server in sorted(context.system.code_servers, key=lambda s: (s.path, s.line, s.id)):
        untrusted, private, out = [], [], []
        for tool in sorted(server.tools, key=lambda t: (t.line, t.kind, t.name)):
            for direction, kind, line in code_tool_capabilities(tool):
                if direction == SOURCE and kind in _AUTHORED_KINDS and _reads_outside(tool):
                    untrusted.append((tool.name, kind, line))
                elif direction == SOURCE and kind == PRIVATE:
                    private.append((tool.name, kind, line))
            if not tool.gated:
                out.extend((tool.name, kind, line) for kind, line in _ways_out(tool))
        # three legs, and not all in one tool that only relays what it was given
        if untrusted and private and out and len({name for name, _k, _l in untrusted + private + out}) > 1:
            yield Hit(server.path, out[0][2],
                      f"server {server.name}: reads {_named(untrusted)}; sees private data via {_named(private)}; "
                      f"sends out unapproved via {_named(out)}", extra={"server": server.id})


def _ways_out(tool) -> list[tuple[str, int]]:  # noqa: ANN001 - ToolDef
    """What the tool sends out: mail, messages, writes to a service, requests with a body; a GET only when the input
    chooses where it goes (a query to the tool's own fixed service is no way out)."""
    chosen = {flow.line for flow in tool.flows if flow.sink == "ssrf"}
    found = [(e.kind, e.line) for e in tool.effects if e.kind in ("email-send", "messaging", "network", "api-write")]
    found += [("network", e.line) for e in tool.effects if e.kind == "web-fetch" and e.line in chosen]
    return sorted(found, key=lambda item: (item[1], item[0]))


def _reads_outside(tool) -> bool:  # noqa: ANN001 - ToolDef
    """The tool really reads something from outside (mail, a web page, an API), not only a name in its text."""
    return any(e.kind in ("email-read", "web-fetch", "api-read") for e in tool.effects) or \
        any(f.source.startswith("fetched:") for f in tool.flows)


def _named(legs: list[tuple[str, str, int]]) -> str:
    shown = sorted({f"{kind}:{name}" for name, kind, _line in legs})
    text = ", ".join(shown[:3]) + (" …" if len(shown) > 3 else "")
    return text
