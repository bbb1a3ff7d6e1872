"""/api/v1/ for builders: thin endpoints over intake.services and intake.selectors.

Each endpoint parses input, fetches the case through a selector (404 for a
case the caller cannot see, never 403, so ids are not confirmed), calls one
service and serialises the result. Errors take the contract's shape via
intake.api_errors.
"""

from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake import services
from intake.api_auth import MfaSatisfied, TokenScopes
from intake.api_errors import AUTHENTICATED, documented_errors
from intake.jsonlimits import BoundedJSONParser
from intake.lifecycle import submission_acknowledge_report
from intake.models import Submission
from intake.ratelimits import enforce
from intake.selectors import (current_terms, submission_get_for, submission_get_owned, submission_timeline,
                              submissions_visible_to)
from intake.next_steps import case_next_steps
from intake.review_requests import review_request_create, review_requests_of
from intake.serializers import (ArtifactOut, ArtifactUploadInput, ConfirmPlaceholdersInput, NextStepsOut,
                                ReadinessOut, ReviewRequestInput, ReviewRequestOut, SubmissionCreateInput,
                                SubmissionFieldsInput, SubmissionOut, SubmissionStatusOut, SubmissionSummaryOut,
                                TermsAcceptanceOut, TermsAcceptInput, TermsOut, WithdrawInput)
from intake.versions import submission_new_version
from intake.uploads import install_artifact_upload_handlers

READ = "submissions:read"
WRITE = "submissions:write"
PERMISSIONS = [IsAuthenticated, MfaSatisfied, TokenScopes]


COMMON = (*AUTHENTICATED, 404)


class SubmissionPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


def _readiness(submission: Submission) -> dict:
    problems = services.submission_readiness(submission)
    findings = services.submission_redaction_findings(submission)
    scope = services.submission_scope_problems(submission) if submission.claim_scope_in else []
    return {"ready": not problems, "problems": problems, "redaction": [f.as_dict() for f in findings],
            "scope": [p.as_dict() for p in scope]}


