"""/api/v1/ for IP disputes and legal holds: the same services and permissions as the portal (reviews.portal_holds).

- ``submissions/<id>/disputes/``: GET the disputes of a case as the caller may see them (the builder their side,
  a coordinator the whole record); POST opens one (the case's builder only; JSON or multipart with an optional
  ``evidence`` file).
- ``coordinate/disputes/<id>/decide/``: a coordinator upholds or dismisses, with a written reason.
- ``coordinate/cases/<id>/holds/``: GET the holds, POST requests one; ``coordinate/holds/<id>/approve|release/``:
  a second coordinator approves (never the requester), any coordinator releases with a reason.
Input errors are 400 with the message naming the problem; state that moved on is 409.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.api import PERMISSIONS, READ, WRITE
from intake.api_errors import AUTHENTICATED, documented_errors
from intake.jsonlimits import BoundedJSONParser
from intake.models import Role
from intake.ratelimits import enforce
from intake.selectors import submission_get_for, submission_get_owned
from intake.uploads import install_artifact_upload_handlers
from intake.vault.dispute_hold_selectors import (case_disputes, case_legal_holds, dispute_get_for_coordinator,
                                                 legal_hold_get_for_coordinator)
from intake.vault.disputes import dispute_decide, dispute_view_for_coordinator
from intake.vault.models import DisputeOutcome, DisputeTarget, LegalHold
from intake.vault.retention import legal_hold_approve, legal_hold_release, legal_hold_request
from reviews.coordinator_visibility import coordinator_case_for
from reviews.dispute_targets import dispute_raise

REVIEWS = "reviews"
LIST_OF_OBJECTS = {"type": "array", "items": {"type": "object"}}
CHANGE = documented_errors(*AUTHENTICATED, 400, 404, 409, 413)


def _require_coordinator(request: Request) -> None:
    if request.user.role != Role.COORDINATOR:
        raise PermissionDenied("Only coordinators may use this endpoint.")


class DisputeOpenIn(serializers.Serializer):
    target = serializers.ChoiceField(choices=DisputeTarget.values, default=DisputeTarget.REPORT,
                                     help_text="What the dispute is against: another case's report (builders), or "
                                               "a similarity link of this case (coordinators).")
    target_id = serializers.CharField(max_length=64, help_text="The report id, or the similarity link id.")
    statement = serializers.CharField(min_length=20, max_length=10_000)
    evidence = serializers.FileField(required=False, help_text="Optional evidence file (multipart only).")


class DisputeDecideIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=DisputeOutcome.values)
    decision = serializers.CharField(min_length=20, max_length=20_000)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(min_length=10, max_length=5000)


class LegalHoldOut(serializers.ModelSerializer):
    case = serializers.CharField(source="submission.reference")
    status = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by.email")
    approved_by = serializers.CharField(source="approved_by.email", default=None, allow_null=True)
    released_by = serializers.CharField(source="released_by.email", default=None, allow_null=True)

    class Meta:
        model = LegalHold
        fields = ["id", "case", "status", "reason", "requested_by", "requested_at", "approved_by", "approved_at",
                  "released_by", "released_at", "release_reason"]

    def get_status(self, hold: LegalHold) -> str:
        if hold.released_at:
            return "released"
        return "approved" if hold.approved_at else "awaiting_approval"


class CaseDisputesView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser, MultiPartParser]
    required_scopes = {"get": READ, "post": WRITE}

    def initial(self, request: Request, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        if request.method == "POST":  # before anything reads the body: uploads spool encrypted, size-limited
            install_artifact_upload_handlers(request._request, limit=settings.ASSAY_MAX_DISPUTE_EVIDENCE_BYTES)
        super().initial(request, *args, **kwargs)

    @extend_schema(summary="IP disputes of a case, as you may see them",
                   responses={200: LIST_OF_OBJECTS, **documented_errors(*AUTHENTICATED, 404)})
    def get(self, request: Request, pk: str) -> Response:
        return Response(case_disputes(request.user, submission_get_for(request.user, pk)))

    @extend_schema(summary="Open an IP dispute about your case (JSON, or multipart with an evidence file)",
                   request={"application/json": DisputeOpenIn, "multipart/form-data": DisputeOpenIn},
                   responses={201: LIST_OF_OBJECTS, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        enforce(request._request, "dispute-open")
        if request.user.role == Role.COORDINATOR:
            submission = coordinator_case_for(request.user, pk)
        else:
            submission = submission_get_owned(request.user, pk)
        body = DisputeOpenIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = data.get("evidence")
        try:
            dispute_raise(claimant_case=submission, actor=request.user, target_kind=data["target"],
                          target_ref=data["target_id"], statement=data["statement"], evidence_file=upload,
                          evidence_name=upload.name if upload else "")
        finally:
            if upload:
                upload.close()
        return Response(case_disputes(request.user, submission), status=status.HTTP_201_CREATED)


class DisputeDecideView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    required_scopes = {"post": REVIEWS}

    @extend_schema(summary="Uphold or dismiss an IP dispute, with a written reason (coordinators)",
                   request=DisputeDecideIn, responses={200: {"type": "object"}, **CHANGE})
    def post(self, request: Request, dispute_pk: str) -> Response:
        _require_coordinator(request)
        dispute = dispute_get_for_coordinator(request.user, dispute_pk)
        body = DisputeDecideIn(data=request.data)
        body.is_valid(raise_exception=True)
        dispute = dispute_decide(dispute=dispute, actor=request.user, **body.validated_data)
        return Response(dispute_view_for_coordinator(dispute, dispute.claimant_case))


class CaseLegalHoldsView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    required_scopes = {"get": REVIEWS, "post": REVIEWS}

    def _case(self, request: Request, pk: str):  # noqa: ANN202
        _require_coordinator(request)
        return coordinator_case_for(request.user, pk)

    @extend_schema(summary="Legal holds of a case (coordinators)",
                   responses={200: LegalHoldOut(many=True), **documented_errors(*AUTHENTICATED, 404)})
    def get(self, request: Request, pk: str) -> Response:
        return Response(LegalHoldOut(case_legal_holds(request.user, self._case(request, pk)), many=True).data)

    @extend_schema(summary="Request a legal hold; a second coordinator must approve it", request=ReasonIn,
                   responses={201: LegalHoldOut, **CHANGE})
    def post(self, request: Request, pk: str) -> Response:
        submission = self._case(request, pk)
        body = ReasonIn(data=request.data)
        body.is_valid(raise_exception=True)
        hold = legal_hold_request(submission=submission, actor=request.user, reason=body.validated_data["reason"])
        return Response(LegalHoldOut(hold).data, status=status.HTTP_201_CREATED)


class LegalHoldApproveView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    required_scopes = {"post": REVIEWS}

    @extend_schema(summary="Approve a legal hold (a coordinator other than the requester)", request=None,
                   responses={200: LegalHoldOut, **documented_errors(*AUTHENTICATED, 404, 409)})
    def post(self, request: Request, hold_pk: int) -> Response:
        _require_coordinator(request)
        hold = legal_hold_approve(hold=legal_hold_get_for_coordinator(request.user, hold_pk), actor=request.user)
        return Response(LegalHoldOut(hold).data)


class LegalHoldReleaseView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    required_scopes = {"post": REVIEWS}

    @extend_schema(summary="Release a legal hold (or withdraw a request), with a reason", request=ReasonIn,
                   responses={200: LegalHoldOut, **CHANGE})
    def post(self, request: Request, hold_pk: int) -> Response:
        _require_coordinator(request)
        hold = legal_hold_get_for_coordinator(request.user, hold_pk)
        body = ReasonIn(data=request.data)
        body.is_valid(raise_exception=True)
        hold = legal_hold_release(hold=hold, actor=request.user, reason=body.validated_data["reason"])
        return Response(LegalHoldOut(hold).data)
