"""A conflicted coordinator cannot read the case either: the conflict rules narrow every coordinator read.

``intake.selectors.submissions_visible_to`` is the one read path for cases (lists, pages, the API, threads,
downloads), but the conflict rules live here, above intake, which must not import them. So reviews registers
:func:`coordinator_cases_without_conflict` with intake at start-up (``ReviewsConfig.ready``), and intake denies
coordinators every case until a narrowing is registered. The rules are the ones that stop a conflicted
coordinator acting (:func:`reviews.services.coordinator_conflicts`), recomputed on every read, never cached.
"""

from __future__ import annotations

import dataclasses

from django.db.models import QuerySet
from django.utils import timezone

from intake.models import Submission, User
from intake.selectors import submission_get_for
from reviews import conflicts as rules
from reviews.models import Review
from reviews.services import (NOT_A_COORDINATOR_CONFLICT, Conflicted, case_profile_for,
                              coordinator_conflict_message, reviewer_profile_for)


def coordinator_conflicts_among(user: User, cases: QuerySet[Submission]) -> dict[object, rules.Conflict]:
    """The first conflict this coordinator has with each case of ``cases`` that has one, by case pk.

    A constant number of queries however many cases: the coordinator's profile once, the cases with their
    owners and the builders' declarations, and the coordinator's own past reviews (prior work is per case).
    """
    base = reviewer_profile_for(user)
    reviewed = list(Review.objects.filter(reviewer=user).values_list("submission_id", "submission__owner__email",
                                                                      "submitted_at"))
    now = timezone.now()
    found = {}
    for case in cases.select_related("owner").prefetch_related("builder_conflict_declarations"):
        # Reviews of this very case are not prior work with its builder (as reviewer_profile_for excludes them).
        profile = dataclasses.replace(base, prior_builders=tuple(
            (email, when.date()) for case_id, email, when in reviewed if case_id != case.pk)) if reviewed else base
        conflicts = rules.conflicts_for(profile, case_profile_for(case, coordinator_id=None), now=now,
                                        dismissed=NOT_A_COORDINATOR_CONFLICT)
        if conflicts:
            found[case.pk] = conflicts[0]
    return found


def coordinator_cases_without_conflict(user: User, cases: QuerySet[Submission]) -> QuerySet[Submission]:
    """Registered with intake: the cases of ``cases`` this coordinator has no conflict with."""
    conflicted = coordinator_conflicts_among(user, cases)
    return cases.exclude(pk__in=list(conflicted)) if conflicted else cases


def coordinator_case_for(user: User, pk) -> Submission:  # noqa: ANN001
    """A case for its coordinator pages and API: Conflicted (403, with the reason and nothing of the case) when
    the coordinator has a conflict with it, otherwise exactly :func:`intake.selectors.submission_get_for`.

    The conflict is looked up on the one case named, only to word the refusal; the case itself is fetched
    through the visibility selector, which hides it from a conflicted coordinator anyway.
    """
    try:
        conflicts = coordinator_conflicts_among(user, Submission.objects.filter(pk=pk))
    except (ValueError, TypeError):
        conflicts = {}
    except Exception as exc:  # django.core.exceptions.ValidationError for a malformed UUID: 404 below
        if exc.__class__.__name__ != "ValidationError":
            raise
        conflicts = {}
    if conflicts:
        conflict = next(iter(conflicts.values()))
        raise Conflicted(coordinator_conflict_message(conflict), details={"rules": [conflict.rule]})
    return submission_get_for(user, pk)
