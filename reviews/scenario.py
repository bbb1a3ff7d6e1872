"""Parsing coordinators' assignment scenarios (``plan_assignment``'s JSON input) into profiles."""

from __future__ import annotations

from datetime import date, datetime, timezone

from jsonschema import Draft202012Validator

from reviews.conflicts import CaseProfile, ReviewerProfile, VendorTie

_str_list = {"type": "array", "items": {"type": "string", "maxLength": 500}, "maxItems": 1000}
_tie = {"oneOf": [
    {"type": "string", "minLength": 1, "maxLength": 200},
    {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200}, "kind": {"type": "string", "maxLength": 50},
        "start": {"type": ["string", "null"], "format": "date"}, "end": {"type": ["string", "null"], "format": "date"}}},
]}
SCENARIO_SCHEMA = {
    "type": "object",
    "required": ["reviewers", "cases"],
    "additionalProperties": False,
    "properties": {
        "now": {"type": "string", "format": "date-time"},
        "reviewers": {"type": "array", "maxItems": 10000, "items": {
            "type": "object", "required": ["id"], "additionalProperties": False, "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": 100},
                "organisation": {"type": "string", "maxLength": 200},
                "email": {"type": "string", "maxLength": 254},
                "verified_domains": _str_list,
                "vendor_ties": {"type": "array", "items": _tie, "maxItems": 200},
                "expertise": _str_list,
                "declared_conflicts": _str_list,
                "capacity": {"type": "integer", "minimum": 0, "maximum": 1000},
                "prior_builders": {"type": "array", "maxItems": 1000, "items": {
                    "type": "object", "required": ["builder", "date"], "additionalProperties": False,
                    "properties": {"builder": {"type": "string"}, "date": {"type": "string", "format": "date"}}}},
            }}},
        "cases": {"type": "array", "maxItems": 10000, "items": {
            "type": "object", "required": ["id"], "additionalProperties": False, "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": 100},
                "builder": {"type": "object", "additionalProperties": False, "properties": {
                    "organisation": {"type": "string", "maxLength": 200},
                    "email": {"type": "string", "maxLength": 254}}},
                "components": {"type": "object", "additionalProperties": False, "properties": {
                    "models": _str_list, "tools": _str_list, "mcp_servers": _str_list}},
                "expertise_needed": _str_list,
                "competitors": _str_list,
                "declared_conflicts": _str_list,
                "coordinator": {"type": "string"},
                "reviewers_needed": {"type": "integer", "minimum": 0, "maximum": 50},
            }}},
    },
}
_validator = Draft202012Validator(SCENARIO_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


class ScenarioError(ValueError):
    pass


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def parse_scenario(data) -> tuple[list[ReviewerProfile], list[CaseProfile], datetime]:  # noqa: ANN001
    errors = sorted(_validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise ScenarioError(f"{where}: {first.message}")
    reviewers = []
    for r in data["reviewers"]:
        ties = tuple(VendorTie(name=t) if isinstance(t, str) else
                     VendorTie(name=t["name"], kind=t.get("kind", "employer"), start=_date(t.get("start")),
                               end=_date(t.get("end"))) for t in r.get("vendor_ties", []))
        reviewers.append(ReviewerProfile(
            id=r["id"], organisation=r.get("organisation", ""), email=r.get("email", ""),
            verified_domains=tuple(r.get("verified_domains", [])), vendor_ties=ties,
            expertise=frozenset(r.get("expertise", [])), declared_conflicts=tuple(r.get("declared_conflicts", [])),
            capacity=r.get("capacity", 1),
            prior_builders=tuple((p["builder"], date.fromisoformat(p["date"])) for p in r.get("prior_builders", []))))
    cases = []
    for c in data["cases"]:
        builder = c.get("builder", {})
        components = c.get("components", {})
        cases.append(CaseProfile(
            id=c["id"], builder_organisation=builder.get("organisation", ""), builder_email=builder.get("email", ""),
            models=tuple(components.get("models", [])),
            tools=tuple(components.get("tools", [])) + tuple(components.get("mcp_servers", [])),
            expertise_needed=frozenset(c.get("expertise_needed", [])), competitors=tuple(c.get("competitors", [])),
            reviewers_needed=c.get("reviewers_needed", 1),
            builder_declared_conflicts=tuple(c.get("declared_conflicts", [])), coordinator_id=c.get("coordinator")))
    ids = [r.id for r in reviewers]
    if len(set(ids)) != len(ids):
        raise ScenarioError("reviewers: ids must be unique")
    case_ids = [c.id for c in cases]
    if len(set(case_ids)) != len(case_ids):
        raise ScenarioError("cases: ids must be unique")
    now = datetime.fromisoformat(data["now"].replace("Z", "+00:00")) if "now" in data else datetime.now(timezone.utc)
    return reviewers, cases, now
