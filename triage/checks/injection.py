"""Injection from tool inputs: each flow the tool model found from a tool's input (or content it fetched from a
source outsiders write) to a dangerous sink, reported at the sink with the path from source to sink as evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check
from triage.checks.tools import code_tools
from triage.parsers.tool_model import Flow, ToolDef

# A tool whose declared purpose is fetching what it is given (fetch_url, "Fetches a URL ... as markdown").
# The name says so when it is the fetch verb alone or the verb with a web object (fetch_url, scrape_page); a verb
# with some other object (fetch_attachment, download_invoice) fetches that object from its store, not any URL.
_FETCHER_NAME = re.compile(r"^(?:\w+_)?(?:fetch|browse|scrape|crawl|download|curl|wget|http_?get|web_?fetch)"
                           r"(?:_?(?:url|uri|page|web|site|website|link|html|markdown|http|content|webpage))?$|"
                           r"(?:get|read|open|load|fetch|scrape|crawl|download)_?(?:url|page|link|web|site|html)|"
                           r"(?:url|page|web)_?(?:get|read|content|fetch|reader|loader)|web_?page", re.I)
_FETCHER_TEXT = re.compile(r"\b(?:fetch(?:es)?|download(?:s)?|scrape(?:s)?|crawl(?:s)?|brows(?:e|es)|retrieve(?:s)?|"
                           r"get(?:s)?|read(?:s)?|open(?:s)?|load(?:s)?|request(?:s)?|list(?:s)?|extract(?:s)?|"
                           r"summari[sz]e(?:s)?|parse(?:s)?|convert(?:s)?)\b[^.]{0,40}"
                           r"\b(?:urls?|web\s*pages?|websites?|web\s+content|links?|https?|the\s+(?:web|internet))\b|"
                           r"\b(?:on|from|of|in|at)\s+(?:a|an|the|any)\s+(?:public\s+|given\s+|remote\s+)?"
                           r"(?:web\s*pages?|websites?|urls?)\b", re.I)


# A URL literal whose host (or the client's base URL) is fixed before the first placeholder: f"/points/{x}",
# `https://api.example.com/v1/${id}`. The input picks a path on a fixed host, not where the request goes.
_FIXED_HOST_URL = re.compile(r"""(?:\bf|\b|(?<=[\s(=,]))(['"`])(?:https?://[\w.-]+(?::\d+)?)?/[^'"`{}$]*"""
                             r"""(?:\{|\$\{|\1\s*\+)""")


# new URL(relative, BASE) / urljoin(BASE, relative) with a constant base: the input was spliced into a relative part.
_CONSTANT_BASE = re.compile(r"\bnew\s+URL\([^,()]+,\s*[A-Z][A-Z0-9_]*\s*\)|\burljoin\(\s*[A-Z][A-Z0-9_]*\s*,")


def _host_fixed(flow: Flow) -> bool:
    return any(_FIXED_HOST_URL.search(step.text) or (flow.spliced and _CONSTANT_BASE.search(step.text))
               for step in flow.steps)


def _flows(context: AnalysisContext, sinks: tuple[str, ...]) -> Iterator[tuple[ToolDef, Flow]]:
    for tool, _server in code_tools(context.system):
        for flow in sorted(tool.flows, key=lambda f: (f.line, f.sink, f.source, f.call, f.render())):
            if flow.sink in sinks:
                yield tool, flow


def _hit(tool: ToolDef, flow: Flow, severity: str) -> Hit:
    return Hit(flow.path or tool.path, flow.line, f"{tool.kind} {tool.name}: {flow.render()}", severity=severity,
               extra={"tool": tool.name, "sink": flow.sink, "source": flow.source, "spliced": flow.spliced})


def _fetched(flow: Flow) -> bool:
    return flow.source.startswith("fetched:")


def _declared_fetcher(tool: ToolDef) -> bool:
    return bool(_FETCHER_NAME.search(tool.name) or _FETCHER_TEXT.search(tool.description[:500]))


_EXEC_REMEDIATION = ("Do not build commands or code from tool inputs: call programs with an argument list "
                     "(shell=False / execFile), validate each argument against an allow-list, and run anything the "
                     "model chooses in a sandbox with no credentials and no network, behind an approval.")


@check("injection.command", title="A tool input reaches a shell command",
       severity="high", categories=("privilege_scope", "untrusted_input"),
       remediation=_EXEC_REMEDIATION,
       rationale="Whoever steers the model (a poisoned page, issue or email) chooses the command: OS command "
                 "injection with the server's privileges.")
def command(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("shell",)):
        yield _hit(tool, flow, "critical" if _fetched(flow) else "high")


@check("injection.code-exec", title="A tool input runs as code",
       severity="high", categories=("privilege_scope", "untrusted_input"),
       remediation=_EXEC_REMEDIATION,
       rationale="eval/exec, new Function or 'python -c <input>' on model-chosen text is code execution for whoever "
                 "steers the model.")
def code_exec(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("code-exec",)):
        yield _hit(tool, flow, "critical" if _fetched(flow) else "high")


@check("injection.sql", title="A tool input is spliced into SQL",
       severity="high", categories=("private_data", "privilege_scope", "irreversible_action"),
       remediation="Use bound parameters (cursor.execute(sql, params) / $1 placeholders), never string formatting; "
                   "give the tool a read-only role limited to the tables it needs; a tool that runs arbitrary SQL "
                   "should allow SELECT only and ask before anything else.",
       rationale="Model-chosen text in SQL can read or change any table the role can reach, and drop it.")
def sql(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("sql",)):
        # A tool that runs the model's whole query inside a read-only transaction or connection reads, and cannot
        # write or drop: what it may read is a question of the role's grants, not injection.
        whole = "low" if flow.contained else "medium"
        yield _hit(tool, flow, "high" if flow.spliced else whole)


@check("injection.path-traversal", title="A tool input chooses a file path with no containment check",
       severity="high", categories=("private_data", "privilege_scope"),
       remediation="Resolve the path (Path.resolve / fs.realpath) and refuse it unless it is inside the allowed "
                   "directory (is_relative_to / startsWith(root + sep)); reject absolute paths and '..'.",
       rationale="'../' or an absolute path reads keys and configuration (or overwrites and deletes files) "
                 "outside the directory the tool is meant for.")
def path_traversal(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("file-read", "file-write", "file-delete")):
        reads = flow.sink == "file-read"
        yield _hit(tool, flow, "medium" if reads and not flow.spliced else "high")


@check("injection.deserialise", title="A tool input is deserialised unsafely",
       severity="high", categories=("privilege_scope",),
       remediation="Parse data formats that cannot run code (json, yaml.safe_load); never pickle/marshal/"
                   "node-serialize data that came through a tool.",
       rationale="Unsafe deserialisation of attacker-shaped bytes runs code in the server.")
def deserialise(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("deserialise",)):
        yield _hit(tool, flow, "high")


@check("injection.ssrf", title="A tool input chooses the URL of an outbound request",
       severity="high", categories=("exfiltration", "untrusted_input"),
       remediation="Allow-list the hosts the tool may call, refuse private, loopback and link-local addresses after "
                   "resolving, and do not forward credentials to model-chosen URLs.",
       rationale="A model-chosen URL reaches internal services and cloud metadata (SSRF) and carries data out in "
                 "the request.")
def ssrf(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("ssrf",)):
        # Fetching any URL is a fetch tool's declared purpose (still a web source and network sink in the graph);
        # an input that only picks the path on a fixed host is not a forged request.
        yield _hit(tool, flow, "low" if _declared_fetcher(tool) or _host_fixed(flow) else "high")


@check("injection.template", title="A tool input is rendered as a server-side template",
       severity="high", categories=("privilege_scope",),
       remediation="Render fixed templates with the input as data (Template(FIXED).render(value=input)), in a "
                   "sandboxed environment; never compile the input itself as a template.",
       rationale="Template syntax in model-chosen text reaches the engine's object model: server-side template "
                 "injection, usually code execution.")
def template(context: AnalysisContext) -> Iterator[Hit]:
    for tool, flow in _flows(context, ("template",)):
        yield _hit(tool, flow, "high")
