"""Write paths of human review. Every function audits what it does in the same transaction.

Conflicts are recomputed at every step that widens access (assign, grant,
view), never cached: a declaration added after assignment cuts access at once.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from django.core.exceptions import ValidationError as DjangoValidationError

from intake.access import AccessDecision, ReviewerAccess, access_decide, tier_at_least
from intake.audit import audit_append
from intake.errors import DomainError, ValidationFailed
from intake.models import AccessTier, NotificationKind, Role, Submission, User
from intake.notifications import notifications_resolve, notify
from intake.states import State, transition
from reviews import conflicts as rules
from reviews.models import (
    TIER_RANK, AccessGrant, Assignment, CaseCoordination, ConflictDeclaration, ConflictOverride, Consent, Decision,
    Review, ReviewerProfile, Verdict,
)

MAX_GRANT_DAYS = 90


class Conflicted(DomainError):
    code = "conflict_of_interest"
    http_status = 403


class NotPermitted(DomainError):
    code = "forbidden"
    http_status = 403


class WrongState(DomainError):
    code = "conflict"
    http_status = 409


# --- profiles for the conflict rules ----------------------------------------------------------

def reviewer_profile_for(user: User, *, for_submission: Submission | None = None) -> rules.ReviewerProfile:
    """The reviewer as the conflict rules see them. Reviews of ``for_submission`` itself are not prior work."""
    profile = ReviewerProfile.objects.filter(user=user).prefetch_related("vendor_ties", "declarations").first()
    earlier_reviews = Review.objects.filter(reviewer=user)
    if for_submission is not None:
        earlier_reviews = earlier_reviews.exclude(submission=for_submission)
    prior = tuple(
        (builder_email, reviewed.date())
        for builder_email, reviewed in earlier_reviews.values_list("submission__owner__email", "submitted_at")
    )
    if profile is None:
        return rules.ReviewerProfile(id=str(user.pk), organisation=user.organisation, email=user.email,
                                     capacity=0, prior_builders=prior)
    return rules.ReviewerProfile(
        id=str(user.pk), organisation=user.organisation, email=user.email,
        verified_domains=tuple(profile.verified_domains),
        vendor_ties=tuple(rules.VendorTie(name=t.name, kind=t.kind, start=t.start, end=t.end)
                          for t in profile.vendor_ties.all()),
        expertise=frozenset(profile.expertise), declared_conflicts=tuple(d.party for d in profile.declarations.all()),
        capacity=profile.capacity if profile.available else 0, prior_builders=prior)


def _manifest_components(manifest: dict | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    manifest = manifest or {}
    models = tuple(f"{m.get('provider', '')} {m.get('name', '')}".strip() for m in manifest.get("models", []))
    tools = tuple(f"{t.get('vendor', '')} {t.get('name', '')}".strip()
                  for t in [*manifest.get("tools", []), *manifest.get("mcp_servers", [])])
    return models, tools


_LOOK_UP = object()


def case_profile_for(submission: Submission, *, coordinator_id: str | None | object = _LOOK_UP) -> rules.CaseProfile:
    """The case as the conflict rules see it. Pass ``coordinator_id`` when it is known (or irrelevant) to skip
    reading the coordination row; declarations come from a prefetch when the caller made one."""
    models, tools = _manifest_components(submission.manifest)
    if coordinator_id is _LOOK_UP:
        coordination = CaseCoordination.objects.filter(submission=submission).first()
        coordinator_id = str(coordination.coordinator_id) if coordination else None
    return rules.CaseProfile(
        id=str(submission.pk), builder_organisation=submission.owner.organisation,
        builder_email=submission.owner.email, models=models, tools=tools,
        competitors=tuple(submission.named_competitors or ()),
        builder_declared_conflicts=tuple(d.party for d in submission.builder_conflict_declarations.all()),
        coordinator_id=coordinator_id)


def _dismissed_rules(submission: Submission, reviewer: User) -> frozenset[str]:
    return frozenset(ConflictOverride.objects.filter(submission=submission, reviewer=reviewer,
                                                     approved_by__isnull=False).values_list("rule", flat=True))


def case_conflicts(submission: Submission, reviewer: User) -> list[rules.Conflict]:
    return rules.conflicts_for(reviewer_profile_for(reviewer, for_submission=submission), case_profile_for(submission),
                               now=timezone.now(),
                               dismissed=_dismissed_rules(submission, reviewer))


def _require_coordinator(actor: User) -> None:
    if actor.role != Role.COORDINATOR:
        raise NotPermitted("only coordinators may do this")


def _require_not_conflicted(submission: Submission, reviewer: User) -> None:
    found = case_conflicts(submission, reviewer)
    if found:
        raise Conflicted(f"reviewer is conflicted: {found[0].reason} ({found[0].rule})",
                         details={"rules": sorted({c.rule for c in found})})


# The coordinator of record is excluded from reviewing by that rule; for the coordinator it is their role, not a
# conflict. No two-coordinator override applies to a coordinator: another coordinator simply takes the case.
NOT_A_COORDINATOR_CONFLICT = frozenset({"coordinator_of_record"})


def coordinator_conflicts(submission: Submission, coordinator: User) -> list[rules.Conflict]:
    """The reviewer rules applied to a coordinator: same organisation or organisation domain as the builder, a
    vendor interest, a named competitor, a conflict either side declared, recent prior work with the builder."""
    return rules.conflicts_for(reviewer_profile_for(coordinator, for_submission=submission),
                               case_profile_for(submission), now=timezone.now(),
                               dismissed=NOT_A_COORDINATOR_CONFLICT)


def coordinator_conflict_message(conflict: rules.Conflict) -> str:
    return (f"You have a conflict of interest with this case: {conflict.reason} ({conflict.rule}). "
            "Another coordinator must coordinate and decide it.")


def check_coordinator_may_act(*, submission: Submission, actor: User) -> None:
    """A coordinator, unconflicted on this case, may coordinate or decide it (recomputed now, never cached)."""
    _require_coordinator(actor)
    found = coordinator_conflicts(submission, actor)
    if found:
        raise Conflicted(coordinator_conflict_message(found[0]), details={"rules": sorted({c.rule for c in found})})


# --- coordination and declarations ----------------------------------------------------------

def coordination_take(*, submission: Submission, actor: User) -> CaseCoordination:
    """``actor`` becomes coordinator of record (replacing a conflicted or absent one), unless conflicted."""
    check_coordinator_may_act(submission=submission, actor=actor)
    with transaction.atomic():
        coordination, _ = CaseCoordination.objects.update_or_create(submission=submission,
                                                                    defaults={"coordinator": actor})
        audit_append(actor=actor, action="case.coordinate", obj=submission)
    return coordination


def declaration_add(*, actor: User, party: str, submission: Submission | None = None, note: str = "") -> ConflictDeclaration:
    party = party.strip()
    if not party or len(party) > 254:
        raise ValidationFailed("name the organisation, domain, email or reviewer the conflict is with")
    with transaction.atomic():
        if submission is not None:
            if submission.owner_id != actor.pk:
                raise NotPermitted("only the builder declares conflicts on their case")
            declaration = ConflictDeclaration.objects.create(submission=submission, party=party, note=note[:500])
            audit_append(actor=actor, action="conflict.declare.builder", obj=submission, data={"party": party})
        else:
            profile = ReviewerProfile.objects.get(user=actor)
            declaration = ConflictDeclaration.objects.create(reviewer=profile, party=party, note=note[:500])
            audit_append(actor=actor, action="conflict.declare.reviewer", obj=actor, data={"party": party})
    return declaration


def override_request(*, submission: Submission, reviewer: User, rule: str, reason: str, actor: User) -> ConflictOverride:
    check_coordinator_may_act(submission=submission, actor=actor)
    if rule not in rules.RULES:
        raise ValidationFailed(f"unknown conflict rule {rule}")
    if len(reason.strip()) < 20:
        raise ValidationFailed("write a reason of at least 20 characters for dismissing a conflict")
    if rule in {"declared_by_reviewer", "declared_by_builder"}:
        raise NotPermitted("declared conflicts cannot be dismissed; ask the declaring side to withdraw it")
    with transaction.atomic():
        override = ConflictOverride.objects.create(submission=submission, reviewer=reviewer, rule=rule,
                                                   reason=reason.strip(), requested_by=actor)
        audit_append(actor=actor, action="conflict.override.request", obj=submission,
                     data={"reviewer": reviewer.pseudonym, "rule": rule, "reason": reason.strip()})
    return override


def override_approve(*, override: ConflictOverride, actor: User) -> ConflictOverride:
    check_coordinator_may_act(submission=override.submission, actor=actor)
    if override.requested_by_id == actor.pk:
        raise NotPermitted("a second coordinator must approve a conflict override")
    with transaction.atomic():
        rows = ConflictOverride.objects.filter(pk=override.pk, approved_by__isnull=True).update(
            approved_by=actor, approved_at=timezone.now())
        if rows != 1:
            raise WrongState("this override was already approved")
        audit_append(actor=actor, action="conflict.override.approve", obj=override.submission,
                     data={"override": override.pk, "rule": override.rule})
    override.refresh_from_db()
    return override


# --- consent --------------------------------------------------------------------------------

def consent_request(*, submission: Submission, tier_required: str, duration_days: int = 30) -> Consent:
    """Called when triage escalates: the case waits for the builder's answer."""
    consent, _ = Consent.objects.update_or_create(
        submission=submission, defaults={"tier_required": tier_required, "duration_days": duration_days,
                                         "requested_at": timezone.now(), "answered_at": None, "declined": False})
    audit_append(actor=None, action="consent.request", obj=submission,
                 data={"tier_required": tier_required, "duration_days": duration_days})
    return consent


