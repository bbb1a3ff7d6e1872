"""Conflict-of-interest rules, in one place.

Every rule is a named function ``(reviewer, case, *, now) -> reason | None``.
The portal, the grant checks and ``manage.py plan_assignment`` all call
:func:`conflicts_for`, so a conflicted reviewer is excluded everywhere by the
same logic. Inputs are plain dataclasses so the rules can be tested (and
dry-run by coordinators) without a database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# Personal mail providers: sharing one is not sharing an organisation.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de",
    "gmx.net", "web.de", "mail.com", "yandex.com", "yandex.ru", "zoho.com", "fastmail.com", "hey.com", "qq.com",
    "163.com", "126.com", "tutanota.com", "tuta.io", "posteo.de", "mailbox.org", "duck.com",
})
# Public suffixes with two labels, enough to find the registrable domain of common organisation domains.
_TWO_LABEL_SUFFIXES = frozenset({
    "co.uk", "ac.uk", "gov.uk", "org.uk", "com.au", "net.au", "org.au", "edu.au", "co.nz", "co.jp", "ac.jp",
    "co.in", "com.br", "com.cn", "com.sg", "co.za", "com.mx", "co.kr", "com.tw", "com.hk",
})
# Model families whose vendor is not in the model's name.
MODEL_FAMILY_VENDOR = {
    "gpt": "openai", "o1": "openai", "o3": "openai", "o4": "openai", "codex": "openai", "chatgpt": "openai",
    "claude": "anthropic", "gemini": "google", "gemma": "google", "palm": "google", "llama": "meta",
    "mistral": "mistral", "mixtral": "mistral", "codestral": "mistral", "grok": "xai", "qwen": "alibaba",
    "deepseek": "deepseek", "phi": "microsoft", "command": "cohere", "nova": "amazon", "titan": "amazon",
}
_ORG_SUFFIXES = re.compile(r"\b(inc|ltd|llc|gmbh|plc|sa|sas|bv|ag|corp|corporation|limited|co|company)\b\.?")


def normalise_org(name: str) -> str:
    name = _ORG_SUFFIXES.sub(" ", name.casefold())
    return re.sub(r"[^a-z0-9]+", " ", name).strip()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().casefold().rstrip(".") if "@" in email else ""


def registrable_domain(domain: str) -> str:
    labels = domain.casefold().strip(".").split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _TWO_LABEL_SUFFIXES:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def same_organisation_domain(a: str, b: str) -> bool:
    """True when two domains belong to one organisation (subdomains included, free mail never)."""
    a, b = a.casefold().strip("."), b.casefold().strip(".")
    if not a or not b:
        return False
    if registrable_domain(a) in FREE_MAIL_DOMAINS or registrable_domain(b) in FREE_MAIL_DOMAINS:
        return False
    return registrable_domain(a) == registrable_domain(b)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.casefold())


# Words too generic to identify a vendor on their own ("Acme AI Labs" is identified by "acme").
_GENERIC_WORDS = frozenset({"ai", "labs", "lab", "the", "tools", "tool", "technologies", "technology", "systems",
                            "research", "cloud", "software", "group", "holdings", "ventures", "capital", "and",
                            "of", "io", "hq", "data", "intelligence", "model", "models", "mcp", "server"})


def component_vendors(component: str) -> set[str]:
    """Vendor words a component string points at: its own name tokens plus known model families' vendors."""
    tokens = _tokens(component)
    vendors = set(tokens)
    for token in tokens:
        for family, vendor in MODEL_FAMILY_VENDOR.items():
            if token == family or (token.startswith(family) and token[len(family):].isdigit()):
                vendors.add(vendor)
    return vendors


def vendor_matches(tie_name: str, component: str) -> bool:
    """Conservative on purpose: any distinctive word of the tie naming the component's vendor is a match."""
    distinctive = {t for t in _tokens(normalise_org(tie_name)) if len(t) >= 3 and t not in _GENERIC_WORDS}
    return bool(distinctive & component_vendors(component))


@dataclass(frozen=True)
class VendorTie:
    name: str
    kind: str = "employer"  # provider, tool vendor, investor, employer, customer
    start: date | None = None
    end: date | None = None  # None: ongoing

    def active_within(self, window_start: date) -> bool:
        return self.end is None or self.end >= window_start


@dataclass(frozen=True)
class ReviewerProfile:
    id: str
    organisation: str = ""
    email: str = ""
    verified_domains: tuple[str, ...] = ()
    vendor_ties: tuple[VendorTie, ...] = ()
    expertise: frozenset[str] = frozenset()
    declared_conflicts: tuple[str, ...] = ()  # organisations, domains, emails or case ids
    capacity: int = 1
    prior_builders: tuple[tuple[str, date], ...] = ()  # (builder email or organisation, when reviewed)

    @property
    def domains(self) -> set[str]:
        return {d for d in (email_domain(self.email), *self.verified_domains) if d}


@dataclass(frozen=True)
class CaseProfile:
    id: str
    builder_organisation: str = ""
    builder_email: str = ""
    models: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    expertise_needed: frozenset[str] = frozenset()
    competitors: tuple[str, ...] = ()
    reviewers_needed: int = 1
    builder_declared_conflicts: tuple[str, ...] = ()  # reviewer ids, organisations or domains
    coordinator_id: str | None = None


