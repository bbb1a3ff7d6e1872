"""/api/v1/ endpoints for what a case produces: triage results, reports, retention and receipts, aggregates.

Thin: each fetches through a selector (404 for cases the caller cannot see), calls one service, serialises.
Report verification and aggregates are public, like their portal pages.
"""

from __future__ import annotations


from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.api import PERMISSIONS, READ, WRITE
from intake.api_errors import AUTHENTICATED, documented_errors
from intake.errors import ValidationFailed
from intake.jsonlimits import BoundedJSONParser
from intake.ratelimits import enforce
from intake.selectors import submission_get_for, submission_get_owned
from reviews.models import AggregateRelease, Report
from reviews.report_pdf import MAX_REPORT_BYTES
from reviews.reports import report_pdf_response, report_verify

REPORTS = "reports:read"
COMMON = (*AUTHENTICATED, 404)

# Some answers are JSON arrays of objects (not paginated); the schema must say so.
LIST_OF_OBJECTS = {"type": "array", "items": {"type": "object"}}


class TriageResultView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": READ}

    @extend_schema(summary="Latest triage result of a case (the triage_path JSON shape; ?as=sarif for SARIF 2.1.0)",
                   responses={200: OpenApiTypes.OBJECT, **documented_errors(*COMMON)})
    def get(self, request: Request, pk: str) -> Response:
        from triage.sarif import sarif_document
        from triage.selectors import (contract_document, findings_outside_scope, latest_triage_result,
                                      no_triage_result_message)

        submission = submission_get_for(request.user, pk)
        result = latest_triage_result(submission)
        if result is None:
            raise Http404(no_triage_result_message(submission))
        document = contract_document(result)
        if request.query_params.get("as") == "sarif":
            return Response(sarif_document(document))
        outside = findings_outside_scope(result, submission)
        duplicate = result.duplicate_of
        return Response({**document, "tree_digest": result.tree_digest,
                         # issue 15: an exact duplicate names the earlier case whose next steps apply
                         "duplicate_of": ({"id": str(duplicate.pk), "reference": duplicate.reference}
                                          if duplicate is not None and duplicate.owner_id == submission.owner_id
                                          else None),
                         "outside_claim_scope": {"counts": outside["counts"], "findings": [
            {k: f.get(k) for k in ("check", "severity", "path", "line")} for f in outside["findings"]]}})


def _report_summary(report: Report) -> dict:
    return {"id": str(report.pk), "kind": report.kind, "config_digest": report.config_digest,
            "issued_at": report.issued_at, "expires_at": report.expires_at, "revoked_at": report.revoked_at,
            "revoke_reason": report.revoke_reason, "statement_sha256": report.statement_sha256,
            "log_index": report.log_index}


class CaseReportsView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": REPORTS}

    @extend_schema(summary="Reports issued for a case", responses={200: LIST_OF_OBJECTS, **documented_errors(*COMMON)})
    def get(self, request: Request, pk: str) -> Response:
        submission = submission_get_for(request.user, pk)
        return Response([_report_summary(r) for r in submission.reports.order_by("-issued_at")])


class ReportPdfView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": REPORTS}

    @extend_schema(summary="Download a report's signed PDF", responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                                                                       **documented_errors(*COMMON)})
    def get(self, request: Request, pk: str, report_pk: str) -> FileResponse:
        submission = submission_get_for(request.user, pk)
        report = Report.objects.filter(pk=report_pk, submission=submission).first()
        if report is None:
            raise Http404("No such report.")
        return report_pdf_response(report)


class VerifyInput(serializers.Serializer):
    report = serializers.FileField(required=False, help_text="the report PDF")
    report_id = serializers.UUIDField(required=False)


