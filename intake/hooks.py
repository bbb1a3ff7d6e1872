"""Named hooks: how a lower layer hands work to a higher one without importing it.

Layers run one way (intake < triage < reviews < assay, enforced by import-linter). Where a lower layer's step
must trigger a higher layer's (a shredding receipt enters the transparency log; an escalated case asks for
consent), the higher layer registers its function here from its AppConfig.ready() and the lower one calls the
hook by name. A hook nobody registered raises: the step it belongs to must not pass silently without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The hook points and who fills them (all from reviews.apps): see each caller for the contract.
TRANSPARENCY_LOG_APPEND = "transparency.log_append"  # (kind=, subject_sha256=) -> entry; intake.vault.shredding
TRIAGE_GUIDANCE_CLOSED = "triage.guidance_closed"  # (submission=) inside the closing transaction; triage.pipeline
TRIAGE_ESCALATED = "triage.escalated"  # (submission=, findings=) inside the escalating transaction; triage.pipeline
# The builder's case page shows all three layers' records; reviews.case_page reads them (intake.views calls these).
CASE_PAGE_SUBMISSION = "case_page.submission"  # (user=, pk=) -> Submission with presence flags, or Http404
CASE_PAGE_RECORDS = "case_page.records"  # (user=, submission=, events=) -> dict for the template
KNOWN = frozenset({TRANSPARENCY_LOG_APPEND, TRIAGE_GUIDANCE_CLOSED, TRIAGE_ESCALATED, CASE_PAGE_SUBMISSION,
                   CASE_PAGE_RECORDS})

_registered: dict[str, Callable[..., Any]] = {}


class HookMissing(RuntimeError):
    """A lower layer needed a higher one that is not installed or not ready."""


def hook_register(name: str, function: Callable[..., Any]) -> None:
    if name not in KNOWN:
        raise ValueError(f"unknown hook {name!r}")
    _registered[name] = function  # idempotent: ready() may run more than once in tests


def hook_call(name: str, **kwargs: Any) -> Any:
    try:
        function = _registered[name]
    except KeyError:
        raise HookMissing(f"no handler registered for {name!r} (is the reviews app installed?)") from None
    return function(**kwargs)
