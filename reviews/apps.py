from django.apps import AppConfig

# How often the audit chain's head is signed into the transparency log: the window in which a database
# writer holding the audit key could still rewrite recent events unseen by the anchors.
AUDIT_ANCHOR_SECONDS = 600.0


class ReviewsConfig(AppConfig):
    name = "reviews"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The conflict rules narrow what coordinators read, through intake's one visibility selector.
        from intake.access import register_coordinator_case_filter, register_reviewer_access
        from reviews.services import reviewer_access_rule, reviewer_granted_cases
        from reviews.coordinator_visibility import coordinator_cases_without_conflict

        register_coordinator_case_filter(coordinator_cases_without_conflict)
        register_reviewer_access(decide=reviewer_access_rule, cases=reviewer_granted_cases)

        # The lower layers' steps that need this one (intake/hooks.py).
        from intake.hooks import (CASE_PAGE_RECORDS, CASE_PAGE_SUBMISSION, TRANSPARENCY_LOG_APPEND, TRIAGE_ESCALATED,
                                  TRIAGE_GUIDANCE_CLOSED, hook_register)
        from reviews.case_page import case_page_records, case_page_submission
        from reviews.services import consent_request_for_escalation
        from reviews.tasks import queue_report
        from reviews.transparency import log_append

        hook_register(TRANSPARENCY_LOG_APPEND, log_append)
        hook_register(TRIAGE_GUIDANCE_CLOSED, lambda *, submission: queue_report(submission.pk, "guidance"))
        hook_register(TRIAGE_ESCALATED, consent_request_for_escalation)
        hook_register(CASE_PAGE_SUBMISSION, case_page_submission)
        hook_register(CASE_PAGE_RECORDS, case_page_records)

        # A reviewer's hand-offs stay listed only while the proposal or grant stands and no conflict arose.
        from intake.models import NotificationKind
        from intake.notifications import register_still_actionable
        from reviews.selectors import reviewer_granted_references, reviewer_proposed_references

        register_still_actionable(NotificationKind.REVIEWER_PROPOSED, reviewer_proposed_references)
        register_still_actionable(NotificationKind.ACCESS_GRANTED, reviewer_granted_references)

        # Register the audit anchoring with Celery beat without owning the shared settings module.
        from celery import current_app as app  # the project's app, made current by assay/__init__

        schedule = dict(app.conf.beat_schedule or {})
        schedule.setdefault("reviews-anchor-audit-head",
                            {"task": "reviews.tasks.anchor_audit_head", "schedule": AUDIT_ANCHOR_SECONDS})
        app.conf.beat_schedule = schedule
