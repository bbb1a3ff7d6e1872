"""Configuration versions of one case (issue 15): after a guidance or reject outcome the builder submits a new
version, linked to the one before, pre-filled from it, with its own artifacts, digest and triage.

A case's versions form a single chain through ``Submission.previous_version`` (one successor per version). What
makes two submissions *the same* for the duplicate check is :func:`claim_key` together with the configuration:
the same claim about the same configuration is a duplicate; a changed claim or a changed digest is not.
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from intake.audit import audit_append
from intake.errors import NotEditable
from intake.models import Submission
from intake.selectors import next_version_of
from intake.services import submission_create
from intake.states import State

# A new version follows an outcome of triage (or of review): a case still in progress is edited or withdrawn.
VERSIONABLE_STATES = frozenset({State.CLOSED, State.REJECTED})
# What a new version takes over from the one it follows: the claim, its scope, and the builder's terms choices.
# Artifacts and terms acceptance are never copied: the new configuration is uploaded and the terms accepted anew.
CARRIED_FIELDS = ("description", "claim_statement", "claim_property", "claim_scope_in", "claim_scope_out",
                  "claim_assumptions", "claim_access_tier", "manifest", "named_competitors", "aggregate_opt_in",
                  "retention_days")


def _normalised(items) -> tuple[str, ...]:  # noqa: ANN001
    return tuple(sorted(" ".join(str(item).split()).casefold() for item in (items or [])))


def claim_key(submission: Submission) -> tuple:
    """The claim as the duplicate check compares it: statement, property, scope in and out, assumptions (case,
    whitespace and list order do not count). A shredded case has no readable claim and matches nothing."""
    if submission.state == State.SHREDDED:
        return ("shredded", str(submission.pk))
    return (" ".join((submission.claim_statement or "").split()).casefold(), submission.claim_property or "",
            _normalised(submission.claim_scope_in), _normalised(submission.claim_scope_out),
            _normalised(submission.claim_assumptions))


def same_claim(first: Submission, second: Submission) -> bool:
    return claim_key(first) == claim_key(second)


def submission_new_version(*, previous: Submission, actor) -> Submission:  # noqa: ANN001
    """Open a draft that is the next configuration version of ``previous``: pre-filled with its claim, scope and
    terms choices, counted in the builder's open-case quota like any new case (``submission_create``).

    Only the case's builder, only after an outcome, and only once per version (continue from the newest one).
    """
    if previous.owner_id != getattr(actor, "pk", None):
        raise PermissionDenied("Only the case's builder can submit a new version of it.")
    with transaction.atomic():
        locked = Submission.objects.select_for_update().get(pk=previous.pk)
        if locked.state not in VERSIONABLE_STATES:
            raise NotEditable(f"case {locked.reference} is {locked.get_state_display().lower()}; a new version "
                              "can follow only a guidance or reject outcome")
        existing = next_version_of(locked)
        if existing is not None:
            raise NotEditable(f"version {existing.version} of this case already exists ({existing.reference}); "
                              "continue from that one", details={"next_version": str(existing.pk),
                                                                 "reference": existing.reference})
        title = locked.title
        suffix = f" (v{locked.version + 1})"
        base = re.sub(r" \(v\d+\)$", "", title)  # "Agent (v2)" becomes "Agent (v3)", not "Agent (v2) (v3)"
        carried = {name: getattr(locked, name) for name in CARRIED_FIELDS}
        carried = {name: value for name, value in carried.items() if value not in ("", None)}
        draft = submission_create(owner=actor, title=(base[:200 - len(suffix)] + suffix), **carried)
        try:
            with transaction.atomic():
                Submission.objects.filter(pk=draft.pk).update(previous_version=locked, version=locked.version + 1)
        except IntegrityError as exc:  # a concurrent request made the successor first
            raise NotEditable("a new version of this case was just created; continue from that one") from exc
        audit_append(actor=actor, action="submission.new_version", obj=locked,
                     data={"next_version": str(draft.pk), "version": locked.version + 1})
        audit_append(actor=actor, action="submission.version_of", obj=draft,
                     data={"previous_version": str(locked.pk), "version": locked.version + 1})
    draft.refresh_from_db()
    return draft