class ReportVerifyView(APIView):
    """Anyone may verify a report, as on /verify/."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    parser_classes = [MultiPartParser, BoundedJSONParser]

    @extend_schema(summary="Verify a report (upload the PDF or give its id)", request=VerifyInput,
                   responses={200: OpenApiTypes.OBJECT, **documented_errors(400, 404, 413, 429)})
    def post(self, request: Request) -> Response:
        enforce(request._request, "verify")
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        if "report" in data.validated_data:
            upload = data.validated_data["report"]
            if upload.size > MAX_REPORT_BYTES:
                from intake.errors import TooLarge

                raise TooLarge("that file is larger than any Assay report")
            pdf = upload.read()
        elif "report_id" in data.validated_data:
            report = Report.objects.filter(pk=data.validated_data["report_id"]).first()
            if report is None:
                raise Http404("No report with that id was issued here.")
            pdf = bytes(report.pdf)
        else:
            raise ValidationFailed("send the report PDF as 'report' or its id as 'report_id'")
        result = report_verify(pdf)
        verdict, verdict_label = result.verdict or (None, None)
        return Response({"verdict": verdict, "verdict_label": verdict_label, "status": result.status,
                         "valid": result.ok, "message": result.message, "statement": result.statement})


class RetentionView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": READ}

    @extend_schema(summary="Retention of a case: when it ends, what suspends it, its deletion receipt",
                   responses={200: OpenApiTypes.OBJECT, **documented_errors(*COMMON)})
    def get(self, request: Request, pk: str) -> Response:
        from intake.vault.retention import retention_summary

        return Response(retention_summary(submission_get_for(request.user, pk)))


class DeleteInput(serializers.Serializer):
    confirm_reference = serializers.CharField(help_text="the case reference, to confirm")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CaseDeleteView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"post": WRITE}

    @extend_schema(summary="Withdraw and crypto-shred a case now; returns the signed deletion receipt",
                   request=DeleteInput,
                   responses={200: OpenApiTypes.OBJECT, **documented_errors(400, *COMMON, 409, 413)})
    def post(self, request: Request, pk: str) -> Response:
        from intake.vault.shredding import case_delete_by_builder

        submission = submission_get_owned(request.user, pk)
        data = DeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["confirm_reference"] != submission.reference:
            raise ValidationFailed("confirm_reference must be the case's reference")
        receipt = case_delete_by_builder(submission=submission, actor=request.user,
                                         reason=data.validated_data.get("reason", ""))
        return Response(receipt.document)


class ReceiptsView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"get": READ}

    @extend_schema(summary="Signed deletion receipts of a case", responses={200: LIST_OF_OBJECTS,
                                                                            **documented_errors(*COMMON)})
    def get(self, request: Request, pk: str) -> Response:
        submission = submission_get_owned(request.user, pk)
        return Response([r.document for r in submission.deletion_receipts.all()])


class AggregatesView(APIView):
    """Published aggregate releases are public."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(summary="Published aggregate releases (signed statements)", responses={200: LIST_OF_OBJECTS})
    def get(self, request: Request) -> Response:
        releases = AggregateRelease.objects.order_by("-created_at")[:100]
        return Response([{"id": r.pk, "statement": r.statement, "key_id": r.key_id, "signature": r.signature,
                          "log_index": r.log_index, "statement_sha256": r.statement_sha256}
                         for r in releases])


class RevokeInput(serializers.Serializer):
    reason = serializers.CharField(min_length=10, max_length=500)


class ReportRevokeView(APIView):
    permission_classes = PERMISSIONS
    required_scopes = {"post": "reviews"}

    @extend_schema(summary="Revoke a report (coordinators)", request=RevokeInput,
                   responses={200: OpenApiTypes.OBJECT, **documented_errors(400, *COMMON, 413)})
    def post(self, request: Request, report_pk: str) -> Response:
        from django.core.exceptions import PermissionDenied

        from intake.models import Role
        from reviews.reports import report_revoke

        if request.user.role != Role.COORDINATOR:
            raise PermissionDenied("Only coordinators revoke reports.")
        report = Report.objects.filter(pk=report_pk).first()
        if report is None:
            raise Http404("No such report.")
        data = RevokeInput(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_report_summary(report_revoke(report=report, actor=request.user,
                                                      reason=data.validated_data["reason"])))