# Claims that static evidence alone cannot settle need a reviewer to read the (redacted) artifacts.
_GREY_BOX_CLAIMS = frozenset({"prompt-injection-resistance", "no-exfiltration", "data-handling", "other"})


def tier_required_for(*, claim_property: str, findings: list[dict]) -> str:
    """Least access that lets a reviewer judge the claim: grey box when high or critical findings must be
    confirmed in the artifacts, or when the claim is about behaviour; black box otherwise."""
    serious = any(f.get("severity") in ("critical", "high") for f in findings)
    return AccessTier.GREY if serious or claim_property in _GREY_BOX_CLAIMS else AccessTier.BLACK


def consent_request_for_escalation(*, submission: Submission, findings: list[dict]) -> Consent:
    return consent_request(submission=submission,
                           tier_required=tier_required_for(claim_property=submission.claim_property,
                                                           findings=findings))


def consent_answer(*, submission: Submission, actor: User, accept: bool, tier: str | None = None,
                   confirm_above_offer: bool = False, reveal_identity: bool = False) -> Submission:
    if submission.owner_id != actor.pk:
        raise NotPermitted("only the builder answers a consent request")
    consent = Consent.objects.filter(submission=submission, answered_at__isnull=True).first()
    if consent is None or submission.state != State.AWAITING_CONSENT:
        raise WrongState("this case is not waiting for consent")
    with transaction.atomic():
        notifications_resolve(kind=NotificationKind.CONSENT_NEEDED, submission=submission, recipient=actor)
        if not accept:
            Consent.objects.filter(pk=consent.pk).update(declined=True, answered_at=timezone.now())
            return transition(submission, State.CLOSED, actor=actor, reason="builder declined human review; "
                                                                           "closed with guidance")
        tier = tier or consent.tier_required
        if tier not in TIER_RANK:
            raise ValidationFailed("choose black, grey or white box access")
        if TIER_RANK[tier] < TIER_RANK[consent.tier_required]:
            raise ValidationFailed(f"this claim needs at least {consent.tier_required} box access")
        above_offer = TIER_RANK[tier] > TIER_RANK[submission.claim_access_tier]
        if above_offer and not confirm_above_offer:
            raise ValidationFailed(f"{tier} box access is more than your claim offered "
                                   f"({submission.claim_access_tier} box); confirm it explicitly")
        Consent.objects.filter(pk=consent.pk).update(granted_tier=tier, extra_consent=above_offer,
                                                     answered_at=timezone.now(), reveal_identity=reveal_identity)
        audit_append(actor=actor, action="consent.give", obj=submission,
                     data={"tier": tier, "above_offer": above_offer, "days": consent.duration_days})
        return transition(submission, State.IN_REVIEW, actor=actor, reason="builder consented to human review")


