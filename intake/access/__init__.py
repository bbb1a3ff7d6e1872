"""Who may see what: one access decision per user and case, one queryset of visible cases (kernel.py)."""

from intake.access.kernel import (AccessDecision, ReviewerAccess, SystemRead, access_decide, cases_visible_to,
                                  register_coordinator_case_filter, register_reviewer_access, tier_at_least)

__all__ = ["AccessDecision", "ReviewerAccess", "SystemRead", "access_decide", "cases_visible_to",
           "register_coordinator_case_filter", "register_reviewer_access", "tier_at_least"]
