"""OpenAPI 3 at /api/schema/ and interactive docs at /api/docs/ that work under our CSP."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


EXPECTED_OPERATIONS = {
    ("/api/v1/submissions/", "get"), ("/api/v1/submissions/", "post"),
    ("/api/v1/submissions/{id}/", "get"), ("/api/v1/submissions/{id}/", "patch"),
    ("/api/v1/submissions/{id}/submit/", "post"), ("/api/v1/submissions/{id}/withdraw/", "post"),
    ("/api/v1/submissions/{id}/status/", "get"), ("/api/v1/submissions/{id}/readiness/", "get"),
    ("/api/v1/submissions/{id}/redaction/confirm/", "post"), ("/api/v1/submissions/{id}/terms/", "post"),
    ("/api/v1/submissions/{id}/artifacts/", "get"), ("/api/v1/submissions/{id}/artifacts/", "post"),
    ("/api/v1/submissions/{id}/artifacts/{artifact_id}/", "delete"), ("/api/v1/terms/current/", "get"),
}


def test_the_schema_lists_every_builder_endpoint():
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item
                  if method in ("get", "post", "patch", "put", "delete")}
    assert EXPECTED_OPERATIONS <= operations, sorted(EXPECTED_OPERATIONS - operations)  # later issues add more
    assert schema["components"]["securitySchemes"]["personalToken"]["scheme"] == "bearer"
    upload = schema["paths"]["/api/v1/submissions/{id}/artifacts/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "404", "409", "413", "429"} <= set(upload["responses"])


def test_the_schema_generates_without_warnings(tmp_path):  # noqa: ANN001
    # --fail-on-warn turns any warning (e.g. an endpoint the generator had to guess at) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/submissions/{id}/submit/" in (tmp_path / "schema.yaml").read_text()


def test_the_docs_page_loads_only_same_origin_scripts_with_no_inline_code():
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<style" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert len(scripts) == 3
    assert all(body.strip() == "" for _attrs, body in scripts)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _body in scripts]
    assert all(src.startswith("/") and not src.startswith("//") for src in sources)
    for src in sources:
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert "javascript" in asset["Content-Type"], src
    init_script = client.get(sources[-1]).content.decode()  # the view-rendered Swagger init, not a static file
    assert '"/api/schema/"' in init_script