# --- assignment and grants ------------------------------------------------------------------

def assignment_propose(*, submission: Submission, reviewer: User, actor: User,
                       trigger: dict | None = None) -> Assignment:
    """``trigger`` marks an automatic proposal (no person acted): audited as the system, naming the cause."""
    check_coordinator_may_act(submission=submission, actor=actor)
    if reviewer.role != Role.REVIEWER:
        raise ValidationFailed("only reviewers can be assigned")
    if submission.state not in (State.AWAITING_CONSENT, State.IN_REVIEW):
        raise WrongState(f"case is {submission.state}; reviewers are assigned to escalated cases")
    _require_not_conflicted(submission, reviewer)
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(submission=submission, reviewer=reviewer, assigned_by=actor)
            audit_append(actor=None if trigger else actor, action="assignment.propose", obj=submission,
                         data={"reviewer": reviewer.pseudonym, **(trigger or {})})
            # The reference only: never content, never the builder.
            notify(recipient=reviewer, kind=NotificationKind.REVIEWER_PROPOSED, submission=submission,
                   path=reverse("reviewer_inbox"))
    except IntegrityError as exc:
        raise WrongState("this reviewer is already assigned to the case") from exc
    return assignment


def assignment_respond(*, assignment: Assignment, actor: User, accept: bool) -> Assignment:
    if assignment.reviewer_id != actor.pk:
        raise Http404("No such assignment.")
    if accept:
        _require_not_conflicted(assignment.submission, actor)
    status = Assignment.Status.ACCEPTED if accept else Assignment.Status.DECLINED
    with transaction.atomic():
        rows = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.PROPOSED).update(
            status=status, responded_at=timezone.now())
        if rows != 1:
            raise WrongState("this assignment was already answered")
        audit_append(actor=actor, action=f"assignment.{status}", obj=assignment.submission,
                     data={"reviewer": actor.pseudonym})
        notifications_resolve(kind=NotificationKind.REVIEWER_PROPOSED, submission=assignment.submission,
                              recipient=actor)
    assignment.refresh_from_db()
    return assignment


