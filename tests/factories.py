"""One small function per object a test needs. No shared fixtures dumps."""

from __future__ import annotations

import io

from allauth.account.models import EmailAddress

from intake.models import Role, Submission, User
from intake.services import (artifact_add, submission_compute_digest, submission_create, submission_inventory_store,
                             submission_update, terms_accept, terms_publish)

PASSWORD = "correct horse battery staple 42"

VALID_MANIFEST = {
    "schema_version": 1,
    "name": "Ticket triage agent",
    "models": [{"provider": "ExampleAI", "name": "example-large", "version": "2026-05", "source": "hosted-api"}],
    "harness": {"name": "claude-code", "version": "2.1", "approval_mode": "on-risk"},
    "tools": [{"name": "shell", "capabilities": ["shell"], "approval": "always"}],
    "mcp_servers": [{"name": "tickets", "transport": "stdio", "command": "python -m tickets_mcp", "pinned": True}],
    "data_sources": [{"name": "support tickets", "kind": "tickets", "trust": "untrusted", "writable_by_outsiders": True}],
    "egress": {"policy": "allowlist", "allow": ["api.example.invalid"]},
}


# What triage detects for make_draft's manifest and settings.json (tests/unit/test_scope_inventory.py proves it), so
# drafts get their scope step's inventory without a sandbox run per test.
# (settings.json at the root is read as Claude Code settings, so it is also a harness configuration and an agent.)
DRAFT_COMPONENTS = [
    {"id": "agent:claude-code", "kind": "agent", "label": "claude-code agent claude-code", "paths": ["settings.json"],
     "lines": {}},
    {"id": "agent:manifest", "kind": "agent", "label": "claude-code agent manifest", "paths": ["(manifest)"],
     "lines": {}},
    {"id": "file:settings.json", "kind": "file", "label": "settings.json", "paths": ["settings.json"], "lines": {}},
    {"id": "harness-config:settings.json", "kind": "harness-config", "label": "Claude Code settings (settings.json)",
     "paths": ["settings.json"], "lines": {}},
    {"id": "mcp-server:tickets", "kind": "mcp-server", "label": "MCP server tickets (manifest)",
     "paths": ["(manifest)"], "lines": {}},
    {"id": "tool:manifest/shell", "kind": "tool", "label": "Tool shell (manifest)", "paths": ["(manifest)"],
     "lines": {}},
]


def make_user(email: str, *, role: str = Role.BUILDER, verified: bool = True, password: str = PASSWORD,
              organisation: str = "") -> User:
    user = User.objects.create_user(email=email, password=password, role=role, organisation=organisation)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def make_terms(version: str = "2026.1"):  # noqa: ANN201
    from intake.models import TermsVersion

    existing = TermsVersion.objects.filter(version=version).first()
    if existing:
        return existing
    return terms_publish(version=version, title="Assay submission terms",
                         body=f"Terms {version}: retention, IP, conditional safe harbour. Reports certify nothing.",
                         retention={"rejected": 30, "guidance": 90, "reviewed_after_report_expiry": 30})


def make_draft(owner: User, *, title: str = "Ticket triage agent", complete: bool = True) -> Submission:
    submission = submission_create(owner=owner, title=title)
    if complete:
        submission = submission_update(
            submission=submission, actor=owner,
            claim_statement="The agent cannot send ticket contents to any host outside the allowlist.",
            claim_property="no-exfiltration", claim_scope_in=["agent:manifest", "mcp-server:tickets"],
            claim_scope_out=["tool:manifest/shell"], claim_scope_note="Not the model provider's infrastructure.",
            claim_assumptions=["egress proxy enforced"],
            manifest=VALID_MANIFEST, description="A support agent that triages inbound tickets.")
        terms_accept(submission=submission, actor=owner, terms=make_terms())
        artifact_add(submission=submission, actor=owner, name="settings.json",
                     stream=io.BytesIO(b'{"permissions": {"allow": ["Read"]}}'), kind="config")
        submission = submission_inventory_store(submission=submission, components=DRAFT_COMPONENTS,
                                                basis=submission_compute_digest(submission), actor=owner)
    return submission


def make_token(user: User, *, scopes: tuple[str, ...] = ("submissions:read", "submissions:write"),
               ttl_days: int = 30) -> str:
    """A personal API token for ``user``; returns the raw secret (as shown once in the portal)."""
    from intake.accounts.tokens import api_token_create

    _token, raw = api_token_create(user=user, name="test token", scopes=list(scopes), ttl_days=ttl_days)
    return raw


def enable_totp(user: User):  # noqa: ANN201
    """Turn TOTP on for ``user`` the way allauth's activation does; returns the secret."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def login_with_mfa(client, user: User):  # noqa: ANN001, ANN201
    """``client.force_login`` plus the session mark allauth writes once the TOTP step passed.

    Staff pages need a session that passed its second factor, not only an account with TOTP enrolled; tests
    that are not about the login flow start from such a session. Returns the client.
    """
    import time

    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY

    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "password", "at": time.time(), "email": user.email},
                                                   {"method": "mfa", "at": time.time(), "type": "totp"}]
    session["account_authentication_methods_user"] = str(user.pk)
    session["assay_staff_seen_at"] = time.time()  # as the first request after sign-in would have written
    session.save()
    return client


def scope_components(submission: Submission, owner: User, *, scope_in: list[str],
                     scope_out: list[str] | None = None) -> Submission:
    """Detect the draft's components the way the wizard's scope step does (the real sandboxed analysis), then
    set its scope to component ids or globs: for tests whose drafts gained artifacts after make_draft."""
    from triage.scope_inventory import submission_detect_components

    submission = submission_detect_components(submission=submission, actor=owner)
    return submission_update(submission=submission, actor=owner, claim_scope_in=scope_in,
                             claim_scope_out=scope_out or [])
