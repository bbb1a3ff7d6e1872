"""What the scripts a skill runs do, read as the user would have to approve them: by the one line `bash sync.sh`.

A skill's script runs through the harness's shell tool, so the permission prompt (when there is one) shows the
command that starts the script, never what the script sends or destroys. The checks in tools.py report a skill
script's uploads and irreversible steps on that basis; these helpers find them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from triage.checks import confirmation
from triage.parsers import ParsedSystem
from triage.parsers.skills import Skill

# Shell commands that send a file's contents or a directory to another host.
_SHELL_UPLOAD = re.compile(r"\bcurl\b[^|;]*(--data-binary\s+@|--data(?:-raw|-urlencode)?\s+@|-d\s*@|-F\s*\S*=@|"
                           r"--form\s+\S*=@|-T\s|--upload-file\b)|\bwget\b[^|;]*--post-(?:file|data)\b|"
                           r"\b(?:scp|rsync)\b[^|;]*\s[\w.-]+@?[\w.-]+:|\bnc\b[^|;]*<", re.I)
# Where credentials and personal files live: a script reading these and sending something out is exfiltration.
_PRIVATE_LOCATION = re.compile(r"\$HOME\b|\$\{HOME\}|(?<![\w.])~/|\.ssh\b|\.aws\b|\.env\b|id_rsa|id_ed25519|"
                               r"\bcredentials\b|\.netrc|\.kube/config|\.gnupg|\.docker/config|expanduser\(", re.I)
_SCRIPT_SENDS = ("network", "email-send", "messaging", "api-write")
_SCRIPT_DESTROYS = ("database-drop", "destructive", "payments")


def skill_uploads(system: ParsedSystem) -> Iterator[tuple[Skill, str, int, str, bool]]:
    """(skill, script, line, what is sent, whether the script reads private locations) for each send."""
    for skill in system.skills:
        for script, _mention in skill.scripts:
            text = system.files[script].text if script in system.files else ""
            private = _PRIVATE_LOCATION.search(text) is not None
            for path, kind, line, detail in skill.effects:
                if path != script:
                    continue
                if (kind == "command" and _SHELL_UPLOAD.search(detail)) or kind in _SCRIPT_SENDS:
                    yield skill, script, line, f"{kind} {detail}" if kind != "command" else detail, private


def skill_waives_confirmation(system: ParsedSystem, skill: Skill) -> bool:
    file = system.files.get(skill.path)
    return bool(file and any(not confirmation.routine_only(w) for w in confirmation.waivers(file.text)))


def skill_irreversible(system: ParsedSystem, skill: Skill) -> list[tuple[str, int, str, str]]:
    """(script, line, kind, detail) of the drops, destructive calls and payments a skill's scripts make."""
    found = [(path, line, kind, detail) for path, kind, line, detail in skill.effects if kind in _SCRIPT_DESTROYS]
    return sorted(found, key=lambda f: (f[2] != "database-drop", f[1], f[0]))


def pre_approved(system: ParsedSystem, script: str) -> bool:
    """An allow rule (settings or a skill's allowed-tools) runs the script, or every shell command, unprompted."""
    base = script.rsplit("/", 1)[-1]
    rules = [rule.rule.strip() for rule in system.claude_allow]
    return any(rule in ("Bash", "Bash(*)", "Bash(:*)") or (rule.startswith("Bash(") and base in rule) for rule in rules)