def grant_issue(*, submission: Submission, reviewer: User, tier: str, days: int, actor: User) -> AccessGrant:
    """Least access: within the builder's consent, to an accepted, unconflicted reviewer, for a bounded time,
    by an unconflicted coordinator."""
    check_coordinator_may_act(submission=submission, actor=actor)
    if submission.state != State.IN_REVIEW:
        raise WrongState("grants are issued only while a case is in review")
    if not Assignment.objects.filter(submission=submission, reviewer=reviewer,
                                     status=Assignment.Status.ACCEPTED).exists():
        raise NotPermitted("the reviewer has not accepted an assignment to this case")
    _require_not_conflicted(submission, reviewer)
    consent = Consent.objects.filter(submission=submission, declined=False, answered_at__isnull=False).first()
    if consent is None or TIER_RANK[tier] > TIER_RANK[consent.granted_tier]:
        raise NotPermitted(f"the builder has not consented to {tier} box access")
    if not 1 <= days <= min(MAX_GRANT_DAYS, consent.duration_days):
        raise ValidationFailed(f"a grant lasts 1 to {min(MAX_GRANT_DAYS, consent.duration_days)} days")
    with transaction.atomic():
        grant = AccessGrant.objects.create(submission=submission, reviewer=reviewer, tier=tier, granted_by=actor,
                                           expires_at=timezone.now() + timedelta(days=days))
        audit_append(actor=actor, action="grant.issue", obj=submission,
                     data={"reviewer": reviewer.pseudonym, "tier": tier, "expires_at": grant.expires_at.isoformat()})
        notify(recipient=reviewer, kind=NotificationKind.ACCESS_GRANTED, submission=submission,
               path=reverse("reviewer_case", args=[submission.pk]), tier=tier)
    return grant