@extend_schema_view(
    list=extend_schema(summary="List your cases", responses={200: SubmissionSummaryOut(many=True),
                                                             **documented_errors(*AUTHENTICATED)}),
    retrieve=extend_schema(summary="Read one case", responses={200: SubmissionOut, **documented_errors(*COMMON)}),
)
class SubmissionViewSet(viewsets.GenericViewSet):
    """A builder's own cases. Drafts are edited, then submitted (which freezes the configuration digest)."""

    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    queryset = Submission.objects.none()  # for the schema; real reads go through the selectors
    pagination_class = SubmissionPagination
    serializer_class = SubmissionOut
    required_scopes = {
        "list": READ, "retrieve": READ, "status": READ, "readiness": READ, "artifacts": READ,
        "create": WRITE, "partial_update": WRITE, "submit": WRITE, "withdraw": WRITE, "accept_terms": WRITE,
        "acknowledge": WRITE,
        "upload": WRITE, "remove_artifact": WRITE, "confirm_placeholders": WRITE,
        "next_steps": READ, "review_requests": READ, "request_review": WRITE, "new_version": WRITE,
    }

    def get_queryset(self):  # noqa: ANN201
        return submissions_visible_to(self.request.user)

    def _owned(self, pk: str) -> Submission:
        return submission_get_owned(self.request.user, pk)

    def _full(self, submission: Submission) -> Response:
        fresh = (submissions_visible_to(self.request.user)
                 .prefetch_related("artifacts", "terms_acceptances__terms").get(pk=submission.pk))
        return Response(SubmissionOut(fresh).data)

    def list(self, request: Request) -> Response:
        # Only the summary's columns: the manifest and description JSON/text are not read or decoded per row.
        cases = self.get_queryset().only(*SubmissionSummaryOut.Meta.fields).order_by("-created_at")
        page = self.paginate_queryset(cases)
        return self.get_paginated_response(SubmissionSummaryOut(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._full(submission_get_for(request.user, pk))

    @extend_schema(summary="Open a draft case", request=SubmissionCreateInput,
                   responses={201: SubmissionOut, **documented_errors(400, 401, 403, 413, 429)})
    def create(self, request: Request) -> Response:
        enforce(request._request, "submission-create")
        fields = SubmissionCreateInput(data=request.data)
        fields.is_valid(raise_exception=True)
        submission = services.submission_create(owner=request.user, **fields.validated_data)
        response = self._full(submission)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(summary="Change a draft (only the fields sent)", request=SubmissionFieldsInput,
                   responses={200: SubmissionOut, **documented_errors(400, *COMMON, 409, 413)})
    def partial_update(self, request: Request, pk: str) -> Response:
        submission = self._owned(pk)
        fields = SubmissionFieldsInput(data=request.data)
        fields.is_valid(raise_exception=True)
        if not fields.validated_data:
            return self._full(submission)
        return self._full(services.submission_update(submission=submission, actor=request.user,
                                                     **fields.validated_data))

    @extend_schema(summary="Submit a ready draft for triage", request=None,
                   responses={200: SubmissionOut, **documented_errors(400, *COMMON, 409)})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        submission = services.submission_submit(submission=self._owned(pk), actor=request.user)
        return self._full(submission)

    @extend_schema(summary="Withdraw a case", request=WithdrawInput,
                   responses={200: SubmissionOut, **documented_errors(400, *COMMON, 409, 413)})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        submission = self._owned(pk)
        body = WithdrawInput(data=request.data)
        body.is_valid(raise_exception=True)
        return self._full(services.submission_withdraw(submission=submission, actor=request.user,
                                                       reason=body.validated_data["reason"]))

    @extend_schema(summary="Acknowledge the report of a reported case, which closes it (its retention then runs)",
                   request=None, responses={200: SubmissionOut, **documented_errors(*COMMON, 409)})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        return self._full(submission_acknowledge_report(submission=self._owned(pk), actor=request.user))

    @extend_schema(summary="Current state and timeline",
                   responses={200: SubmissionStatusOut, **documented_errors(*COMMON)})
    @action(detail=True, methods=["get"])
    def status(self, request: Request, pk: str) -> Response:
        submission = submission_get_for(request.user, pk)
        return Response(SubmissionStatusOut({
            "id": submission.pk, "reference": submission.reference, "state": submission.state,
            "state_changed_at": submission.state_changed_at, "submitted_at": submission.submitted_at,
            "config_digest": submission.config_digest, "timeline": submission_timeline(submission),
        }).data)

    @extend_schema(summary="What still blocks submission, and open redaction findings",
                   responses={200: ReadinessOut, **documented_errors(*COMMON)})
    @action(detail=True, methods=["get"])
    def readiness(self, request: Request, pk: str) -> Response:
        return Response(ReadinessOut(_readiness(submission_get_for(request.user, pk))).data)

    @extend_schema(summary="Confirm redaction findings are placeholders", request=ConfirmPlaceholdersInput,
                   responses={200: ReadinessOut, **documented_errors(400, *COMMON, 409, 413)})
    @action(detail=True, methods=["post"], url_path="redaction/confirm")
    def confirm_placeholders(self, request: Request, pk: str) -> Response:
        submission = self._owned(pk)
        body = ConfirmPlaceholdersInput(data=request.data)
        body.is_valid(raise_exception=True)
        submission = services.submission_confirm_placeholders(submission=submission, actor=request.user,
                                                              fingerprints=body.validated_data["fingerprints"])
        return Response(ReadinessOut(_readiness(submission)).data)

    @extend_schema(summary="Accept the current terms for this case", request=TermsAcceptInput,
                   responses={200: TermsAcceptanceOut, **documented_errors(400, *COMMON, 409, 413)})
    @action(detail=True, methods=["post"], url_path="terms")
    def accept_terms(self, request: Request, pk: str) -> Response:
        submission = self._owned(pk)
        body = TermsAcceptInput(data=request.data)
        body.is_valid(raise_exception=True)
        acceptance = services.terms_accept_version(submission=submission, actor=request.user,
                                                   version=body.validated_data["version"])
        return Response(TermsAcceptanceOut(acceptance).data)

    @extend_schema(summary="List a case's artifacts",
                   responses={200: ArtifactOut(many=True), **documented_errors(*COMMON)})
    @action(detail=True, methods=["get"], parser_classes=[MultiPartParser], pagination_class=None)
    def artifacts(self, request: Request, pk: str) -> Response:
        submission = submission_get_for(request.user, pk)
        return Response(ArtifactOut(submission.artifacts.all(), many=True).data)

    def initial(self, request: Request, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        # Before authentication: a session login's CSRF check may read the body, and
        # the size limit must already be in force when anything reads it.
        if getattr(self, "action", None) == "upload":
            install_artifact_upload_handlers(request._request)
        super().initial(request, *args, **kwargs)

    @extend_schema(summary="Upload an artifact to a draft (multipart)", request={"multipart/form-data":
                   ArtifactUploadInput}, responses={201: ArtifactOut, **documented_errors(400, *COMMON, 409, 413)})
    @artifacts.mapping.post
    def upload(self, request: Request, pk: str) -> Response:
        enforce(request._request, "upload")
        submission = self._owned(pk)
        body = ArtifactUploadInput(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        try:
            artifact = services.artifact_add(submission=submission, actor=request.user, name=upload.name,
                                             stream=upload, kind=body.validated_data["kind"],
                                             content_type=upload.content_type or "")
        finally:
            upload.close()
        return Response(ArtifactOut(artifact).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Remove an artifact from a draft", request=None,
                   parameters=[OpenApiParameter("artifact_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses={204: None, **documented_errors(*COMMON, 409)})
    @action(detail=True, methods=["delete"], url_path=r"artifacts/(?P<artifact_id>[^/.]+)")
    def remove_artifact(self, request: Request, pk: str, artifact_id: str) -> Response:
        submission = self._owned(pk)
        try:
            artifact = submission.artifacts.filter(pk=uuid.UUID(artifact_id)).first()
        except ValueError:
            artifact = None
        if artifact is None:
            raise Http404("No such artifact.")
        services.artifact_remove(artifact=artifact, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)




    # --- after an outcome (issue 15): request human review, or submit a new configuration version ----------

    @extend_schema(summary="What you can do next on a case: its versions, review requests and available actions",
                   responses={200: NextStepsOut, **documented_errors(*COMMON)})
    @action(detail=True, methods=["get"], url_path="next-steps")
    def next_steps(self, request: Request, pk: str) -> Response:
        submission = submission_get_for(request.user, pk)
        steps = case_next_steps(request.user, submission)
        return Response(NextStepsOut({
            "state": submission.state, "versions": steps.versions, "review_requests": steps.requests,
            "can_request_review": steps.can_request_review, "review_request_refusal": steps.review_refusal,
            "can_submit_new_version": steps.can_new_version, "new_version_refusal": steps.version_refusal,
            "next_version": steps.next_version}).data)

    @extend_schema(summary="Requests for human review of this case", responses={200: ReviewRequestOut(many=True),
                                                                                **documented_errors(*COMMON)})
    @action(detail=True, methods=["get"], url_path="review-requests", pagination_class=None)
    def review_requests(self, request: Request, pk: str) -> Response:
        return Response(ReviewRequestOut(review_requests_of(submission_get_for(request.user, pk)), many=True).data)

    @extend_schema(summary="Request human review of a guidance or reject outcome (a coordinator accepts or "
                           "declines with a reason; rate-limited; a pending request counts as an open case)",
                   request=ReviewRequestInput,
                   responses={201: ReviewRequestOut, **documented_errors(400, *COMMON, 409, 413)})
    @review_requests.mapping.post
    def request_review(self, request: Request, pk: str) -> Response:
        enforce(request._request, "review-request")
        submission = self._owned(pk)
        body = ReviewRequestInput(data=request.data)
        body.is_valid(raise_exception=True)
        created = review_request_create(submission=submission, actor=request.user,
                                        justification=body.validated_data["justification"])
        return Response(ReviewRequestOut(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Start the next configuration version of a case after a guidance or reject outcome: a "
                           "draft pre-filled with its claim, scope and terms choices, to which you upload the new "
                           "configuration", request=None,
                   responses={201: SubmissionOut, **documented_errors(*COMMON, 409)})
    @action(detail=True, methods=["post"], url_path="versions")
    def new_version(self, request: Request, pk: str) -> Response:
        enforce(request._request, "submission-create")
        draft = submission_new_version(previous=self._owned(pk), actor=request.user)
        response = self._full(draft)
        response.status_code = status.HTTP_201_CREATED
        return response


class CurrentTermsView(APIView):
    """The terms a builder must accept now. Readable by any signed-in account."""

    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    required_scopes = {"get": READ}

    @extend_schema(summary="Current terms", responses={200: TermsOut, **documented_errors(401, 403, 404, 429)})
    def get(self, request: Request) -> Response:
        terms = current_terms()
        if terms is None:
            raise Http404("No terms are published yet.")
        return Response(TermsOut(terms).data)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI whose page, init script and assets all come from this origin (CSP: script-src 'self')."""

    template_name = "api/swagger_ui.html"
