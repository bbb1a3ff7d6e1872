"""Aggregate findings institutions can publish without exposing any one case.

Counts of cases by finding category, OWASP LLM id, claim property and triage
decision over a period, from builders who opted in. Each case changes at most
``sensitivity`` cells by one, so the whole count vector gets discrete Laplace
noise (OpenDP) with scale sensitivity/epsilon. Cells built from fewer than
``threshold`` cases (exact count) or whose noisy count falls below it are
suppressed. Every release spends epsilon from its dataset's budget, is
immutable, signed and appended to the transparency log.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction

from intake.audit import audit_append
from intake.errors import DomainError, ValidationFailed
from intake.models import PropertyKind, Submission
from intake.states import State
from reviews.models import AggregateRelease, PrivacyBudget, TransparencyEntry
from reviews.report_pdf import canonical
from reviews.transparency import keyring, log_append, sth_sign

DEFAULT_THRESHOLD = 10
DEFAULT_BUDGET = 5.0
RELEASED_STATES = (State.CLOSED, State.REPORTED, State.REJECTED, State.SHREDDED)


def _dimension_values() -> dict[str, list[str]]:
    from triage.findings import CATEGORIES
    from triage.taxonomy import OWASP_LLM

    return {
        "category": list(CATEGORIES),
        "owasp_llm": sorted(OWASP_LLM),
        "claim_property": list(PropertyKind.values),
        "decision": ["reject", "guidance", "escalate"],
    }


# Cells one case can touch per dimension: every category or id at most once; one property; one decision.
def sensitivity_for(dimensions: list[str]) -> int:
    values = _dimension_values()
    multi = {"category", "owasp_llm"}
    return sum(len(values[d]) if d in multi else 1 for d in dimensions)


class BudgetExhausted(DomainError):
    code = "privacy_budget_exhausted"
    http_status = 409


@dataclass(frozen=True)
class CaseContribution:
    category: frozenset[str]  # every finding category present
    owasp_llm: frozenset[str]
    claim_property: str
    decision: str


def contributions(*, period_start: date, period_end: date) -> list[CaseContribution]:
    """One contribution per opted-in case that ended in the period; only cases with a triage result count."""
    from triage.models import TriageResult
    from triage.taxonomy import taxonomy_for

    cases = Submission.objects.filter(aggregate_opt_in=True, state__in=RELEASED_STATES,
                                      state_changed_at__date__gte=period_start,
                                      state_changed_at__date__lte=period_end)
    latest: dict = {}
    for result in TriageResult.objects.filter(submission__in=cases).order_by("created_at"):
        latest[result.submission_id] = result
    out = []
    for submission in cases:
        result = latest.get(submission.pk)
        if result is None:
            continue
        checks = [f.get("check", "") for f in result.findings]
        out.append(CaseContribution(
            category=frozenset(c for f in result.findings for c in f.get("categories", [])),
            owasp_llm=frozenset(ref["id"] for check in checks for ref in taxonomy_for(check)["owasp_llm"]),
            claim_property=submission.claim_property or "other",
            decision=result.decision))
    return out


def true_counts(cases: list[CaseContribution], dimensions: list[str]) -> list[tuple[str, str, int]]:
    values = _dimension_values()
    cells = []
    for dimension in dimensions:
        for value in values[dimension]:
            if dimension in ("category", "owasp_llm"):
                count = sum(value in getattr(case, dimension) for case in cases)
            else:
                count = sum(getattr(case, dimension) == value for case in cases)
            cells.append((dimension, value, count))
    return cells


def laplace_measurement(*, epsilon: float, sensitivity: int):  # noqa: ANN201
    import opendp.prelude as dp

    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int),
                                    scale=sensitivity / epsilon)
    if measurement.map(sensitivity) > epsilon * (1 + 1e-9):
        raise RuntimeError("noise calibration does not meet the privacy parameter")
    return measurement


def release_create(*, dataset: str, period_start: date, period_end: date, epsilon: float, actor,  # noqa: ANN001
                   threshold: int = DEFAULT_THRESHOLD, dimensions: list[str] | None = None) -> AggregateRelease:
    dimensions = dimensions or ["category", "claim_property", "decision"]
    unknown = set(dimensions) - set(_dimension_values())
    if unknown:
        raise ValidationFailed(f"unknown dimensions: {', '.join(sorted(unknown))}")
    if not 0 < epsilon <= 5:
        raise ValidationFailed("epsilon must be in (0, 5]")
    if threshold < 1 or period_end < period_start:
        raise ValidationFailed("threshold must be at least 1 and the period must not end before it starts")
    sensitivity = sensitivity_for(dimensions)
    with transaction.atomic():
        budget, _ = PrivacyBudget.objects.get_or_create(
            dataset=dataset, defaults={"epsilon_total": getattr(settings, "ASSAY_PRIVACY_BUDGET", DEFAULT_BUDGET)})
        budget = PrivacyBudget.objects.select_for_update().get(pk=budget.pk)
        if budget.epsilon_spent + epsilon > budget.epsilon_total + 1e-12:
            raise BudgetExhausted(f"the privacy budget of {dataset} has {budget.epsilon_total - budget.epsilon_spent:.3f}"
                                  f" of {budget.epsilon_total} left; this release needs {epsilon}")
        cases = contributions(period_start=period_start, period_end=period_end)
        exact = true_counts(cases, dimensions)
        noisy = laplace_measurement(epsilon=epsilon, sensitivity=sensitivity)([count for _, _, count in exact])
        cells = []
        for (dimension, value, count), noisy_count in zip(exact, noisy, strict=True):
            suppressed = count < threshold or noisy_count < threshold
            cells.append({"dimension": dimension, "value": value,
                          "count": None if suppressed else int(noisy_count), "suppressed": suppressed})
        version = (AggregateRelease.objects.filter(dataset=dataset).order_by("-version")
                   .values_list("version", flat=True).first() or 0) + 1
        statement = {
            "type": "assay-aggregate-release/v1", "dataset": dataset, "version": version,
            "period": {"start": period_start.isoformat(), "end": period_end.isoformat()},
            "privacy": {"mechanism": "discrete Laplace (OpenDP make_laplace)", "epsilon": epsilon,
                        "l1_sensitivity": sensitivity, "scale": sensitivity / epsilon, "threshold": threshold,
                        "suppression": "cells from fewer than the threshold of cases, or with a noisy count below "
                                       "it, are withheld",
                        "budget_total": budget.epsilon_total, "budget_spent_after": budget.epsilon_spent + epsilon},
            "population": "opted-in cases that ended in the period",
            "cells": cells,
        }
        statement_bytes = canonical(statement)
        key_id, signature = keyring().sign(statement_bytes)
        digest = hashlib.sha256(statement_bytes).hexdigest()
        entry = log_append(kind=TransparencyEntry.Kind.AGGREGATE_RELEASE, subject_sha256=digest)
        release = AggregateRelease.objects.create(
            dataset=dataset, version=version, period_start=period_start, period_end=period_end, epsilon=epsilon,
            threshold=threshold, sensitivity=sensitivity, cells=cells, statement=statement, statement_sha256=digest,
            key_id=key_id, signature=base64.b64encode(signature).decode(), log_index=entry.index, created_by=actor)
        PrivacyBudget.objects.filter(pk=budget.pk).update(epsilon_spent=budget.epsilon_spent + epsilon)
        audit_append(actor=actor, action="aggregate.release", obj=release,
                     data={"dataset": dataset, "version": version, "epsilon": epsilon})
    sth_sign()
    return release


def release_csv(release: AggregateRelease) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["dataset", "version", "period_start", "period_end", "dimension", "value", "count", "suppressed",
                     "epsilon", "threshold"])
    for cell in release.cells:
        writer.writerow([release.dataset, release.version, release.period_start, release.period_end,
                         cell["dimension"], cell["value"], "" if cell["count"] is None else cell["count"],
                         cell["suppressed"], release.epsilon, release.threshold])
    return out.getvalue()


def release_chart(release: AggregateRelease, dimension: str) -> dict:
    """Bar geometry for a server-side SVG chart (no script, no inline style)."""
    cells = [c for c in release.cells if c["dimension"] == dimension]
    top = max([c["count"] or 0 for c in cells] + [1])
    bars = []
    for i, cell in enumerate(cells):
        width = 0 if cell["count"] is None else round(300 * cell["count"] / top)
        bars.append({"y": 6 + i * 24, "label_y": 21 + i * 24, "width": width, **cell})
    return {"dimension": dimension, "bars": bars, "height": 12 + 24 * len(cells)}