def grant_revoke(*, grant: AccessGrant, actor: User, reason: str) -> None:
    _require_coordinator(actor)
    with transaction.atomic():
        rows = AccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoke_reason=reason[:500])
        if rows:
            audit_append(actor=actor, action="grant.revoke", obj=grant.submission,
                         data={"reviewer": grant.reviewer.pseudonym, "reason": reason[:500]})
            notifications_resolve(kind=NotificationKind.ACCESS_GRANTED, submission=grant.submission,
                                  recipient=grant.reviewer)


def active_grant(submission_pk, reviewer: User, *, minimum_tier: str = AccessTier.BLACK) -> AccessGrant | None:  # noqa: ANN001
    now = timezone.now()
    grants = AccessGrant.objects.filter(submission_id=submission_pk, reviewer=reviewer, revoked_at__isnull=True,
                                        expires_at__gt=now)
    best = max(grants, key=lambda g: TIER_RANK[g.tier], default=None)
    if best is None or TIER_RANK[best.tier] < TIER_RANK[minimum_tier]:
        return None
    return best


def reviewer_access_rule(reviewer: User, submission: Submission) -> ReviewerAccess | None:
    """The access kernel's rule for reviewers (registered in reviews.apps): the best active grant, while no
    conflict stands now."""
    grant = active_grant(submission.pk, reviewer)
    if grant is None or case_conflicts(submission, reviewer):
        return None
    return ReviewerAccess(tier=grant.tier, grant_id=grant.pk)


