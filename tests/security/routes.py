"""Every URL pattern of the running site, with its arguments filled in, so a sweep covers routes added later."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_CONVERTER = re.compile(r"(?<!\?P)<(?:(?P<kind>\w+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?:\[[^\]]*\]|[^)\[])*\)")


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str  # the joined pattern text, for messages
    view: object

    def url(self, values: dict[str, str]) -> str:
        """The path with each argument taken from ``values`` (by argument name), a filler otherwise."""
        path = _REGEX_GROUP.sub(lambda m: values.get(m["name"], _filler("uuid")), self.pattern)
        path = _CONVERTER.sub(lambda m: _value(values, m["name"], m["kind"] or "str"), path)
        return "/" + path.replace("^", "").replace("$", "").replace("\\", "")

    @property
    def arguments(self) -> list[str]:
        return [m["name"] for m in _REGEX_GROUP.finditer(self.pattern)] + \
               [m["name"] for m in _CONVERTER.finditer(_REGEX_GROUP.sub("", self.pattern))]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")


def _value(values: dict[str, str], name: str, kind: str) -> str:
    value = values.get(name)
    if value is None or (kind == "int") != value.isdigit():  # a case id never fills an <int:pk>
        return _filler(kind)
    return value


def _filler(kind: str) -> str:
    return {"uuid": str(uuid.uuid4()), "int": "987654"}.get(kind, "x" + uuid.uuid4().hex[:8])


def all_routes() -> list[Route]:
    def walk(resolver: URLResolver, prefix: str):  # noqa: ANN202
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield Route(name=entry.name or "", pattern=prefix + str(entry.pattern), view=entry.callback)

    return list(walk(get_resolver(), ""))
