"""Read paths of human review for the portal and the API.

Every list a reviewer sees is filtered through the conflict rules *now*, not
through stored flags: a declaration made a minute ago hides the case at once.
Coordinators' views of conflicts and plans are built from the same rule
profiles (``reviewer_profile_for`` / ``case_profile_for``) and the same solver
(``reviews.assignment.solve``) as ``manage.py plan_assignment``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from intake.models import Role, Submission, User
from intake.selectors import submissions_visible_to
from intake.states import State
from reviews import conflicts as rules
from reviews.assignment import Plan, solve
from reviews.models import (
    AccessGrant, Assignment, ConflictOverride, Consent, Message, Review, ReviewerProfile, Verdict,
)
from reviews.services import case_conflicts, case_profile_for, fleiss_kappa

# Two independent reviews per case, so inter-reviewer agreement means something.
REVIEWERS_NEEDED = 2
OPEN_REVIEW_STATES = (State.AWAITING_CONSENT, State.IN_REVIEW)


def reviewers_all() -> QuerySet[User]:
    return User.objects.filter(role=Role.REVIEWER, is_active=True).order_by("pseudonym")


def reviewer_profile_of(user: User) -> ReviewerProfile:
    profile, _ = ReviewerProfile.objects.get_or_create(user=user)
    return profile


# --- coordinator: conflicts and the plan --------------------------------------------------------

@dataclass(frozen=True)
class ReviewerStanding:
    reviewer: User
    conflicts: list[rules.Conflict]
    assignment: Assignment | None
    expertise: list[str]

    @property
    def assignable(self) -> bool:
        return not self.conflicts and self.assignment is None


def rule_profiles_for_case(submission: Submission, reviewers: list[User]) -> dict[int, rules.ReviewerProfile]:
    """``reviewer_profile_for(r, for_submission=submission)`` for many reviewers in a constant number of queries.

    Must build exactly what ``reviews.services.reviewer_profile_for`` builds (a test pins the equivalence);
    it exists so the coordinator's page does not cost a handful of queries per reviewer.
    """
    ids = [r.pk for r in reviewers]
    stored = {p.user_id: p for p in ReviewerProfile.objects.filter(user_id__in=ids)
              .prefetch_related("vendor_ties", "declarations")}
    prior: dict[int, list[tuple[str, object]]] = {}
    for reviewer_id, builder_email, reviewed in (Review.objects.filter(reviewer_id__in=ids)
                                                 .exclude(submission=submission).order_by("submitted_at")
                                                 .values_list("reviewer_id", "submission__owner__email",
                                                              "submitted_at")):
        prior.setdefault(reviewer_id, []).append((builder_email, reviewed.date()))
    out = {}
    for user in reviewers:
        profile = stored.get(user.pk)
        earlier = tuple(prior.get(user.pk, ()))
        if profile is None:
            out[user.pk] = rules.ReviewerProfile(id=str(user.pk), organisation=user.organisation, email=user.email,
                                                 capacity=0, prior_builders=earlier)
            continue
        out[user.pk] = rules.ReviewerProfile(
            id=str(user.pk), organisation=user.organisation, email=user.email,
            verified_domains=tuple(profile.verified_domains),
            vendor_ties=tuple(rules.VendorTie(name=t.name, kind=t.kind, start=t.start, end=t.end)
                              for t in profile.vendor_ties.all()),
            expertise=frozenset(profile.expertise),
            declared_conflicts=tuple(d.party for d in profile.declarations.all()),
            capacity=profile.capacity if profile.available else 0, prior_builders=earlier)
    return out


def _dismissed_by_reviewer(submission: Submission) -> dict[int, frozenset[str]]:
    dismissed: dict[int, set[str]] = {}
    for reviewer_id, rule in ConflictOverride.objects.filter(submission=submission, approved_by__isnull=False) \
            .values_list("reviewer_id", "rule"):
        dismissed.setdefault(reviewer_id, set()).add(rule)
    return {k: frozenset(v) for k, v in dismissed.items()}


def case_reviewer_standings(submission: Submission) -> list[ReviewerStanding]:
    """Every reviewer with the conflicts that fire for this case right now (overridden rules excluded)."""
    assignments = {a.reviewer_id: a for a in submission.assignments.all()}
    reviewers = list(reviewers_all())
    profiles = rule_profiles_for_case(submission, reviewers)
    case = case_profile_for(submission)
    dismissed = _dismissed_by_reviewer(submission)
    now = timezone.now()
    return [ReviewerStanding(
        reviewer=reviewer,
        conflicts=rules.conflicts_for(profiles[reviewer.pk], case, now=now,
                                      dismissed=dismissed.get(reviewer.pk, frozenset())),
        assignment=assignments.get(reviewer.pk), expertise=sorted(profiles[reviewer.pk].expertise))
        for reviewer in reviewers]


def case_expertise_needed(submission: Submission) -> frozenset[str]:
    """What the case asks of a reviewer: the claim's property kind and triage's finding categories."""
    needed = {submission.claim_property} if submission.claim_property else set()
    from triage.models import TriageResult

    latest = TriageResult.objects.filter(submission=submission).order_by("-created_at").first()
    if latest is not None:
        for finding in latest.findings or []:
            needed.update(str(c) for c in finding.get("categories", []) if c)
    return frozenset(needed)


def _open_load() -> dict[int, int]:
    load: dict[int, int] = {}
    for reviewer_id in Assignment.objects.filter(
            status__in=(Assignment.Status.PROPOSED, Assignment.Status.ACCEPTED),
            submission__state__in=OPEN_REVIEW_STATES).values_list("reviewer_id", flat=True):
        load[reviewer_id] = load.get(reviewer_id, 0) + 1
    return load


def case_plan(submission: Submission, *, reviewers_needed: int = REVIEWERS_NEEDED) -> Plan:
    """The solver's proposal for this case's open seats, from the reviewers not yet asked.

    Reviewers who already hold an assignment on the case (any status, so a
    decline is final) are left out; capacity is what remains after open work.
    """
    taken = set(submission.assignments.values_list("reviewer_id", flat=True))
    active = submission.assignments.filter(
        status__in=(Assignment.Status.PROPOSED, Assignment.Status.ACCEPTED)).count()
    load = _open_load()
    reviewers = list(reviewers_all().exclude(pk__in=taken))
    rule_profiles = rule_profiles_for_case(submission, reviewers)
    dismissed_by_reviewer = _dismissed_by_reviewer(submission)
    profiles = []
    dismissed = {}
    for reviewer in reviewers:
        profile = rule_profiles[reviewer.pk]
        profiles.append(dataclasses.replace(profile, capacity=max(0, profile.capacity - load.get(reviewer.pk, 0))))
        dismissed[(str(submission.pk), str(reviewer.pk))] = dismissed_by_reviewer.get(reviewer.pk, frozenset())
    case = dataclasses.replace(case_profile_for(submission), expertise_needed=case_expertise_needed(submission),
                               reviewers_needed=max(0, reviewers_needed - active))
    return solve(profiles, [case], now=timezone.now(), dismissed=dismissed)


def plan_reviewers(plan: Plan, submission: Submission) -> list[User]:
    ids = [int(i) for i in plan.assignments.get(str(submission.pk), [])]
    return list(User.objects.filter(pk__in=ids).order_by("pseudonym"))


def case_overrides(submission: Submission) -> QuerySet[ConflictOverride]:
    return submission.conflict_overrides.select_related("reviewer", "requested_by", "approved_by").order_by(
        "requested_at")


def case_grants(submission: Submission) -> QuerySet[AccessGrant]:
    return submission.grants.select_related("reviewer").order_by("-granted_at")


@dataclass(frozen=True)
class Agreement:
    verdicts: dict[str, int]
    kappa: float | None
    unanimous: bool
    reviews: int


def case_agreement(submission: Submission) -> Agreement:
    """Inter-reviewer agreement on one case: Fleiss' kappa over its reviews' verdicts (None below two)."""
    verdicts = list(submission.reviews.values_list("verdict", flat=True))
    counts = {value: verdicts.count(value) for value in Verdict.values if value in verdicts}
    kappa = fleiss_kappa([verdicts], list(Verdict.values)) if len(verdicts) >= 2 else None
    return Agreement(verdicts=counts, kappa=kappa, unanimous=len(counts) == 1, reviews=len(verdicts))


@dataclass(frozen=True)
class CoordinatorQueue:
    cases: QuerySet[Submission]
    conflicted: list[str]  # references only: another coordinator must take these


def coordinator_review_queue(user: User) -> CoordinatorQueue:
    """Cases in review for this coordinator, through the visibility selector (which hides conflicted ones); the
    conflicted ones are named by reference only, so the queue can say another coordinator must take them."""
    in_review = Submission.objects.filter(state__in=(*OPEN_REVIEW_STATES, State.DECIDED))
    cases = submissions_visible_to(user, among=in_review)
    hidden = in_review.exclude(pk__in=cases.values("pk"))  # for a coordinator, hidden means conflicted
    return CoordinatorQueue(cases=cases.order_by("state_changed_at"),
                            conflicted=sorted(hidden.values_list("reference", flat=True)))


# --- reviewer: inbox and cases ------------------------------------------------------------------

@dataclass(frozen=True)
class InboxCase:
    reference: str
    submission_id: object
    tier: str
    expires_at: object


def reviewer_proposed_assignments(reviewer: User) -> list[Assignment]:
    """Assignments waiting for the reviewer's answer, minus any case they are conflicted on now."""
    if reviewer.role != Role.REVIEWER:
        return []
    proposed = Assignment.objects.filter(reviewer=reviewer, status=Assignment.Status.PROPOSED,
                                         submission__state__in=OPEN_REVIEW_STATES).select_related("submission")
    return [a for a in proposed if not case_conflicts(a.submission, reviewer)]


