"""/api/v1/ for human review: assignments and grants (reviewers), reviews, decisions (coordinators),
consent (builders). Thin endpoints over reviews.services and reviews.selectors.

Access mirrors the portal exactly: a wrong role is 403; a case a reviewer may
not reach (no active grant at the tier, or conflicted now) is 404, never 403,
so case ids are not confirmed. Artifact content is not served by the API at
all: it is read only through the watermarking viewer. Errors take the
contract's shape via intake.api_errors.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.api_auth import MfaSatisfied, TokenScopes
from intake.api_errors import AUTHENTICATED, documented_errors
from intake.models import AccessTier, Role, User
from intake.selectors import submission_get_for, submission_get_owned
from intake.review_requests import review_requests_pending_for
from intake.serializers import ReviewRequestOut
from reviews.coordinator_visibility import coordinator_case_for
from reviews.review_requests import review_request_decide
from reviews import selectors, services
from reviews.models import AccessGrant, Assignment, Consent, Verdict

PERMISSIONS = [IsAuthenticated, MfaSatisfied, TokenScopes]
REVIEWS = "reviews"

# Documented errors, in the contract's shape: every endpoint here is token-authenticated (401, 403 for a wrong
# role, scope or missing MFA, 429); one that names an object adds 404; one that reads a body adds 400 and 413;
# one that changes state adds 409 (the case or assignment has moved on; revoking a grant is idempotent).
LISTING = documented_errors(*AUTHENTICATED)
READ_ONE = documented_errors(*AUTHENTICATED, 404)
CHANGE = documented_errors(*AUTHENTICATED, 400, 404, 409, 413)


def _require_role(request: Request, role: str) -> None:
    if request.user.role != role:
        raise PermissionDenied(f"Only {role}s may use this endpoint.")


# --- serializers -----------------------------------------------------------------------------

class AssignmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.CharField(source="submission.reference")
    case_id = serializers.UUIDField(source="submission_id")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class RespondIn(serializers.Serializer):
    accept = serializers.BooleanField()


class GrantedCaseOut(serializers.Serializer):
    case = serializers.CharField(source="reference")
    case_id = serializers.UUIDField(source="submission_id")
    tier = serializers.CharField()
    expires_at = serializers.DateTimeField()


class FindingIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=["critical", "high", "medium", "low", "info"])
    evidence = serializers.CharField(max_length=300)
    remediation = serializers.CharField(max_length=2000)
    taxonomy = serializers.ListField(child=serializers.CharField(max_length=32), required=False, max_length=20,
                                     help_text="OWASP LLM / agentic, MITRE ATLAS or CWE ids")

    def validate_taxonomy(self, value: list[str]) -> list[str]:
        from triage.taxonomy import ATLAS, CWE, OWASP_AGENTIC, OWASP_LLM

        known = {*OWASP_LLM, *OWASP_AGENTIC, *ATLAS, *CWE}
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(f"unknown taxonomy ids: {', '.join(unknown)}")
        return sorted(set(value))

    def validate_evidence(self, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise serializers.ValidationError("Evidence is one reference on one line, not pasted content.")
        return value


class ReviewIn(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.values)
    confidence = serializers.IntegerField(min_value=0, max_value=100)
    findings = FindingIn(many=True, required=False)
    limitations = serializers.CharField(max_length=5000)
    summary = serializers.CharField(max_length=10000, required=False, allow_blank=True)


class ReviewOut(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.pseudonym")
    verdict = serializers.CharField()
    confidence = serializers.IntegerField()
    findings = serializers.JSONField()
    limitations = serializers.CharField()
    summary = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class AssignIn(serializers.Serializer):
    reviewer = serializers.IntegerField(min_value=1)


class GrantIn(serializers.Serializer):
    reviewer = serializers.IntegerField(min_value=1)
    tier = serializers.ChoiceField(choices=AccessTier.values)
    days = serializers.IntegerField(min_value=1, max_value=services.MAX_GRANT_DAYS)


class GrantOut(serializers.Serializer):
    id = serializers.IntegerField()
    reviewer = serializers.CharField(source="reviewer.pseudonym")
    tier = serializers.CharField()
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class RevokeIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class DecisionIn(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.values)
    rationale = serializers.CharField(max_length=10000)
    override_reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="",
                                            help_text="required when no reviewer reached this verdict")


class DecisionOut(serializers.Serializer):
    case = serializers.CharField(source="submission.reference")
    verdict = serializers.CharField()
    rationale = serializers.CharField()
    override_reason = serializers.CharField()
    disagreement = serializers.BooleanField()
    agreement_kappa = serializers.FloatField(allow_null=True)
    decided_at = serializers.DateTimeField()


class ConsentIn(serializers.Serializer):
    accept = serializers.BooleanField()
    tier = serializers.ChoiceField(choices=AccessTier.values, required=False)
    confirm_above_offer = serializers.BooleanField(default=False)
    reveal_identity = serializers.BooleanField(default=False)


class ConsentOut(serializers.Serializer):
    case = serializers.CharField(source="submission.reference")
    state = serializers.CharField(source="submission.state")
    tier_required = serializers.CharField()
    tier_offered = serializers.CharField(source="submission.claim_access_tier")
    duration_days = serializers.IntegerField()
    answered_at = serializers.DateTimeField(allow_null=True)
    declined = serializers.BooleanField()
    granted_tier = serializers.CharField()
    extra_consent = serializers.BooleanField()
    reveal_identity = serializers.BooleanField()


# --- reviewers ----------------------------------------------------------------------------------

class ReviewerAssignmentsView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": REVIEWS}

    @extend_schema(summary="Your assignments waiting for an answer",
                   responses={200: AssignmentOut(many=True), **LISTING})
    def get(self, request: Request) -> Response:
        _require_role(request, Role.REVIEWER)
        return Response(AssignmentOut(selectors.reviewer_proposed_assignments(request.user), many=True).data)


class ReviewerAssignmentRespondView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"post": REVIEWS}

    @extend_schema(summary="Accept or decline an assignment (a decline re-plans the case)", request=RespondIn,
                   responses={200: AssignmentOut, **CHANGE})
    def post(self, request: Request, pk: int) -> Response:
        _require_role(request, Role.REVIEWER)
        assignment = get_object_or_404(Assignment.objects.select_related("submission", "assigned_by"), pk=pk,
                                       reviewer=request.user)
        if services.case_conflicts(assignment.submission, request.user):
            raise Http404("No such assignment.")
        body = RespondIn(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = services.assignment_answer(assignment=assignment, actor=request.user,
                                                accept=body.validated_data["accept"])
        return Response(AssignmentOut(assignment).data)


class ReviewerGrantsView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": REVIEWS}

    @extend_schema(summary="Cases you hold an active grant for (by case reference only)",
                   responses={200: GrantedCaseOut(many=True), **LISTING})
    def get(self, request: Request) -> Response:
        _require_role(request, Role.REVIEWER)
        return Response(GrantedCaseOut(selectors.reviewer_granted_cases(request.user), many=True).data)


class ReviewerCaseView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": REVIEWS}

    @extend_schema(summary="A granted case at black box: claim, manifest summary, triage results",
                   responses={200: OpenApiTypes.OBJECT, **READ_ONE})
    def get(self, request: Request, pk: str) -> Response:
        _require_role(request, Role.REVIEWER)
        submission, grant = services.access_case_as_reviewer(reviewer=request.user, submission_pk=pk,
                                                             purpose="api_view")
        triage = selectors.case_triage_results(submission)
        body = {
            "case": submission.reference, "tier": grant.tier, "grant_expires_at": grant.expires_at,
            "claim": {"statement": submission.claim_statement, "property": submission.claim_property,
                      "scope_in": submission.claim_scope_in, "scope_out": submission.claim_scope_out,
                      "assumptions": submission.claim_assumptions},
            "description": submission.description,
            "manifest": selectors.manifest_summary(submission.manifest),
            "config_digest": submission.config_digest,
            "triage": None if triage is None else {
                "policy_version": triage.policy_version, "score": triage.score, "decision": triage.decision,
                "reasons": triage.reasons, "findings": triage.findings},
            "builder": selectors.builder_identity_for_reviewer(submission),
            "artifacts": ([{"id": str(a.pk), "name": a.name, "size": a.size, "sha256": a.sha256}
                           for a in submission.artifacts.order_by("name")]
                          if grant.tier != AccessTier.BLACK else []),
        }
        response = Response(body)
        response["Cache-Control"] = "no-store"
        return response


class CaseReviewsView(APIView):
    """Reviewers submit here; reviewers (after their own) and coordinators read here."""

    permission_classes = PERMISSIONS
    required_scopes = {"get": REVIEWS, "post": REVIEWS}

    def _case(self, request: Request, pk: str):  # noqa: ANN202
        if request.user.role == Role.COORDINATOR:
            return submission_get_for(request.user, pk)
        _require_role(request, Role.REVIEWER)
        submission, _grant = services.access_case_as_reviewer(reviewer=request.user, submission_pk=pk,
                                                              purpose="api_reviews")
        return submission

    @extend_schema(summary="Reviews you may see (reviewers: only after submitting your own)",
                   responses={200: ReviewOut(many=True), **READ_ONE})
    def get(self, request: Request, pk: str) -> Response:
        submission = self._case(request, pk)
        return Response(ReviewOut(services.reviews_visible_to(submission=submission, user=request.user),
                                  many=True).data)

    @extend_schema(summary="Submit your review of a granted case", request=ReviewIn,
                   responses={201: ReviewOut, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        _require_role(request, Role.REVIEWER)
        submission = self._case(request, pk)
        body = ReviewIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        review = services.review_submit(submission=submission, reviewer=request.user, verdict=data["verdict"],
                                        confidence=data["confidence"], findings=data.get("findings", []),
                                        limitations=data["limitations"], summary=data.get("summary", ""))
        return Response(ReviewOut(review).data, status=status.HTTP_201_CREATED)


# --- coordinators -------------------------------------------------------------------------------

class _CoordinatorView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": REVIEWS, "post": REVIEWS}

    def case(self, request: Request, pk: str):  # noqa: ANN201
        """The case, for a coordinator not conflicted on it (as the portal's coordinator case page)."""
        _require_role(request, Role.COORDINATOR)
        return coordinator_case_for(request.user, pk)  # Conflicted (403, the reason only) if conflicted

    @staticmethod
    def reviewer(pk: int) -> User:
        return get_object_or_404(User, pk=pk, role=Role.REVIEWER, is_active=True)


class CaseConflictsView(_CoordinatorView):
    @extend_schema(summary="Conflicts per reviewer, and the solver's plan for the open seats",
                   responses={200: OpenApiTypes.OBJECT, **READ_ONE})
    def get(self, request: Request, pk: str) -> Response:
        submission = self.case(request, pk)
        plan = selectors.case_plan(submission) if submission.state in selectors.OPEN_REVIEW_STATES else None
        return Response({
            "reviewers": [{"id": s.reviewer.pk, "pseudonym": s.reviewer.pseudonym, "assignable": s.assignable,
                           "assignment": s.assignment.status if s.assignment else None,
                           "conflicts": [{"rule": c.rule, "reason": c.reason} for c in s.conflicts]}
                          for s in selectors.case_reviewer_standings(submission)],
            "plan": None if plan is None else {
                "proposed": [u.pk for u in selectors.plan_reviewers(plan, submission)],
                "unassigned": plan.unassigned},
        })


class CaseAssignmentsView(_CoordinatorView):
    @extend_schema(summary="Propose the case to a reviewer (refused when conflicted)", request=AssignIn,
                   responses={201: AssignmentOut, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        submission = self.case(request, pk)
        body = AssignIn(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = services.assignment_propose(submission=submission, reviewer=self.reviewer(
            body.validated_data["reviewer"]), actor=request.user)
        return Response(AssignmentOut(assignment).data, status=status.HTTP_201_CREATED)


class CaseGrantsView(_CoordinatorView):
    @extend_schema(summary="Grants on a case", responses={200: GrantOut(many=True), **READ_ONE})
    def get(self, request: Request, pk: str) -> Response:
        return Response(GrantOut(selectors.case_grants(self.case(request, pk)), many=True).data)

    @extend_schema(summary="Grant time-boxed access at a tier", request=GrantIn,
                   responses={201: GrantOut, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        submission = self.case(request, pk)
        body = GrantIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        grant = services.grant_issue(submission=submission, reviewer=self.reviewer(data["reviewer"]),
                                     tier=data["tier"], days=data["days"], actor=request.user)
        return Response(GrantOut(grant).data, status=status.HTTP_201_CREATED)


class GrantRevokeView(_CoordinatorView):
    @extend_schema(summary="Revoke a grant (access ends at once)", request=RevokeIn,
                   responses={200: GrantOut, **documented_errors(*AUTHENTICATED, 400, 404, 413)})
    def post(self, request: Request, pk: int) -> Response:
        _require_role(request, Role.COORDINATOR)
        grant = get_object_or_404(AccessGrant.objects.select_related("reviewer", "submission"), pk=pk)
        body = RevokeIn(data=request.data)
        body.is_valid(raise_exception=True)
        services.grant_revoke(grant=grant, actor=request.user, reason=body.validated_data["reason"])
        grant.refresh_from_db()
        return Response(GrantOut(grant).data)


class CaseDecisionView(_CoordinatorView):
    @extend_schema(summary="Record the decision (moves the case to decided)", request=DecisionIn,
                   responses={201: DecisionOut, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        submission = self.case(request, pk)
        body = DecisionIn(data=request.data)
        body.is_valid(raise_exception=True)
        decision = services.decision_record(submission=submission, actor=request.user, **body.validated_data)
        return Response(DecisionOut(decision).data, status=status.HTTP_201_CREATED)


class ReviewRequestDecisionIn(serializers.Serializer):
    accept = serializers.BooleanField(help_text="true: send the case to human review (consent first); false: decline")
    reason = serializers.CharField(max_length=2000, help_text="Shown to the builder; 10 to 2000 characters.")


class PendingReviewRequestsView(_CoordinatorView):
    @extend_schema(summary="Builders' pending requests for human review, on cases you may coordinate",
                   responses={200: ReviewRequestOut(many=True), **LISTING})
    def get(self, request: Request) -> Response:
        _require_role(request, Role.COORDINATOR)
        return Response(ReviewRequestOut(review_requests_pending_for(request.user)[:500], many=True).data)


class ReviewRequestDecisionView(_CoordinatorView):
    @extend_schema(summary="Accept (the case moves to awaiting consent, as an escalated case) or decline a request "
                           "for human review, with a reason", request=ReviewRequestDecisionIn,
                   responses={200: ReviewRequestOut, **CHANGE})
    def post(self, request: Request, pk: int) -> Response:
        _require_role(request, Role.COORDINATOR)
        review_request = get_object_or_404(review_requests_pending_for(request.user), pk=pk)
        body = ReviewRequestDecisionIn(data=request.data)
        body.is_valid(raise_exception=True)
        decided = review_request_decide(review_request=review_request, actor=request.user,
                                        accept=body.validated_data["accept"], reason=body.validated_data["reason"])
        return Response(ReviewRequestOut(decided).data)


# --- builders -----------------------------------------------------------------------------------

class ConsentView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": "submissions:read", "post": "submissions:write"}

    def _consent(self, request: Request, pk: str) -> Consent:
        submission = submission_get_owned(request.user, pk)
        return get_object_or_404(Consent.objects.select_related("submission"), submission=submission)

    @extend_schema(summary="What human review of your case needs: tier and duration",
                   responses={200: ConsentOut, **READ_ONE})
    def get(self, request: Request, pk: str) -> Response:
        return Response(ConsentOut(self._consent(request, pk)).data)

    @extend_schema(summary="Consent to human review, or decline (the case closes with guidance)",
                   request=ConsentIn, responses={200: ConsentOut, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        consent = self._consent(request, pk)
        body = ConsentIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.consent_answer(submission=consent.submission, actor=request.user, accept=data["accept"],
                                tier=data.get("tier"), confirm_above_offer=data["confirm_above_offer"],
                                reveal_identity=data["reveal_identity"])
        consent.refresh_from_db()
        consent.submission.refresh_from_db()
        return Response(ConsentOut(consent).data)
