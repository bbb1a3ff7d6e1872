"""Credentials written as JavaScript/TypeScript constants and handed to a credential slot.

``const SMTP_PASS = "mK8#..."; createTransport({ auth: { pass: SMTP_PASS } })``: neither line looks like a secret to a
line scanner (the constant's name is no secret keyword, the slot holds a name), but the syntax tree shows a literal
reaching ``pass``. Read with tree-sitter from files that have a credential-named key at all; never executed.
"""

from __future__ import annotations

import re

from triage.parsers.js_ast import Node, line, property_key, string_value, text, unwrap
from triage.parsers.js_effects import sensitive_key

MAX_CHARS = 512 * 1024
# Keys that take a credential in options objects (auth: { user, pass }, { apiKey }, headers: { Authorization }).
SLOT_HINT = re.compile(r"\b(pass|passwd|password|pwd|secret|token|api_?key|apikey|auth_?token|access_?token|"
                       r"client_?secret|private_?key|authorization|x-api-key)\b[\"'`]?\s*:", re.I)
SHORT_SLOTS = frozenset({"pass", "pwd", "authorization", "x-api-key"})
_queries: dict[str, object] = {}


def _slot_kind(key: str) -> bool:
    return key.lower() in SHORT_SLOTS or sensitive_key(key) in ("credential", "token", "private-key")


def _consts(root: Node) -> dict[str, Node]:
    """Top-level ``const NAME = "literal"`` bindings (exported or not)."""
    found: dict[str, Node] = {}
    for statement in root.named_children:
        node = statement
        if node.type == "export_statement":
            node = node.child_by_field_name("declaration") or node
        if node.type not in ("lexical_declaration", "variable_declaration"):
            continue
        for declarator in node.named_children:
            if declarator.type != "variable_declarator":
                continue
            name, value = declarator.child_by_field_name("name"), unwrap(declarator.child_by_field_name("value"))
            if name is not None and name.type == "identifier" and value is not None and value.type == "string":
                found.setdefault(text(name), value)
    return found


def _literal(value: Node | None, consts: dict[str, Node]) -> Node | None:
    value = unwrap(value)
    if value is not None and value.type == "identifier":
        value = consts.get(text(value))
    if value is not None and value.type == "string":
        return value
    if value is not None and value.type == "template_string" and not any(
            c.type == "template_substitution" for c in value.children):
        return value
    return None


def credential_literals(source: str, path: str) -> list[tuple[int, str, str]]:
    """(line of the literal, slot key, value) for each string literal reaching a credential slot."""
    if len(source) > MAX_CHARS or not SLOT_HINT.search(source):
        return []
    from triage.parsers.js_code import _parser, language_of  # one grammar loader for the JS/TS readers

    parser, _scan = _parser(path)
    try:
        tree = parser.parse(source.encode("utf-8", "replace"))
    except (ValueError, MemoryError, RecursionError):
        return []
    root = tree.root_node
    grammar = "tsx" if path.endswith(".tsx") else language_of(path)
    query = _queries.get(grammar)
    if query is None:
        import tree_sitter

        query = tree_sitter.QueryCursor(tree_sitter.Query(parser.language, "(pair) @pair"))
        _queries[grammar] = query
    consts = _consts(root)
    found = []
    for pair in sorted(query.captures(root).get("pair", []), key=lambda n: n.start_byte)[:2000]:
        key = property_key(pair.child_by_field_name("key"))
        if not key or not _slot_kind(key):
            continue
        literal = _literal(pair.child_by_field_name("value"), consts)
        if literal is not None:
            value = string_value(literal)
            if value.lower().startswith(("bearer ", "basic ", "token ")):
                value = value.split(" ", 1)[1]
            found.append((line(literal), key, value))
    return found
