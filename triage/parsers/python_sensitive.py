"""Sensitive data a tool returns or a resource exposes, seen in its code: literals (SSNs, card numbers, credential
shapes), record fields named like secrets or identity numbers, and lists of person records, in the tool body or in
module constants the body references. Values handed to outbound calls as headers or auth are credentials *used*,
not data returned, and are skipped (the secrets checks see them)."""

from __future__ import annotations

import ast
import re

from intake.redaction import TOKEN_SHAPES, secret_kind
from triage.parsers.tool_model import Sensitive

SSN = re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])")
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
SENSITIVE_KEYS = {
    "ssn": "ssn", "socialsecurity": "ssn", "socialsecuritynumber": "ssn", "socialsecurityno": "ssn",
    "creditcard": "card-number", "creditcardnumber": "card-number", "cardnumber": "card-number", "ccnumber": "card-number",
    "cvv": "card-number", "cvc": "card-number", "pan": "card-number",
    "password": "credential", "passwd": "credential", "apikey": "credential", "secret": "credential",
    "secretkey": "credential", "clientsecret": "credential", "awssecretaccesskey": "credential",
    "token": "token", "accesstoken": "token", "refreshtoken": "token", "authtoken": "token", "bearertoken": "token",
    "privatekey": "private-key", "sshkey": "private-key",
}
PERSON_KEYS = frozenset({"name", "fullname", "firstname", "lastname", "email", "phone", "phonenumber", "address",
                         "dob", "dateofbirth", "birthdate", "salary", "ssn", "homeaddress", "mobile"})
USED_NOT_RETURNED = frozenset({"headers", "auth", "cookies", "env", "environ", "api_key", "token", "password",
                               "params", "credentials", "secret", "private_key", "key", "json", "data"})
MAX_FOUND = 12
MAX_NODES = 20000


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def sensitive_data(nodes: list[ast.AST], constants: dict[str, ast.AST],
                   walked: dict[str, list[ast.AST]] | None = None) -> list[Sensitive]:
    """``nodes``: every node of the tool's code, already walked; module constants it names are walked here (and
    kept in ``walked`` for the next tool of the module)."""
    walked = {} if walked is None else walked
    found: dict[tuple[str, int], Sensitive] = {}
    shapes = TOKEN_SHAPES
    skipped: set[int] = set()
    for node in nodes:
        if type(node) is ast.keyword and (node.arg or "").lower() in USED_NOT_RETURNED:
            skipped.update(id(n) for n in _walk(node.value))
    seen_constants: set[str] = set()
    pending = [n for n in nodes if id(n) not in skipped]
    budget = MAX_NODES
    while pending and budget > 0 and len(found) < MAX_FOUND:
        batch, pending = pending, []
        for node in batch[:budget]:
            kind = type(node)
            if kind is ast.Name and node.id in constants and node.id not in seen_constants:
                seen_constants.add(node.id)
                if node.id not in walked:
                    walked[node.id] = _walk(constants[node.id])
                pending.extend(walked[node.id])
            elif kind is ast.Constant and isinstance(node.value, str):
                _literal(node, shapes, found)
            elif kind is ast.Call:
                _credential_call(node, found)
            elif kind is ast.Dict:
                _record(node, found)
                _people(node, found)
            elif kind is ast.Subscript:
                _field_read(node, found)
            elif kind is ast.List or kind is ast.Tuple:
                _people(node, found)
        budget -= len(batch)
    return sorted(found.values(), key=lambda s: (s.line, s.kind, s.detail))[:MAX_FOUND]


