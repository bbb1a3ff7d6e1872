"""Deeply nested JSON is refused with a clear 400 / validation error / exit 2 everywhere it enters.

Bug class: Python's JSON parser and jsonschema recurse once per nesting level, so a body of 100,000 ``[`` exhausts
the interpreter's recursion: a 500 in the API, a crash of the sandboxed analysis ("sandboxed analysis failed").
"""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from intake.errors import ValidationFailed
from intake.forms import ManifestForm
from intake.jsonlimits import MAX_JSON_DEPTH, TooDeep, bounded_loads, json_depth
from intake.manifest import manifest_parse
from tests.factories import VALID_MANIFEST, make_draft, make_token
from triage.sandbox import backend_works


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_is_measured_without_recursion():
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [{"b": 1}]}) == 3
    assert json_depth(bounded_loads(_nested(MAX_JSON_DEPTH))) == MAX_JSON_DEPTH
    with pytest.raises(TooDeep):
        bounded_loads(_nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(TooDeep):
        bounded_loads(_nested(100_000))  # past the interpreter's own limit: still TooDeep, not RecursionError


@pytest.mark.django_db
def test_an_api_body_nested_100000_deep_is_a_400_and_changes_nothing(builder):  # noqa: ANN001
    submission = make_draft(builder)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(builder, scopes=('submissions:write',))}")
    response = client.patch(f"/api/v1/submissions/{submission.pk}/", data=_nested(100_000),
                            content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "malformed", "message": "JSON parse error - nested deeper than 64 levels"}
    deep_manifest = json.loads(json.dumps({"manifest": {**VALID_MANIFEST, "x": json.loads(_nested(200))}}))
    response = client.patch(f"/api/v1/submissions/{submission.pk}/", deep_manifest, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "JSON parse error - JSON nested deeper than 64 levels"
    submission.refresh_from_db()
    assert submission.manifest == VALID_MANIFEST


def test_a_manifest_nested_5000_deep_is_a_validation_error():
    with pytest.raises(ValidationFailed, match="manifest is JSON nested deeper than 64 levels"):
        manifest_parse('{"harness": ' + _nested(5000) + "}")
    deep = {"harness": {}}
    for _ in range(100):
        deep = {"x": deep}
    with pytest.raises(ValidationFailed, match="nested deeper than 64"):
        manifest_parse(deep)


def test_the_portal_manifest_field_names_the_depth_problem():
    form = ManifestForm(data={"manifest": '{"harness": ' + _nested(5000) + "}"})
    assert not form.is_valid()
    assert form.errors["manifest"] == ["The manifest is JSON nested deeper than 64 levels."]


@pytest.mark.django_db
def test_triage_path_refuses_a_manifest_nested_5000_deep_with_exit_2(tmp_path, settings, capsys):  # noqa: ANN001
    if not backend_works("bubblewrap"):
        pytest.skip("bubblewrap is not usable here")
    settings.ASSAY_SANDBOX = "bubblewrap"
    (tmp_path / "assay-manifest.json").write_text('{"harness": ' + _nested(5000) + "}")
    (tmp_path / "CLAUDE.md").write_text("# notes\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command("triage_path", str(tmp_path))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == "assay-manifest.json is JSON nested too deeply"
