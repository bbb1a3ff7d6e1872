"""JSON from outside, parsed with a depth limit: deeply nested documents are refused with a clear error instead of
exhausting the interpreter's recursion (a 500 in the API, a crash in the schema validator).

One rule for the API's request bodies, the portal's manifest field and the manifest validator.
"""

from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper than any real manifest or request (the manifest schema nests four levels); far below Python's recursion limit.
MAX_JSON_DEPTH = 64


class TooDeep(ValueError):
    def __init__(self, limit: int = MAX_JSON_DEPTH) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")


def json_depth(value: object) -> int:
    """Nesting depth of a parsed document (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_depth(value: object, *, limit: int = MAX_JSON_DEPTH) -> object:
    if json_depth(value) > limit:
        raise TooDeep(limit)
    return value


def bounded_loads(raw: str | bytes, *, limit: int = MAX_JSON_DEPTH) -> object:
    """``json.loads`` that raises TooDeep (a ValueError) for documents nested deeper than ``limit``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep(limit) from None
    return check_depth(value, limit=limit)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the depth limit: a too-deep body is a 400 in the contract's error shape."""

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels") from None
        try:
            return check_depth(data)
        except TooDeep as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