def _walk(root: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack = [root]
    while stack and len(out) < MAX_NODES:
        node = stack.pop()
        out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _literal(node: ast.Constant, shapes: re.Pattern[str], found: dict[tuple[str, int], Sensitive]) -> None:
    text = node.value[:4000]
    if len(text) < 8:
        return  # too short for any shape below
    line = node.lineno
    match = SSN.search(text)
    if match:
        found.setdefault(("ssn", line), Sensitive("ssn", line, match.group(0)))
    for card in CARD.finditer(text):
        digits = re.sub(r"\D", "", card.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits) and len(set(digits)) > 1:
            found.setdefault(("card-number", line), Sensitive("card-number", line, card.group(0)))
            break
    shape = shapes.search(text)
    if shape:
        value = shape.group(0)
        kind = secret_kind(value, jwt_only=True)
        found.setdefault((kind, line), Sensitive(kind, line, value))
    if "select" in text.lower():
        select = re.search(r"\bSELECT\b(.*?)\bFROM\b", text, re.I | re.S)
        for column in re.findall(r"\w+", select.group(1))[:60] if select else []:
            key = _key(column)
            kind = SENSITIVE_KEYS.get(key) or ("ssn" if IDENTITY_FIELD.match(key) and key.startswith(("ssn", "social"))
                                               else "card-number" if IDENTITY_FIELD.match(key) else None)
            if kind:
                found.setdefault((kind, line), Sensitive(kind, line, f"SELECT {column}"))


SECRET_READS = frozenset({"get_secret_value", "access_secret_version", "get_secret", "read_secret",
                          "read_secret_version", "get_password"})


def _credential_call(node: ast.Call, found: dict[tuple[str, int], Sensitive]) -> None:
    """A secrets-manager read, or the whole environment (``dict(os.environ)``, ``os.environ.items()``)."""
    from triage.parsers.python_taint import dotted, is_whole_environ

    name = dotted(node.func)
    last = name.rsplit(".", 1)[-1]
    whole_environ = is_whole_environ(node) or (last in ("items", "copy", "keys", "values") and
                                               name.rsplit(".", 1)[0] in ("os.environ", "environ"))
    if last in SECRET_READS or whole_environ:
        found.setdefault(("credential", node.lineno), Sensitive("credential", node.lineno, f"{name}(...)"))


IDENTITY_FIELD = re.compile(r"^(ssn|socialsecurity\w*|cardnumber|creditcard\w*|ccnumber|cvv|cvc|pan)$")


def _field_read(node: ast.Subscript, found: dict[tuple[str, int], Sensitive]) -> None:
    """``profile["ssn"]``, ``record["card_number"]``: an identity number read out of a record the tool returns."""
    key = node.slice.value if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str) else ""
    if key and IDENTITY_FIELD.match(_key(key)):
        kind = SENSITIVE_KEYS.get(_key(key), "ssn" if _key(key).startswith("ssn") else "card-number")
        found.setdefault((kind, node.lineno), Sensitive(kind, node.lineno, f"field {key}"))


def _record(node: ast.Dict, found: dict[tuple[str, int], Sensitive]) -> None:
    for key, value in zip(node.keys, node.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        kind = SENSITIVE_KEYS.get(_key(key.value))
        if kind is None or (isinstance(value, ast.Constant) and value.value in (None, "", False, 0)):
            continue
        if kind in ("credential", "token", "private-key") and isinstance(value, ast.Constant) and isinstance(
                value.value, str) and len(value.value.split()) > 2:
            continue  # {"password": "You can reset your password from ..."}: prose about a password, not one
        found.setdefault((kind, key.lineno), Sensitive(kind, key.lineno, f"field {key.value}"))


def _people(node: ast.List | ast.Tuple | ast.Dict, found: dict[tuple[str, int], Sensitive]) -> None:
    records = node.values if isinstance(node, ast.Dict) else node.elts
    people = 0
    for record in records[:200]:
        if isinstance(record, ast.Dict):
            keys = {_key(k.value) for k in record.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
            if len(keys & PERSON_KEYS) >= 3:
                people += 1
    if people >= 2:
        found.setdefault(("personal-records", node.lineno), Sensitive(
            "personal-records", node.lineno, f"{people} person records"))
