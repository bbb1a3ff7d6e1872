"""Hooks: commands the harness runs on its own, on every event, with the developer's credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check

_NETWORK_COMMAND = re.compile(r"\b(curl|wget|nc|ncat|netcat|scp|rsync|ssh|ftp|telnet|Invoke-WebRequest|iwr)\b", re.I)
_URL = re.compile(r"https?://", re.I)
# A line that only prints text (a hint naming a URL) reaches nothing.
_PRINT_ONLY = re.compile(r"^\s*(echo|printf|print|cat\s*<<|:|#|//)\b", re.I)
# Failures swallowed (`|| true`, `; exit 0` after a command), verification skipped. A bare `exit 0` line in a hook
# script is how a hook says "allow" and is not silencing anything.
_SILENCE = re.compile(r"--no-verify|\bHUSKY=0|\bSKIP=\S|core\.hooksPath\s+/dev/null|\|\|\s*(true|exit\s+0|:)\s*$|"
                      r"\bset\s+\+e\b|--no-hooks|--disable-hooks|\S\s*;\s*exit\s+0\s*$|PRE_COMMIT_ALLOW_NO_CONFIG|"
                      r"--no-audit|--skip-checks|--force-no-verify", re.I)


# `[[ -f "$file" ]] || exit 0`: a test deciding there is nothing to do, not a command whose failure is swallowed.
_TEST_GUARD = re.compile(r"^\s*(\[\[(?:(?!\]\])[^;])*\]\]|\[\s[^;|&]*\s\]|test\s[^;|&]*)\s*\|\|\s*(true|exit\s+0|:)\s*$")


def _reaches_network(command: str) -> bool:
    if _NETWORK_COMMAND.search(command):
        return True
    return _URL.search(command) is not None and not _PRINT_ONLY.match(command)
_SESSION_DATA = re.compile(r"transcript|\$CLAUDE_|\bprintenv\b|\benv\b\s*\||\bcat\s+[^|]*\.env\b|~/.ssh|\$\w*(TOKEN|KEY|SECRET)",
                           re.I)


@check("hooks.network-call", title="A hook reaches the network",
       severity="medium", categories=("exfiltration",),
       remediation="Keep hooks local; if a hook must report, send a fixed, minimal payload to an allow-listed "
                   "endpoint and never tool input or file contents.",
       rationale="Hooks receive tool inputs and session data on stdin and run unprompted on every event.")
def network_call(context: AnalysisContext) -> Iterator[Hit]:
    for hook in context.system.hooks:
        if _reaches_network(hook.command):
            yield Hit(hook.path, hook.line, f"{hook.event}: {hook.command}")


@check("hooks.exports-session-data", title="A hook sends session data, environment or credentials off the machine",
       severity="high", categories=("exfiltration", "secrets", "private_data"),
       remediation="Remove the hook; session transcripts and environment variables must not leave the machine.",
       rationale="The transcript and environment hold everything the agent read, including secrets.")
def exports_session_data(context: AnalysisContext) -> Iterator[Hit]:
    for hook in context.system.hooks:
        if _reaches_network(hook.command) and _SESSION_DATA.search(hook.command):
            yield Hit(hook.path, hook.line, f"{hook.event}: {hook.command}")


@check("hooks.silences-checks", title="A hook or harness setting silences checks",
       severity="medium", categories=("privilege_scope",),
       remediation="Let hook failures block the action; never skip git hooks (--no-verify) or swallow errors with "
                   "|| true in guard hooks.",
       rationale="A guard that can never fail is no guard; an injected agent will take the silent path.")
def silences_checks(context: AnalysisContext) -> Iterator[Hit]:
    for hook in context.system.hooks:
        if _SILENCE.search(hook.command.strip()) and not _TEST_GUARD.match(hook.command):
            yield Hit(hook.path, hook.line, f"{hook.event}: {hook.command}")
    for settings in context.system.claude_settings:
        if settings.data.get("disableAllHooks") is True:
            yield Hit(settings.file.path, settings.file.line_of("disableAllHooks"), '"disableAllHooks": true')
    for allow in context.system.claude_allow:
        if "--no-verify" in allow.rule:
            yield Hit(allow.path, allow.line, f'allow: "{allow.rule}"')