def reviewer_granted_cases(reviewer: User) -> list[InboxCase]:
    """Cases with an active grant and no conflict now: by case reference only, never the builder."""
    if reviewer.role != Role.REVIEWER:
        return []
    now = timezone.now()
    grants = (AccessGrant.objects.filter(reviewer=reviewer, revoked_at__isnull=True, expires_at__gt=now)
              .select_related("submission", "submission__owner").order_by("expires_at"))
    best: dict[object, AccessGrant] = {}
    from reviews.models import TIER_RANK

    for grant in grants:
        current = best.get(grant.submission_id)
        if current is None or TIER_RANK[grant.tier] > TIER_RANK[current.tier]:
            best[grant.submission_id] = grant
    return [InboxCase(reference=g.submission.reference, submission_id=g.submission_id, tier=g.tier,
                      expires_at=g.expires_at)
            for g in best.values() if not case_conflicts(g.submission, reviewer)]


def reviewer_proposed_references(reviewer: User) -> set[str]:
    """Cases whose proposal the reviewer may still answer (their "proposed" notifications stay visible)."""
    return {assignment.submission.reference for assignment in reviewer_proposed_assignments(reviewer)}


def reviewer_granted_references(reviewer: User) -> set[str]:
    """Cases the reviewer may open now (their "access granted" notifications stay visible)."""
    return {case.reference for case in reviewer_granted_cases(reviewer)}


