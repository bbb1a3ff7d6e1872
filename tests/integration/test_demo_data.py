"""`make run`'s demo: a case at every stop of the route, made through the real services and sandboxed triage."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from intake.models import Submission, User
from intake.states import State
from reviews.demo import ESCALATED_TITLE, GUIDANCE_TITLE, SUBMITTED_TITLE
from reviews.models import AggregateRelease, Report

pytestmark = pytest.mark.django_db


def test_the_demo_holds_every_stop_of_the_route_and_loading_it_twice_changes_nothing() -> None:
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo_route", stdout=io.StringIO())
    by_title = {case.title: case for case in Submission.objects.all()}
    assert by_title[ESCALATED_TITLE].state == State.AWAITING_CONSENT  # triage escalated it, on its findings
    assert by_title[GUIDANCE_TITLE].state == State.CLOSED
    assessed = Report.objects.filter(kind=Report.Kind.ASSESSMENT).select_related("submission").get()
    assert assessed.submission.state == State.REPORTED
    assert AggregateRelease.objects.filter(dataset="findings").count() == 1
    submitted = by_title[SUBMITTED_TITLE]
    assert submitted.state == State.SUBMITTED and submitted.config_digest  # submitted for real: digest frozen
    owners = {case.owner.email for case in by_title.values()}
    assert len({email.rsplit("@", 1)[1] for email in owners}) == len(owners)  # distinct organisations
    counts = (Submission.objects.count(), Report.objects.count(), User.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    call_command("load_demo_route", stdout=io.StringIO())
    assert (Submission.objects.count(), Report.objects.count(), User.objects.count()) == counts
