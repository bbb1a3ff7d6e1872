"""/api/v1/ for a draft's components: read the stored inventory, or detect it (a sandboxed analysis of the
draft's artifacts and manifest, as the wizard's scope step does). Scope entries are then these ids or globs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from intake.api import COMMON, PERMISSIONS, READ, WRITE
from intake.api_errors import documented_errors
from intake.errors import Unavailable, ValidationFailed
from intake.jsonlimits import BoundedJSONParser
from intake.models import Submission
from intake.ratelimits import enforce
from intake.selectors import submission_get_for, submission_get_owned
from intake.services import submission_inventory, submission_scope_problems
from triage.runner import TriageInputError, TriagePlatformError
from triage.scope_inventory import submission_detect_components


class ComponentOut(serializers.Serializer):
    id = serializers.CharField(help_text="Stable id, <kind>:<name>, e.g. mcp-server:github, tool:github/create_issue, "
                                         "hook:PreToolUse/1, file:.claude/settings.json")
    kind = serializers.CharField(help_text="agent, harness-config, mcp-server, tool, hook, workflow, container, "
                                           "skill or file")
    label = serializers.CharField()
    paths = serializers.ListField(child=serializers.CharField(), help_text="Files the component lives in.")


class ScopeProblemOut(serializers.Serializer):
    entry = serializers.CharField()
    field = serializers.CharField(help_text="claim_scope_in, claim_scope_out, or component_inventory when the "
                                            "components are not detected for the current artifacts")
    message = serializers.CharField()
    suggestions = serializers.ListField(child=serializers.CharField(), help_text="Nearest component ids or globs.")


class ComponentsOut(serializers.Serializer):
    current = serializers.BooleanField(help_text="False until detected, and again after artifacts or the "
                                                 "manifest change.")
    components = ComponentOut(many=True)
    scope_problems = ScopeProblemOut(many=True)


def _document(submission: Submission) -> dict:
    inventory = submission_inventory(submission)
    problems = submission_scope_problems(submission) if submission.is_editable else []
    return {"current": inventory is not None, "components": inventory or [],
            "scope_problems": [p.as_dict() for p in problems]}


class SubmissionComponentsView(APIView):
    """The components a draft's scope can name (claim_scope_in / claim_scope_out take these ids and globs)."""

    permission_classes = PERMISSIONS
    parser_classes = [BoundedJSONParser]
    required_scopes = {"get": READ, "post": WRITE}

    @extend_schema(summary="A case's detected components and its scope problems",
                   responses={200: ComponentsOut, **documented_errors(*COMMON)})
    def get(self, request: Request, pk) -> Response:  # noqa: ANN001
        return Response(ComponentsOut(_document(submission_get_for(request.user, pk))).data)

    @extend_schema(summary="Detect a draft's components (sandboxed analysis of its artifacts and manifest)",
                   request=None, responses={200: ComponentsOut, **documented_errors(400, *COMMON, 409, 503)})
    def post(self, request: Request, pk) -> Response:  # noqa: ANN001
        submission = submission_get_owned(request.user, pk)
        enforce(request._request, "detect-components")
        try:
            submission = submission_detect_components(submission=submission, actor=request.user)
        except TriageInputError as exc:
            raise ValidationFailed(f"components were not detected: {exc}") from None
        except TriagePlatformError:
            raise Unavailable("components could not be detected right now; try again later", retry_after=60) \
                from None
        return Response(ComponentsOut(_document(submission)).data)