def reviewer_own_review(submission: Submission, reviewer: User) -> Review | None:
    return Review.objects.filter(submission=submission, reviewer=reviewer).first()


def manifest_summary(manifest: dict | None) -> dict:
    """Components only: what the system is built from, not who built it."""
    manifest = manifest if isinstance(manifest, dict) else {}

    def names(key: str, *fields: str) -> list[str]:
        items = manifest.get(key) or []
        out = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                out.append(" ".join(str(item.get(f, "")) for f in fields if item.get(f)).strip())
        return [n for n in out if n]

    egress = manifest.get("egress") if isinstance(manifest.get("egress"), dict) else {}
    harness = manifest.get("harness") if isinstance(manifest.get("harness"), dict) else {}
    return {
        "models": names("models", "provider", "name", "version"),
        "harness": " ".join(str(harness.get(f, "")) for f in ("name", "version") if harness.get(f)),
        "approval_mode": str(harness.get("approval_mode", "")),
        "tools": names("tools", "name"),
        "mcp_servers": names("mcp_servers", "name", "transport"),
        "data_sources": names("data_sources", "name", "trust"),
        "egress_policy": str(egress.get("policy", "")),
    }


def case_triage_results(submission: Submission):  # noqa: ANN201
    from triage.models import TriageResult

    return TriageResult.objects.filter(submission=submission).order_by("-created_at").first()


def builder_identity_for_reviewer(submission: Submission) -> str | None:
    """The builder's name and organisation only if the builder opted in at consent; otherwise None."""
    consent = Consent.objects.filter(submission=submission, reveal_identity=True, declined=False).first()
    if consent is None:
        return None
    owner = submission.owner
    return f"{owner.get_full_name() or owner.email} ({owner.organisation or owner.email_domain})"


# --- messaging ------------------------------------------------------------------------------------

def thread_case_for(user: User, pk) -> Submission:  # noqa: ANN001
    """The case whose thread ``user`` may read: its builder or a coordinator. Everyone else: 404."""
    if user.role not in (Role.BUILDER, Role.COORDINATOR):
        raise Http404("No such case.")
    from intake.selectors import submission_get_for

    return submission_get_for(user, pk)


def thread_messages(submission: Submission) -> QuerySet[Message]:
    return submission.messages.select_related("author").order_by("created_at", "pk")
