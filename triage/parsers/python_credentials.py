"""Literals Python code uses in place of a credential it otherwise reads from the environment, read with ``ast``:
``os.getenv("API_TOKEN", "<literal>")``, ``API_KEY or "<literal>"``. The parser records them; the secrets checks
decide which look like real credentials."""

from __future__ import annotations

import ast
import re

from triage.parsers.python_sinks import constant_str, dotted

# A long token literal as an environment read's default or after ``or``: worth parsing a module for.
CREDENTIAL_FALLBACK = re.compile(r"""((getenv|environ\.get|environ\.setdefault)\([^)]*,|\bor)\s*["'][\w\-.:+/=]{16,}["']""")

ENV_READS = frozenset({"os.environ.get", "os.getenv", "environ.get", "getenv", "os.environ.setdefault"})
_CREDENTIAL_NAME = re.compile(r"(key|token|secret|passw(or)?d|pwd|auth|credential)", re.I)


def _names_credential(node: ast.AST) -> bool:
    """A variable named for a credential (``DEEPL_KEY``, ``self.api_token``) or an environment read of one."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        return bool(_CREDENTIAL_NAME.search(dotted(node).rsplit(".", 1)[-1]))
    if isinstance(node, ast.Call) and dotted(node.func) in ENV_READS and node.args:
        return bool(_CREDENTIAL_NAME.search(_text(node.args[0])))
    if isinstance(node, ast.Subscript) and dotted(node.value) in ("os.environ", "environ"):
        return bool(_CREDENTIAL_NAME.search(_text(node.slice)))
    return False


def credential_literal(node: ast.AST) -> tuple[int, str] | None:
    """(line, value) of a literal standing in for a credential: ``os.getenv("API_TOKEN", "<literal>")``,
    ``DEEPL_KEY or "<literal>"``, ``os.getenv("TOKEN") or "<literal>"``."""
    if isinstance(node, ast.Call):
        if dotted(node.func) in ENV_READS and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and \
                isinstance(node.args[1].value, str) and _CREDENTIAL_NAME.search(_text(node.args[0])):
            return node.args[1].lineno, node.args[1].value
    elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) > 1:
        literal = node.values[-1]
        if isinstance(literal, ast.Constant) and isinstance(literal.value, str) and any(
                _names_credential(v) for v in node.values[:-1]):
            return literal.lineno, literal.value
    return None


def _text(node: ast.AST) -> str:
    return constant_str(node) or ""
