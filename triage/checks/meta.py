"""Facts about the analysis itself, so a reviewer knows what was not read."""

from __future__ import annotations

from collections.abc import Iterator

from triage.checks.registry import AnalysisContext, Hit, check


@check("meta.unparsed-file", title="A configuration file could not be parsed and was skipped",
       severity="info", categories=("provenance",),
       remediation="Fix the syntax so the file can be assessed; the tool that reads it may be ignoring it too.",
       rationale="Anything in a skipped file is invisible to the other checks.")
def unparsed_file(context: AnalysisContext) -> Iterator[Hit]:
    for path, problem in sorted(context.system.problems):
        yield Hit(path, None, problem)
