"""Reading dynamic runs for the case page, reports and the closing note. Callers have checked access."""

from __future__ import annotations


def dynamic_latest_run(*, submission):  # noqa: ANN001, ANN201 - DynamicRun | None
    return submission.dynamic_runs.order_by("-created_at", "-pk").first()


def dynamic_closing_note(*, run) -> list[str]:  # noqa: ANN001
    """What ran, what could not and why, one line each, for the closing note and the report's limitations."""
    if run is None:
        return ["Dynamic stage: not run for this case (static triage only)."]
    if not run.ran:
        lines = [f"Dynamic stage not run: {run.gate_reason}."]
        lines += [f"Not run: {item['target']} ({item['reason']})." for item in run.not_run
                  if item.get("target") != "dynamic stage"]
        lines.append("No runtime evidence was gathered for this case; this says nothing about whether it is safe.")
        return lines
    lines = [f"Dynamic stage ran: {run.gate_reason}."] if run.gate_reason else []
    for server in run.servers:
        if server.get("started"):
            tools = ", ".join(server.get("tools") or []) or "no tools"
            state = f"; stopped: {server['stopped']}" if server.get("stopped") else ""
            lines.append(f"Ran MCP server {server['name']} in the {run.sandbox} sandbox (tools: {tools}){state}.")
    for item in run.not_run:
        lines.append(f"Not run: {item['target']} ({item['reason']}).")
    dynamic = [f for f in run.findings if f.get("severity") != "info"]
    lines.append(f"Dynamic findings: {len(dynamic)}." if dynamic else "Dynamic findings: none observed "
                 "(absence of evidence in a bounded sandboxed run, not proof of safety).")
    return lines
