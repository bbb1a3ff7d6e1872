"""Sandbox and permission policy files of agent harnesses, recognised by their structure, not by one file name.

Harnesses and sandbox runtimes describe what an agent may reach in one document with separate sections for network
egress, the filesystem and the commands it may run, each with allow/deny (or read/write) lists. A file counts as such
a policy only when at least two of those sections are present and each holds allow/deny-shaped keys: a YAML file
with an ``allow`` key somewhere is not a policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.parsers.base import SourceFile, as_dict, as_list

_SECTIONS = {
    "network": frozenset({"network", "networking", "egress", "outbound", "net", "networkpolicies", "networkpolicy",
                          "internet", "domains"}),
    "filesystem": frozenset({"filesystem", "fs", "files", "filesystempolicy", "mounts"}),
    "commands": frozenset({"commands", "command", "exec", "execution", "process", "processes", "binaries",
                           "programs", "shell", "tools"}),
}
_POLICY_KEYS = frozenset({
    "allow", "deny", "allowed", "denied", "allowlist", "denylist", "blocklist", "block", "blocked", "whitelist",
    "blacklist", "read", "write", "readonly", "readwrite", "rw", "ro", "writable", "allowread", "allowwrite",
    "denyread", "denywrite", "alloweddomains", "denieddomains", "allowedhosts", "deniedhosts", "hosts", "endpoints",
    "default", "defaultaction", "defaultpolicy", "mode", "allowedcommands", "deniedcommands", "allowall"})
_WRAPPERS = frozenset({"sandbox", "policy", "policies", "permissions", "security", "isolation", "restrictions"})
_ANY_HOST = frozenset({"*", "*.*", "**", "0.0.0.0/0", "::/0", "any", "all", "*:*", "0.0.0.0"})
_OPEN_DEFAULT = frozenset({"allow", "allowed", "allow-all", "allow_all", "open", "unrestricted", "any", "all", "host"})
_ANY_COMMAND = frozenset({"*", "**", "all", "any", "bash", "sh", "zsh", "dash", "/bin/bash", "/bin/sh", "/usr/bin/bash",
                          "/bin/zsh", "/usr/bin/env", "bash *", "sh -c", "bash -c"})
_BROAD_PATH = re.compile(r"^(/|~|~/|\$HOME|/home|/Users|/root|\*\*|/\*\*|//\*\*|~/\*\*|\*|/\*|C:\\\\?)/?$")
MAX_ENTRIES = 500


def _norm(key: object) -> str:
    return re.sub(r"[-_\s]", "", str(key)).lower()


@dataclass(frozen=True)
class PolicyGrant:
    kind: str  # network-any | write-anywhere | any-command
    path: str
    line: int | None
    evidence: str


@dataclass
class SandboxPolicy:
    file: SourceFile
    sections: tuple[str, ...]
    grants: list[PolicyGrant] = field(default_factory=list)


def _line_of_value(file: SourceFile, value: str) -> int | None:
    """First line holding ``value`` as a whole scalar (``- /``, ``[/]``, ``"*"``), not inside a longer path."""
    token = re.compile(r"(^|[\s\[,'\":-])" + re.escape(value) + r"($|[\s\],'\"#])")
    for number, line in enumerate(file.lines, start=1):
        if token.search(line):
            return number
    return file.line_of(value)


def _is_policy_section(value: object) -> bool:
    """A mapping with allow/deny-shaped keys, directly or in named sub-policies one level down."""
    table = as_dict(value)
    if any(_norm(k) in _POLICY_KEYS for k in table):
        return True
    return any(isinstance(v, dict) and any(_norm(k) in _POLICY_KEYS for k in v) for v in table.values())


def _sections(data: dict) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in data.items():
        for section, names in _SECTIONS.items():
            if _norm(key) in names and section not in found and (
                    _is_policy_section(value) or (section == "network" and isinstance(value, str | bool))):
                found[section] = value
    return found


def policy_body(data: object) -> dict[str, object] | None:
    """The sections of a policy document (at the top or under a sandbox/policy/permissions key), or None."""
    data = as_dict(data)
    for candidate in [data] + [as_dict(v) for k, v in sorted(data.items(), key=lambda kv: str(kv[0]))
                               if _norm(k) in _WRAPPERS]:
        if "apiVersion" in candidate and "kind" in candidate:
            return None  # a Kubernetes object: its NetworkPolicy has its own semantics
        sections = _sections(candidate)
        if len(sections) >= 2 and sum(1 for v in sections.values() if isinstance(v, dict)) >= 1:
            return sections
    return None


def _strings(value: object, depth: int = 0) -> list[str]:
    """Every string in a list/mapping of entries (hosts may be {host: ..., port: ...} objects)."""
    if depth > 4:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if _norm(k) in ("host", "domain", "name", "path", "command", "binary",
                                                            "address", "cidr", "url", "pattern", "value")
                for s in _strings(v, depth + 1)]
    return [s for item in as_list(value)[:MAX_ENTRIES] for s in _strings(item, depth + 1)]


def _entries(section: object, keys: frozenset[str], depth: int = 0) -> list[str]:
    """Strings under any of ``keys`` in a section or its named sub-policies."""
    found: list[str] = []
    if depth > 2:
        return found
    for key, value in as_dict(section).items():
        if _norm(key) in keys:
            found += _strings(value)
        elif isinstance(value, dict):
            found += _entries(value, keys, depth + 1)
    return found


def _defaults(section: object) -> list[str]:
    return [str(v) for k, v in as_dict(section).items() if _norm(k) in ("default", "defaultaction", "defaultpolicy",
                                                                       "mode") and isinstance(v, str)]


def _network_grants(section: object, file: SourceFile) -> list[PolicyGrant]:
    if isinstance(section, str) or section is True:
        text = str(section).lower()
        if section is True or text in _OPEN_DEFAULT:
            return [PolicyGrant("network-any", file.path, file.line_of(str(section)), f"network: {section}")]
        return []
    allowed = _entries(section, frozenset({"allow", "allowed", "allowlist", "whitelist", "alloweddomains",
                                           "allowedhosts", "hosts", "endpoints", "domains"}))
    wild = [a for a in allowed if a.strip().lower() in _ANY_HOST]
    if wild:
        return [PolicyGrant("network-any", file.path, _line_of_value(file, wild[0]),
                            f"network allows {wild[0]!r}")]
    open_default = [d for d in _defaults(section) if d.strip().lower() in _OPEN_DEFAULT]
    if open_default:
        # default-allow is open egress; a deny list only names the hosts an attacker will not use
        denied = _entries(section, frozenset({"deny", "denied", "denylist", "blocklist", "blacklist", "block",
                                              "denieddomains", "deniedhosts"}))
        return [PolicyGrant("network-any", file.path, _line_of_value(file, open_default[0]),
                            f"network default: {open_default[0]} ({len(denied)} host(s) denied)")]
    return []


def _filesystem_grants(section: object, file: SourceFile) -> list[PolicyGrant]:
    writable = _entries(section, frozenset({"write", "readwrite", "rw", "writable", "allowwrite"}))
    broad = [w for w in writable if _BROAD_PATH.match(w.strip())]
    if broad:
        return [PolicyGrant("write-anywhere", file.path, _line_of_value(file, broad[0]),
                            f"filesystem write allowed at {broad[0]!r}")]
    return []


def _command_grants(section: object, file: SourceFile) -> list[PolicyGrant]:
    if as_dict(section).get("allow_all") is True or as_dict(section).get("allowAll") is True:
        return [PolicyGrant("any-command", file.path, file.line_of("llow"), "commands: allow all")]
    allowed = _entries(section, frozenset({"allow", "allowed", "allowlist", "whitelist", "allowedcommands"}))
    blanket = [a for a in allowed if a.strip().lower() in _ANY_COMMAND]
    if blanket:
        return [PolicyGrant("any-command", file.path, _line_of_value(file, blanket[0]),
                            f"commands allow {blanket[0]!r}")]
    return []


def parse_policy(data: object, file: SourceFile) -> SandboxPolicy | None:
    sections = policy_body(data)
    if sections is None:
        return None
    policy = SandboxPolicy(file, tuple(sorted(sections)))
    if "network" in sections:
        policy.grants += _network_grants(sections["network"], file)
    if "filesystem" in sections:
        policy.grants += _filesystem_grants(sections["filesystem"], file)
    if "commands" in sections:
        policy.grants += _command_grants(sections["commands"], file)
    return policy


def is_policy_candidate(path: str) -> bool:
    """YAML anywhere; JSON only when its name says it is a policy (package.json and friends are not)."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith((".yml", ".yaml")):
        return True
    return name.endswith(".json") and re.search(r"policy|policies|sandbox|permission|srt-settings", name) is not None
