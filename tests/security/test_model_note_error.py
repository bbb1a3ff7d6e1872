"""``ModelNote.error`` stays outside the case key because it can only hold the platform's own words.

The note itself is sealed under the case key (crypto-shredding makes it unreadable); ``error`` is a plain column
kept for operators. That is safe only while no failure path copies the model's answer, the endpoint's error body
or the submission into it. Here a model echoes a canary taken from the submission in every way it can fail, and
the stored error is checked against the closed set of messages model_note writes. Fails if a failure path starts
storing ``str(exc)`` of an exception that carries the answer (a JSON decode error, an HTTPError body) or the
answer itself — then ``error`` must become a sealed field (intake/vault/sealed_fields.py) with a migration.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from intake.states import State, transition
from tests.factories import make_draft
from triage.model_note import MAX_RESPONSE_BYTES, NoteEndpoint, model_note_write
from triage.models import ModelNote, TriageResult

CANARY = "CANARY-7f3c-submitted-secret"
PLATFORM_ERRORS = {
    "answer was not JSON matching the note schema", "endpoint answer too large", "endpoint did not answer JSON",
    "unexpected OpenAI-style answer", "unexpected Anthropic-style answer",
}


class EchoingModel(BaseHTTPRequestHandler):
    status = 200
    body = b""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(EchoingModel.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(EchoingModel.body)))
        self.end_headers()
        self.wfile.write(EchoingModel.body)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def echoing_model():  # noqa: ANN201
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _answer(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


FAILURES = {
    "prose instead of JSON": (200, _answer(f"Sure. The secret is {CANARY}.")),
    "JSON outside the schema": (200, _answer(json.dumps({"summary": CANARY, "unexpected": CANARY}))),
    "not JSON at all": (200, f"<html>{CANARY}</html>".encode()),
    "JSON of the wrong shape": (200, json.dumps({"error": {"message": CANARY}}).encode()),
    "an HTTP error whose body echoes the input": (500, json.dumps({"error": f"bad input near {CANARY}"}).encode()),
    "an answer over the size limit": (200, _answer(CANARY * (MAX_RESPONSE_BYTES // len(CANARY) + 1))),
}


@pytest.mark.django_db
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_note_stores_only_platform_words(failure, echoing_model, builder):  # noqa: ANN001
    case = make_draft(builder)
    case.description = f"Our agent; internal codename {CANARY}."
    case.save()
    for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED):
        case = transition(case, state, actor=None)
    result = TriageResult.objects.create(submission=case, policy_version="test-1", sandbox="none",
                                         config_digest="sha256:" + "0" * 64, findings=[], score=0,
                                         decision="guidance", reasons=[])
    EchoingModel.status, EchoingModel.body = FAILURES[failure]
    note = model_note_write(result=result, endpoint=NoteEndpoint(url=echoing_model, api="openai", model="fake",
                                                                 key="", timeout=5))
    assert note.status in (ModelNote.Status.INVALID, ModelNote.Status.FAILED)
    assert CANARY not in note.error
    assert note.error in PLATFORM_ERRORS or note.error.startswith("endpoint failed: "), note.error
    if note.error.startswith("endpoint failed: "):
        assert note.error.removeprefix("endpoint failed: ").isidentifier()  # an exception class name, nothing else
