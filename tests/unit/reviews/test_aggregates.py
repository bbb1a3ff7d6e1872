"""Aggregates: thresholds, privacy budget, opt-in only, differencing bound, signed and logged releases."""

from __future__ import annotations

import base64
import math
from collections import Counter
from datetime import date

import pytest

from intake.models import Submission
from intake.states import State, transition
from reviews.aggregates import (
    BudgetExhausted, CaseContribution, laplace_measurement, release_create, sensitivity_for, true_counts,
)
from reviews.models import TransparencyEntry
from reviews.report_pdf import canonical
from reviews.transparency import keyring
from tests.factories import make_draft, make_user
from triage.models import TriageResult

TODAY = date.today()
FINDING = {"check": "provenance.unpinned-mcp-package", "title": "t", "severity": "medium", "categories": ["provenance"],
           "path": "", "line": None, "evidence": "", "remediation": ""}


def ended_cases(n: int, *, opt_in: bool = True, prefix: str = "b") -> None:
    for i in range(n):
        owner = make_user(f"{prefix}{i}@lab{i}.example")
        submission = make_draft(owner)
        Submission.objects.filter(pk=submission.pk).update(aggregate_opt_in=opt_in, config_digest="sha256:" + "a" * 64)
        submission.refresh_from_db()
        for state in (State.SUBMITTED, State.TRIAGING, State.TRIAGED, State.CLOSED):
            submission = transition(submission, state, actor=None)
        TriageResult.objects.create(submission=submission, policy_version="t", sandbox="none",
                                    config_digest=submission.config_digest, score=10, decision="guidance",
                                    reasons=[], findings=[FINDING])


@pytest.fixture(autouse=True)
def _signing_key(settings, tmp_path):  # noqa: ANN001
    settings.ASSAY_SIGNING_KEY = str(tmp_path / "keys" / "signing.pem")
    settings.ASSAY_PRIVACY_BUDGET = 2.0


@pytest.mark.django_db
def test_no_released_cell_comes_from_fewer_than_the_threshold(coordinator):  # noqa: ANN001
    ended_cases(4)
    release = release_create(dataset="findings", period_start=TODAY, period_end=TODAY, epsilon=1.0,
                             actor=coordinator, threshold=10)
    assert release.cells and all(cell["suppressed"] and cell["count"] is None for cell in release.cells)


@pytest.mark.django_db
def test_opted_out_cases_are_never_counted():
    ended_cases(3, opt_in=False, prefix="out")
    ended_cases(2, opt_in=True, prefix="in")
    from reviews.aggregates import contributions

    assert len(contributions(period_start=TODAY, period_end=TODAY)) == 2


@pytest.mark.django_db
def test_budget_is_tracked_and_exhaustion_refuses(coordinator):  # noqa: ANN001
    release_create(dataset="findings", period_start=TODAY, period_end=TODAY, epsilon=1.5, actor=coordinator)
    with pytest.raises(BudgetExhausted, match="this release needs 1.0"):
        release_create(dataset="findings", period_start=TODAY, period_end=TODAY, epsilon=1.0, actor=coordinator)
    # Another dataset has its own budget.
    assert release_create(dataset="other", period_start=TODAY, period_end=TODAY, epsilon=1.0, actor=coordinator)


@pytest.mark.django_db
def test_release_is_signed_logged_and_immutably_versioned(coordinator, client):  # noqa: ANN001
    ended_cases(12)
    release = release_create(dataset="findings", period_start=TODAY, period_end=TODAY, epsilon=0.5,
                             actor=coordinator, threshold=10)
    keys = {k.key_id: k for k in keyring().published_keys()}
    keys[release.key_id].public_key.verify(base64.b64decode(release.signature), canonical(release.statement))
    assert TransparencyEntry.objects.get(index=release.log_index).kind == "aggregate_release"
    assert release.statement["privacy"]["l1_sensitivity"] == sensitivity_for(["category", "claim_property",
                                                                              "decision"])
    assert client.get("/aggregates/").status_code == 200
    csv_text = client.get(f"/aggregates/{release.pk}.csv").content.decode()
    assert csv_text.splitlines()[0].startswith("dataset,version,period_start")
    assert client.get(f"/aggregates/{release.pk}.json").json()["statement"]["version"] == 1


def test_differencing_two_neighbouring_datasets_stays_within_the_privacy_bound():
    """Releases of datasets differing in one case are distributed within a factor e^epsilon of each other."""
    epsilon, dims = 1.0, ["claim_property", "decision"]
    base = [CaseContribution(frozenset(), frozenset(), "no-exfiltration", "guidance")] * 3
    neighbour = [*base, CaseContribution(frozenset(), frozenset(), "no-exfiltration", "guidance")]
    sensitivity = sensitivity_for(dims)
    measurement = laplace_measurement(epsilon=epsilon, sensitivity=sensitivity)
    assert measurement.map(sensitivity) <= epsilon + 1e-9
    index = [f"{d}:{v}" for d, v, _ in true_counts(base, dims)].index("claim_property:no-exfiltration")
    runs = 4000
    a = Counter(measurement([c for *_, c in true_counts(base, dims)])[index] for _ in range(runs))
    b = Counter(measurement([c for *_, c in true_counts(neighbour, dims)])[index] for _ in range(runs))
    for value in (2, 3, 4):  # well-populated outputs near both true counts
        ratio = (a[value] + 1) / (b[value] + 1)
        assert math.exp(-epsilon) * 0.7 <= ratio <= math.exp(epsilon) * 1.3