def reviewer_granted_cases(reviewer: User, cases):  # noqa: ANN001, ANN201 - QuerySet
    """The kernel's queryset rule for reviewers: cases with an active grant (conflicts are checked per case)."""
    grants = AccessGrant.objects.filter(reviewer=reviewer, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return cases.filter(pk__in=grants.values("submission_id"))


def reviewer_case_access(*, reviewer: User, submission_pk, minimum_tier: str = AccessTier.BLACK,  # noqa: ANN001
                         purpose: str = "view") -> tuple[Submission, AccessGrant, AccessDecision]:
    """A reviewer reaching a case: the access kernel's decision at ``minimum_tier`` or above (an active grant and
    no conflict now; a shredded case has nothing left to review), audited. 404 otherwise, never 403."""
    if reviewer.role != Role.REVIEWER:
        raise Http404("No such case.")
    try:
        submission = Submission.objects.get(pk=submission_pk)
    except (Submission.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise Http404("No such case.") from None
    decision = access_decide(reviewer, submission)
    if not tier_at_least(decision.tier, minimum_tier):
        raise Http404("No such case.")
    grant = AccessGrant.objects.get(pk=decision.grant_id)
    audit_append(actor=reviewer, action=f"reviewer.{purpose}", obj=submission,
                 data={"tier": grant.tier, "grant": grant.pk})
    return submission, grant, decision


def access_case_as_reviewer(*, reviewer: User, submission_pk, minimum_tier: str = AccessTier.BLACK,  # noqa: ANN001
                            purpose: str = "view") -> tuple[Submission, AccessGrant]:
    """The only way a reviewer reaches a case (see reviewer_case_access). 404 otherwise."""
    submission, grant, _decision = reviewer_case_access(reviewer=reviewer, submission_pk=submission_pk,
                                                        minimum_tier=minimum_tier, purpose=purpose)
    return submission, grant


# --- reviews and decisions ------------------------------------------------------------------

def review_submit(*, submission: Submission, reviewer: User, verdict: str, confidence: int,
                  findings: list[dict], limitations: str, summary: str = "") -> Review:
    access_case_as_reviewer(reviewer=reviewer, submission_pk=submission.pk, purpose="review")
    if verdict not in Verdict.values:
        raise ValidationFailed(f"verdict must be one of {', '.join(Verdict.values)}")
    if not 0 <= confidence <= 100:
        raise ValidationFailed("confidence is a percentage from 0 to 100")
    try:
        with transaction.atomic():
            review = Review.objects.create(submission=submission, reviewer=reviewer, verdict=verdict,
                                           confidence=confidence, findings=findings, limitations=limitations,
                                           summary=summary)
            audit_append(actor=reviewer, action="review.submit", obj=submission,
                         data={"verdict": verdict, "confidence": confidence})
            coordinator = _coordinator_of_record(submission, reviewer)
            if coordinator is not None:
                notify(recipient=coordinator, kind=NotificationKind.REVIEW_SUBMITTED, submission=submission,
                       path=reverse("coordinator_case", args=[submission.pk]))
    except IntegrityError as exc:
        raise WrongState("you have already reviewed this case") from exc
    return review


def _coordinator_of_record(submission: Submission, reviewer: User) -> User | None:
    """Who a submitted review is handed to: the case's coordinator of record, else whoever proposed the reviewer."""
    coordination = CaseCoordination.objects.filter(submission=submission).select_related("coordinator").first()
    if coordination is not None:
        return coordination.coordinator
    assignment = (Assignment.objects.filter(submission=submission, reviewer=reviewer)
                  .select_related("assigned_by").order_by("-pk").first())
    return assignment.assigned_by if assignment is not None and assignment.assigned_by.is_active else None


def reviews_visible_to(*, submission: Submission, user: User) -> list[Review]:
    """Independence: a reviewer sees others' reviews only after submitting their own."""
    reviews = list(submission.reviews.select_related("reviewer").order_by("submitted_at"))
    if user.role == Role.COORDINATOR:
        return reviews
    if user.role == Role.REVIEWER and any(r.reviewer_id == user.pk for r in reviews):
        return reviews
    if user.role == Role.REVIEWER:
        return []
    return []


def fleiss_kappa(ratings: list[list[str]], categories: list[str]) -> float | None:
    """Fleiss' kappa for items each rated by the same number (>= 2) of raters; None if undefined."""
    items = [r for r in ratings if len(r) >= 2]
    if not items or len({len(r) for r in items}) != 1:
        return None
    n = len(items[0])
    counts = [Counter(r) for r in items]
    p_j = [sum(c[cat] for c in counts) / (len(items) * n) for cat in categories]
    p_i = [(sum(v * v for v in c.values()) - n) / (n * (n - 1)) for c in counts]
    p_bar = sum(p_i) / len(items)
    p_e = sum(p * p for p in p_j)
    if p_e == 1:
        return 1.0 if p_bar == 1 else None
    return (p_bar - p_e) / (1 - p_e)


def decision_record(*, submission: Submission, actor: User, verdict: str, rationale: str,
                    override_reason: str = "") -> Decision:
    """Record the verdict; a verdict no reviewer reached needs a written reason; reviewers' access ends here."""
    check_coordinator_may_act(submission=submission, actor=actor)
    if Review.objects.filter(submission=submission, reviewer=actor).exists():
        raise NotPermitted("a coordinator who reviewed the case cannot decide it")
    if verdict not in Verdict.values:
        raise ValidationFailed(f"verdict must be one of {', '.join(Verdict.values)}")
    if len(rationale.strip()) < 20:
        raise ValidationFailed("write a rationale of at least 20 characters")
    verdicts = list(submission.reviews.values_list("verdict", flat=True))
    if not verdicts:
        raise WrongState("no reviews have been submitted yet")
    override_reason = override_reason.strip()
    if verdict not in verdicts and len(override_reason) < 20:
        raise ValidationFailed("no reviewer reached this verdict: give a reason for overruling the reviews of at "
                               "least 20 characters (it is printed in the report)")
    if verdict in verdicts:
        override_reason = ""  # nothing was overruled
    disagreement = len(set(verdicts)) > 1 or verdict not in verdicts
    kappa = fleiss_kappa([verdicts], list(Verdict.values)) if len(verdicts) >= 2 else None
    with transaction.atomic():
        decision = Decision.objects.create(submission=submission, coordinator=actor, verdict=verdict,
                                           rationale=rationale.strip(), override_reason=override_reason,
                                           disagreement=disagreement, agreement_kappa=kappa)
        transition(submission, State.DECIDED, actor=actor, reason="coordinator decision",
                   data={"verdict": verdict, "disagreement": disagreement, "overruled": bool(override_reason)})
        _grants_end_at_decision(submission=submission, actor=actor)
        notifications_resolve(kind=NotificationKind.REVIEW_SUBMITTED, submission=submission)
        notifications_resolve(kind=NotificationKind.ACCESS_GRANTED, submission=submission)
        from reviews.tasks import queue_report

        queue_report(submission.pk, "assessment")
    return decision


def _grants_end_at_decision(*, submission: Submission, actor: User) -> None:
    """Least access: once the case is decided no reviewer needs it, so every open grant ends now."""
    now = timezone.now()
    for grant in AccessGrant.objects.filter(submission=submission, revoked_at__isnull=True, expires_at__gt=now
                                            ).select_related("reviewer").order_by("pk"):
        rows = AccessGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason="the case was decided")
        if rows:
            audit_append(actor=actor, action="grant.revoke", obj=submission,
                         data={"reviewer": grant.reviewer.pseudonym, "reason": "the case was decided"})


def reviewer_calibration(*, since: date | None = None) -> dict:
    """Fleiss' kappa over all cases with the same number of reviews, and each reviewer's agreement with decisions."""
    decided = Decision.objects.select_related("submission")
    if since:
        decided = decided.filter(decided_at__date__gte=since)
    by_case: dict[str, list[str]] = {}
    agreement: dict[str, list[bool]] = {}
    for decision in decided:
        reviews = list(decision.submission.reviews.select_related("reviewer"))
        by_case[str(decision.submission_id)] = [r.verdict for r in reviews]
        for r in reviews:
            agreement.setdefault(r.reviewer.pseudonym, []).append(r.verdict == decision.verdict)
    groups: dict[int, list[list[str]]] = {}
    for verdicts in by_case.values():
        groups.setdefault(len(verdicts), []).append(verdicts)
    kappas = {size: fleiss_kappa(items, list(Verdict.values)) for size, items in groups.items() if size >= 2}
    return {"kappa_by_panel_size": kappas,
            "reviewer_agreement": {p: sum(v) / len(v) for p, v in sorted(agreement.items())}}


# --- reviewer registry (the reviewer edits their own declarations; every change audited) ---------

from reviews.models import VendorTie  # noqa: E402  (kept with the registry services it serves)

MAX_TAGS = 50


def _clean_tags(values: list[str], *, what: str, max_length: int = 100) -> list[str]:
    cleaned = sorted({v.strip().casefold() for v in values if v and v.strip()})
    if len(cleaned) > MAX_TAGS or any(len(v) > max_length for v in cleaned):
        raise ValidationFailed(f"list at most {MAX_TAGS} {what} of at most {max_length} characters each")
    return cleaned


def reviewer_profile_update(*, actor: User, verified_domains: list[str], expertise: list[str], capacity: int,
                            available: bool) -> ReviewerProfile:
    """A reviewer changes their own declarations; the audit event records what changed, old and new."""
    if actor.role != Role.REVIEWER:
        raise NotPermitted("only reviewers keep a reviewer profile")
    domains = _clean_tags(verified_domains, what="domains", max_length=253)
    if any("." not in d or "@" in d or " " in d for d in domains):
        raise ValidationFailed("organisation domains look like example.org (no addresses, no spaces)")
    tags = _clean_tags(expertise, what="expertise tags")
    if not 0 <= capacity <= 20:
        raise ValidationFailed("capacity is the number of open cases you can take, 0 to 20")
    with transaction.atomic():
        profile, _ = ReviewerProfile.objects.select_for_update().get_or_create(user=actor)
        before = {"verified_domains": profile.verified_domains, "expertise": profile.expertise,
                  "capacity": profile.capacity, "available": profile.available}
        after = {"verified_domains": domains, "expertise": tags, "capacity": capacity, "available": available}
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:
            ReviewerProfile.objects.filter(pk=profile.pk).update(**after, updated_at=timezone.now())
            audit_append(actor=actor, action="reviewer.profile.update", obj=actor, data={"changed": changed})
    profile.refresh_from_db()
    return profile


def vendor_tie_add(*, actor: User, name: str, kind: str, start: date | None = None,
                   end: date | None = None) -> VendorTie:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name the company the tie is with (at most 200 characters)")
    if kind not in VendorTie.Kind.values:
        raise ValidationFailed(f"kind must be one of {', '.join(VendorTie.Kind.values)}")
    if start and end and end < start:
        raise ValidationFailed("a tie cannot end before it starts")
    with transaction.atomic():
        profile, _ = ReviewerProfile.objects.get_or_create(user=actor)
        tie = VendorTie.objects.create(reviewer=profile, name=name, kind=kind, start=start, end=end)
        audit_append(actor=actor, action="reviewer.tie.add", obj=actor,
                     data={"tie": tie.pk, "name": name, "kind": kind, "start": start and start.isoformat(),
                           "end": end and end.isoformat()})
    return tie


def vendor_tie_remove(*, actor: User, tie_pk: int) -> None:
    """Removing a tie is audited with its content, so the history of declarations survives."""
    with transaction.atomic():
        tie = VendorTie.objects.filter(pk=tie_pk, reviewer__user=actor).first()
        if tie is None:
            raise Http404("No such tie.")
        audit_append(actor=actor, action="reviewer.tie.remove", obj=actor,
                     data={"tie": tie.pk, "name": tie.name, "kind": tie.kind,
                           "start": tie.start and tie.start.isoformat(), "end": tie.end and tie.end.isoformat()})
        tie.delete()


# --- re-planning after a decline ------------------------------------------------------------------

def assignment_replan(*, submission: Submission, actor: User, trigger: dict | None = None) -> list[Assignment]:
    """Propose the solver's best reviewers for the case's open seats (after a decline, or on demand).

    ``actor`` is the coordinator the proposals are made for; with ``trigger`` the re-plan was automatic and the
    audit log records the system as the actor, so no coordinator appears to have done what they did not do.
    """
    from reviews.selectors import case_plan, plan_reviewers

    check_coordinator_may_act(submission=submission, actor=actor)
    if submission.state not in (State.AWAITING_CONSENT, State.IN_REVIEW):
        return []
    plan = case_plan(submission)
    proposed = [assignment_propose(submission=submission, reviewer=reviewer, actor=actor, trigger=trigger)
                for reviewer in plan_reviewers(plan, submission)]
    audit_append(actor=None if trigger else actor, action="assignment.replan", obj=submission,
                 data={"proposed": [a.reviewer.pseudonym for a in proposed],
                       "unassigned": plan.unassigned, **(trigger or {})})
    return proposed


def assignment_answer(*, assignment: Assignment, actor: User, accept: bool) -> Assignment:
    """The reviewer accepts or declines; a decline re-plans the case automatically for its coordinator of record
    (else the coordinator who proposed the declined assignment)."""
    assignment = assignment_respond(assignment=assignment, actor=actor, accept=accept)
    if not accept:
        coordination = CaseCoordination.objects.filter(submission=assignment.submission).select_related(
            "coordinator").first()
        on_behalf_of = coordination.coordinator if coordination else assignment.assigned_by
        # A coordinator who is conflicted now gets no automatic proposals made in their name: the case waits
        # for another coordinator to take it.
        if on_behalf_of.role == Role.COORDINATOR and not coordinator_conflicts(assignment.submission, on_behalf_of):
            assignment_replan(submission=assignment.submission, actor=on_behalf_of,
                              trigger={"automatic": "decline", "declined_by": actor.pseudonym,
                                       "on_behalf_of": on_behalf_of.pseudonym})
    return assignment
