"""Read paths for IP disputes and legal holds: what the case page, the portal and the API show, to whom.

Builders see their side of a dispute only (intake.vault.disputes.dispute_view_for_builder) and never the list of
legal holds (the retention summary says that one suspends deletion). Coordinators see disputes and holds on cases
they may see; a dispute whose other case is hidden from them (a conflict of interest) shows no claimant text.
"""

from __future__ import annotations

from django.http import Http404

from intake.models import Role, Submission
from intake.selectors import submissions_visible_to
from intake.vault.disputes import dispute_view_for_builder, dispute_view_for_coordinator
from intake.vault.models import IpDispute, LegalHold
from intake.vault.retention import disputes_of


def case_disputes(user, submission: Submission, *, disputes: list[IpDispute] | None = None) -> list[dict]:  # noqa: ANN001
    """The disputes ``submission`` is party to, as ``user`` may see them, newest first.

    The caller fetched ``submission`` through the visibility selector; ``disputes``, when given, are every dispute
    the case is party to with both cases joined (the case page reads them once for the retention summary too).
    """
    if disputes is None:
        disputes = list(disputes_of(submission).select_related("claimant_case", "respondent_case"))
    disputes = sorted(disputes, key=lambda d: d.opened_at, reverse=True)
    if user.role == Role.BUILDER:
        return [dispute_view_for_builder(dispute, user) for dispute in disputes
                if user.pk in (dispute.claimant_case.owner_id, dispute.respondent_case.owner_id)]
    if user.role != Role.COORDINATOR:
        return []
    others = {d.respondent_case_id if d.claimant_case_id == submission.pk else d.claimant_case_id for d in disputes}
    visible = set(submissions_visible_to(user, among=Submission.objects.filter(pk__in=others))
                  .values_list("pk", flat=True)) if others else set()
    views = []
    for dispute in disputes:
        other = dispute.respondent_case_id if dispute.claimant_case_id == submission.pk else dispute.claimant_case_id
        if other in visible:
            views.append({**dispute_view_for_coordinator(dispute, submission), "may_decide": True})
        else:
            views.append({"dispute": str(dispute.pk), "state": dispute.state, "outcome": dispute.outcome or None,
                          "opened_at": dispute.opened_at.isoformat(), "other_case": None, "may_decide": False,
                          "this_case_role": "claimant" if dispute.claimant_case_id == submission.pk else "respondent"})
    return views


def case_legal_holds(user, submission: Submission) -> list[LegalHold]:  # noqa: ANN001
    """Every legal hold of the case, newest first, for coordinators; nothing for anyone else."""
    if user.role != Role.COORDINATOR:
        return []
    return list(submission.legal_holds.select_related("requested_by", "approved_by", "released_by"))


def dispute_get_for_coordinator(user, pk) -> IpDispute:  # noqa: ANN001
    """A dispute both of whose cases the coordinator may see, or 404 (never 403: ids are not confirmed)."""
    try:
        dispute = IpDispute.objects.select_related("claimant_case", "respondent_case").filter(pk=pk).first()
    except (ValueError, TypeError):
        dispute = None
    except Exception as exc:  # django.core.exceptions.ValidationError for a malformed UUID
        if exc.__class__.__name__ != "ValidationError":
            raise
        dispute = None
    if dispute is None or user.role != Role.COORDINATOR:
        raise Http404("No such dispute.")
    cases = Submission.objects.filter(pk__in=[dispute.claimant_case_id, dispute.respondent_case_id])
    if submissions_visible_to(user, among=cases).count() != 2:
        raise Http404("No such dispute.")
    return dispute


def legal_hold_get_for_coordinator(user, pk) -> LegalHold:  # noqa: ANN001
    """A legal hold on a case the coordinator may see, or 404."""
    hold = LegalHold.objects.select_related("submission").filter(pk=pk).first() if str(pk).isdigit() else None
    if hold is None or user.role != Role.COORDINATOR or not submissions_visible_to(
            user, among=Submission.objects.filter(pk=hold.submission_id)).exists():
        raise Http404("No such legal hold.")
    return hold
