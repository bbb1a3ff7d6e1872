"""What an IP dispute is raised against, resolved to the respondent case.

Intake's dispute service (intake.vault.disputes) takes two cases; only this layer knows reports and triage's
similarity links. A builder names another case's report by its id (printed on the report and checkable by anyone
on /verify/, so naming it confirms nothing new); similarity links to other builders' cases are for coordinators
only (triage.selectors.similarity_links_for), so only a coordinator raises a dispute from one.
"""

from __future__ import annotations

import uuid

from intake.errors import ValidationFailed
from intake.models import Role, Submission, User
from intake.vault.disputes import dispute_open
from intake.vault.errors import NotAllowed
from intake.vault.models import DisputeTarget
from reviews.models import Report
from triage.models import FingerprintLink


def respondent_case_for(*, claimant_case: Submission, actor: User, target_kind: str, target_ref: str) -> Submission:
    """The case a dispute about ``target_ref`` is against; ValidationFailed names what is wrong with the input."""
    ref = (target_ref or "").strip()
    if target_kind == DisputeTarget.REPORT:
        try:
            report_id = uuid.UUID(ref)
        except ValueError:
            raise ValidationFailed("give the report id printed on the report (a UUID)") from None
        report = Report.objects.select_related("submission").filter(pk=report_id).first()
        if report is None:
            raise ValidationFailed("no report with that id was issued here")
        return report.submission
    if target_kind == DisputeTarget.SIMILARITY_LINK:
        if actor.role != Role.COORDINATOR:
            raise NotAllowed("only a coordinator raises a dispute from a similarity link; name the report instead")
        link = (FingerprintLink.objects.select_related("other").filter(pk=int(ref), submission=claimant_case).first()
                if ref.isdigit() else None)
        if link is None:
            raise ValidationFailed("this case has no similarity link with that id")
        return link.other
    raise ValidationFailed(f"target must be one of {', '.join(DisputeTarget.values)}")


def dispute_raise(*, claimant_case: Submission, actor: User, target_kind: str, target_ref: str, statement: str,
                  evidence_file=None, evidence_name: str = ""):  # noqa: ANN001, ANN201 - IpDispute
    """Open a dispute from ``claimant_case`` against what ``target_ref`` names: a builder about their own case
    against another case's report, or a coordinator from a similarity link of ``claimant_case`` (the linked earlier
    case then claims). The caller fetched ``claimant_case`` through a visibility selector."""
    if actor.role == Role.COORDINATOR and target_kind != DisputeTarget.SIMILARITY_LINK:
        raise NotAllowed("a coordinator raises a dispute from a similarity link; a builder names a report")
    respondent = respondent_case_for(claimant_case=claimant_case, actor=actor, target_kind=target_kind,
                                     target_ref=target_ref)
    source = "builder"
    if target_kind == DisputeTarget.SIMILARITY_LINK:
        # Triage links a new case to the earlier one it resembles: the earlier case's builder is the one whose
        # work may have been taken, so that case claims and the linked (newer) case responds.
        claimant_case, respondent, source = respondent, claimant_case, "triage_similarity"
    return dispute_open(claimant_case=claimant_case, respondent_case=respondent, actor=actor, source=source,
                        statement=statement, evidence_file=evidence_file, evidence_name=evidence_name,
                        target_kind=target_kind, target_ref=target_ref.strip())
