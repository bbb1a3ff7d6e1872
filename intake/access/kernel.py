"""The access kernel: the one answer to "what may this person see of this case, right now?".

Every read of a case goes through here: the case lists and pages (``cases_visible_to``), the API, the reviewer's
viewer, the builder's export, triage evidence and reports (``access_decide``), and the vault, which decrypts only
for an allowed decision or a named system purpose (``SystemRead``) and records which in its audit event.

Unknown means deny. Rules that live in a higher layer (a reviewer's grants and conflicts, a coordinator's
conflicts of interest: both in reviews) are registered here at start-up by that layer; until they are, reviewers
and coordinators see nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from intake.models import AccessTier, Role, Submission
from intake.states import State

# Tiers in rising order. OWNER is the builder's own case: everything they submitted, unredacted.
TIER_ORDER = (AccessTier.BLACK, AccessTier.GREY, AccessTier.WHITE, "owner")


def tier_at_least(tier: str | None, minimum: str) -> bool:
    return tier is not None and TIER_ORDER.index(tier) >= TIER_ORDER.index(minimum)


@dataclass(frozen=True)
class AccessDecision:
    """What one user may do with one case. ``allowed`` False means: behave as if the case did not exist."""

    user_id: int | None
    submission_id: object  # the case's UUID
    role: str
    tier: str | None  # None (no access), black, grey, white, or owner
    redacted: bool  # content is shown with secrets and personal data masked
    download: bool  # the artifacts may leave the platform whole
    builder_visible: bool  # the builder's identity (e-mail, organisation) may be shown
    basis: str  # why: "owner", "coordinator", "grant <pk>", or the reason for no access
    grant_id: int | None = None

    @property
    def allowed(self) -> bool:
        return self.tier is not None

    @property
    def reads_content(self) -> bool:
        """May decrypt artifacts at all (grey box and above; black box sees descriptions and triage results)."""
        return tier_at_least(self.tier, AccessTier.GREY)

    def audit_data(self) -> dict:
        data = {"role": self.role, "tier": self.tier, "redacted": self.redacted, "basis": self.basis}
        if self.grant_id is not None:
            data["grant"] = self.grant_id
        return data


@dataclass(frozen=True)
class SystemRead:
    """A vault read no person's access decision covers: a named system purpose (triage, shredding checks, a
    coordinator reading dispute evidence, maintenance), with the person acting when there is one."""

    purpose: str  # an intake.vault.services.ReadPurpose value
    actor: object = None


@dataclass(frozen=True)
class ReviewerAccess:
    tier: str
    grant_id: int


# reviewer(user, case) -> ReviewerAccess | None: an active grant, no conflict now (registered by reviews).
ReviewerRule = Callable[..., "ReviewerAccess | None"]
# reviewer_cases(user, cases) -> cases the reviewer holds an active grant for (conflicts are checked per case).
ReviewerCases = Callable[..., QuerySet[Submission]]
# coordinator(user, cases) -> cases: drop what this coordinator must not see (conflicts of interest).
CoordinatorFilter = Callable[..., QuerySet[Submission]]

_reviewer_rule: list[ReviewerRule] = []
_reviewer_cases: list[ReviewerCases] = []
_coordinator_filters: list[CoordinatorFilter] = []


def register_reviewer_access(*, decide: ReviewerRule, cases: ReviewerCases) -> None:
    """The reviews layer's grant rule. Registering again replaces it (ready() may run more than once)."""
    _reviewer_rule[:] = [decide]
    _reviewer_cases[:] = [cases]


def register_coordinator_case_filter(narrow: CoordinatorFilter) -> None:
    """``narrow(user, cases) -> cases``. Idempotent per function."""
    if narrow not in _coordinator_filters:
        _coordinator_filters.append(narrow)


def _active(user) -> bool:  # noqa: ANN001
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def cases_visible_to(user, *, among: QuerySet[Submission] | None = None) -> QuerySet[Submission]:  # noqa: ANN001
    """The cases ``user`` may see (of ``among``, when given). Reviewers: the cases of their active grants."""
    cases = Submission.objects.all() if among is None else among
    if not _active(user):
        return cases.none()
    if user.role == Role.BUILDER:
        return cases.filter(owner=user)
    if user.role == Role.COORDINATOR:
        if not _coordinator_filters:
            return cases.none()
        for narrow in _coordinator_filters:
            cases = narrow(user, cases)
        return cases
    if user.role == Role.REVIEWER and _reviewer_cases:
        # Conflicts are decided per case (rules over profiles, not a query); a reviewer holds few grants.
        granted = _reviewer_cases[0](user, cases).exclude(state=State.SHREDDED)
        return cases.filter(pk__in=[case.pk for case in granted if _reviewer_rule[0](user, case) is not None])
    return cases.none()  # institutions never see cases


def _denied(user, submission: Submission, role: str, why: str) -> AccessDecision:  # noqa: ANN001
    return AccessDecision(user_id=getattr(user, "pk", None), submission_id=submission.pk, role=role, tier=None,
                          redacted=True, download=False, builder_visible=False, basis=why)


def access_decide(user, submission: Submission) -> AccessDecision:  # noqa: ANN001
    """The one access decision for ``user`` and ``submission`` now."""
    if not _active(user):
        return _denied(user, submission, "anonymous", "not signed in")
    role = user.role
    if role == Role.BUILDER:
        if submission.owner_id != user.pk:
            return _denied(user, submission, role, "not the builder of this case")
        return AccessDecision(user_id=user.pk, submission_id=submission.pk, role=role, tier="owner",
                              redacted=False, download=True, builder_visible=True, basis="owner")
    if role == Role.COORDINATOR:
        if not cases_visible_to(user, among=Submission.objects.filter(pk=submission.pk)).exists():
            return _denied(user, submission, role, "conflict of interest or no coordinator rule")
        # Coordinators run the case (conflicts, grants, decisions): its description and triage, not its content.
        return AccessDecision(user_id=user.pk, submission_id=submission.pk, role=role, tier=AccessTier.BLACK,
                              redacted=True, download=False, builder_visible=True, basis="coordinator")
    if role == Role.REVIEWER:
        if submission.state == State.SHREDDED or not _reviewer_rule:
            return _denied(user, submission, role, "no reviewable content")
        access = _reviewer_rule[0](user, submission)
        if access is None:
            return _denied(user, submission, role, "no active grant, or a conflict")
        white = access.tier == AccessTier.WHITE
        return AccessDecision(user_id=user.pk, submission_id=submission.pk, role=role, tier=access.tier,
                              redacted=not white, download=white, builder_visible=False,
                              basis=f"grant {access.grant_id}", grant_id=access.grant_id)
    return _denied(user, submission, role, "this role never sees cases")