@dataclass(frozen=True)
class ConflictPolicy:
    vendor_window_days: int = 365
    prior_work_window_days: int = 365


Rule = Callable[..., str | None]


def _matches_party(token: str, *, organisation: str, email: str, domains: set[str], ids: tuple[str, ...] = ()) -> bool:
    token = token.strip()
    if not token:
        return False
    folded = token.casefold()
    if folded in {i.casefold() for i in ids}:
        return True
    if "@" in folded:
        return folded == email.casefold()
    if "." in folded and any(same_organisation_domain(folded, d) for d in domains):
        return True
    return bool(organisation) and normalise_org(token) == normalise_org(organisation)


def rule_same_organisation(reviewer: ReviewerProfile, case: CaseProfile, **_: object) -> str | None:
    if reviewer.organisation and case.builder_organisation and \
            normalise_org(reviewer.organisation) == normalise_org(case.builder_organisation):
        return f"same organisation as the builder ({case.builder_organisation})"
    return None


def rule_same_email_domain(reviewer: ReviewerProfile, case: CaseProfile, **_: object) -> str | None:
    builder_domain = email_domain(case.builder_email)
    for domain in sorted(reviewer.domains):
        if same_organisation_domain(domain, builder_domain):
            return f"shares the organisation domain {registrable_domain(builder_domain)} with the builder"
    return None


def rule_vendor_interest(reviewer: ReviewerProfile, case: CaseProfile, *, now: datetime,
                         policy: ConflictPolicy, **_: object) -> str | None:
    window_start = (now - timedelta(days=policy.vendor_window_days)).date()
    for tie in reviewer.vendor_ties:
        if not tie.active_within(window_start):
            continue
        for component in (*case.models, *case.tools):
            if vendor_matches(tie.name, component):
                return f"{tie.kind} tie to {tie.name}, vendor of {component} used by the system"
    return None


def rule_named_competitor(reviewer: ReviewerProfile, case: CaseProfile, **_: object) -> str | None:
    for competitor in case.competitors:
        if _matches_party(competitor, organisation=reviewer.organisation, email=reviewer.email,
                          domains=reviewer.domains):
            return f"works for {competitor}, named by the builder as a competitor"
    return None


def rule_declared_by_reviewer(reviewer: ReviewerProfile, case: CaseProfile, **_: object) -> str | None:
    builder_domains = {email_domain(case.builder_email)} - {""}
    for declared in reviewer.declared_conflicts:
        if declared.strip().casefold() == case.id.casefold() or _matches_party(
                declared, organisation=case.builder_organisation, email=case.builder_email, domains=builder_domains):
            return f"reviewer declared a conflict with {declared}"
    return None


def rule_declared_by_builder(reviewer: ReviewerProfile, case: CaseProfile, **_: object) -> str | None:
    for declared in case.builder_declared_conflicts:
        if _matches_party(declared, organisation=reviewer.organisation, email=reviewer.email,
                          domains=reviewer.domains, ids=(reviewer.id,)):
            return f"builder declared a conflict with {declared}"
    return None


def rule_prior_work(reviewer: ReviewerProfile, case: CaseProfile, *, now: datetime, policy: ConflictPolicy,
                    **_: object) -> str | None:
    window_start = (now - timedelta(days=policy.prior_work_window_days)).date()
    builder_domains = {email_domain(case.builder_email)} - {""}
    for party, when in reviewer.prior_builders:
        if when >= window_start and _matches_party(party, organisation=case.builder_organisation,
                                                    email=case.builder_email, domains=builder_domains):
            return f"worked with or reviewed this builder on {when.isoformat()}"
    return None


def rule_coordinator_of_record(reviewer: ReviewerProfile, case: CaseProfile, **_: object) -> str | None:
    if case.coordinator_id and reviewer.id == case.coordinator_id:
        return "coordinator of record for this case"
    return None


RULES: dict[str, Rule] = {
    "same_organisation": rule_same_organisation,
    "same_email_domain": rule_same_email_domain,
    "vendor_interest": rule_vendor_interest,
    "named_competitor": rule_named_competitor,
    "declared_by_reviewer": rule_declared_by_reviewer,
    "declared_by_builder": rule_declared_by_builder,
    "prior_work": rule_prior_work,
    "coordinator_of_record": rule_coordinator_of_record,
}


@dataclass(frozen=True)
class Conflict:
    case: str
    reviewer: str
    rule: str
    reason: str = field(compare=False)


def conflicts_for(reviewer: ReviewerProfile, case: CaseProfile, *, now: datetime,
                  policy: ConflictPolicy | None = None, dismissed: frozenset[str] = frozenset()) -> list[Conflict]:
    """Every rule that fires for this pair, except rules a two-coordinator override dismissed."""
    policy = policy or ConflictPolicy()
    found = []
    for name, rule in RULES.items():
        if name in dismissed:
            continue
        reason = rule(reviewer, case, now=now, policy=policy)
        if reason:
            found.append(Conflict(case=case.id, reviewer=reviewer.id, rule=name, reason=reason))
    return found
