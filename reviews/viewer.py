"""The secure viewer: how a reviewer reads a case's artifacts.

Every view goes through the access kernel (intake.access, via
:func:`reviews.services.reviewer_case_access`: active grant at grey box or
above, no conflict now; 404 otherwise; audited) and decrypts through the
vault with that decision and purpose ``reviewer_grant`` (audited again, with
the decision and what was opened); redaction and download follow the decision. Nothing is cached: content is
decrypted on demand into a private temporary directory that is removed
before the response is rendered. Archives are read with the one archive
parser, :mod:`intake.archives` (every entry name validated, sizes and
counts bounded). Grey box shows text with secrets and personal data masked
(:mod:`intake.redaction`); only white box may download an artifact whole.
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.http import Http404

from intake.archives import UnpackLimits, UnsafeInput, detect_kind, safe_member_path, unpack
from intake.models import AccessTier, Artifact, Submission, User
from intake.redaction import redact_for_view
from intake.run_dirs import run_dir
from intake.storage import artifact_store
from intake.access import AccessDecision
from reviews.models import AccessGrant
from reviews.services import access_case_as_reviewer, reviewer_case_access

MAX_VIEW_BYTES = 512 * 1024  # text shown per page; the rest is cut, and says so
VIEW_LIMITS = UnpackLimits(max_entries=5_000, max_total_bytes=256 * 1024 * 1024, max_file_bytes=64 * 1024 * 1024)
VAULT_PURPOSE = "reviewer_grant"


@dataclass
class ArtifactView:
    submission: Submission
    grant: AccessGrant
    access: AccessDecision  # the access kernel's decision this view was made under
    artifact: Artifact
    entries: list[str] = field(default_factory=list)  # archive members, when the artifact is an archive
    entry: str | None = None
    text: str | None = None
    binary: bool = False
    truncated: bool = False
    size: int = 0
    problem: str | None = None

    @property
    def can_download(self) -> bool:
        return self.access.download


def _reviewer_artifact(*, reviewer: User, submission_pk, artifact_pk, minimum_tier: str,  # noqa: ANN001
                       purpose: str) -> tuple[Submission, AccessGrant, AccessDecision, Artifact]:
    submission, grant, access = reviewer_case_access(reviewer=reviewer, submission_pk=submission_pk,
                                                     minimum_tier=minimum_tier, purpose=purpose)
    artifact = Artifact.objects.filter(submission=submission, pk=artifact_pk).first()
    if artifact is None:
        raise Http404("No such artifact.")
    return submission, grant, access, artifact


def case_artifacts_for_reviewer(*, reviewer: User, submission_pk) -> tuple[Submission, AccessGrant, list[Artifact]]:  # noqa: ANN001
    submission, grant = access_case_as_reviewer(reviewer=reviewer, submission_pk=submission_pk,
                                                minimum_tier=AccessTier.GREY, purpose="list_artifacts")
    return submission, grant, list(submission.artifacts.order_by("name"))


def _spool(artifact: Artifact, *, access: AccessDecision, reason: str, into: Path) -> Path:
    """Decrypt the artifact into ``into`` (a private temp dir); the vault checks ``access`` and audits the decrypt."""
    target = into / "artifact"
    limit = settings.ASSAY_MAX_ARTIFACT_BYTES
    written = 0
    with artifact_store().open(artifact.storage_key, access=access, purpose=VAULT_PURPOSE,
                               reason=f"{access.basis} ({access.tier}): {reason}"[:500]) as source, \
            target.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            written += len(chunk)
            if written > limit:
                raise UnsafeInput("artifact is larger than the viewer's limit")
            out.write(chunk)
    target.chmod(0o600)
    return target


def _read_text(path: Path) -> tuple[str | None, bool, bool, int]:
    """(text or None if binary, binary?, truncated?, size)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        raw = handle.read(MAX_VIEW_BYTES + 1)
    truncated = len(raw) > MAX_VIEW_BYTES
    raw = raw[:MAX_VIEW_BYTES]
    if b"\x00" in raw[:8192]:
        return None, True, truncated, size
    return raw.decode("utf-8", errors="replace"), False, truncated, size


def redact_text(text: str) -> str:
    """Grey box: secrets and personal data replaced by labelled placeholders, everything else as it is."""
    return redact_for_view(text)


def artifact_view(*, reviewer: User, submission_pk, artifact_pk, entry: str | None = None) -> ArtifactView:  # noqa: ANN001
    """Decrypt and prepare one artifact (or one entry of an archive artifact) for display."""
    submission, grant, access, artifact = _reviewer_artifact(reviewer=reviewer, submission_pk=submission_pk,
                                                             artifact_pk=artifact_pk, minimum_tier=AccessTier.GREY,
                                                             purpose="view_artifact")
    view = ArtifactView(submission=submission, grant=grant, access=access, artifact=artifact, size=artifact.size)
    if entry is not None:
        try:
            entry = safe_member_path(entry, VIEW_LIMITS)
        except UnsafeInput:
            raise Http404("No such entry.") from None
    scratch = run_dir("viewer")  # mode 0700
    try:
        path = _spool(artifact, access=access, into=scratch,
                      reason=f"view {artifact.name}" + (f" entry {entry}" if entry else ""))
        kind = detect_kind(path)
        if kind in ("zip", "tar"):
            try:
                files = unpack(source=path, dest=scratch / "entries", limits=VIEW_LIMITS, kind=kind)
            except UnsafeInput as exc:
                view.problem = f"This archive cannot be shown safely: {exc}"
                return view
            view.entries = [f.path for f in files]
            if entry is None:
                return view
            if entry not in view.entries:
                raise Http404("No such entry.")
            view.entry = entry
            path = (scratch / "entries").joinpath(*entry.split("/"))
        elif entry is not None:
            raise Http404("No such entry.")
        view.text, view.binary, view.truncated, view.size = _read_text(path)
        if view.text is not None and access.redacted:
            view.text = redact_text(view.text)
        return view
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def artifact_download(*, reviewer: User, submission_pk, artifact_pk) -> tuple[Artifact, Iterator[bytes]]:  # noqa: ANN001
    """White box only: the whole artifact, streamed as it is decrypted (audited twice, like a view)."""
    _submission, _grant, access, artifact = _reviewer_artifact(reviewer=reviewer, submission_pk=submission_pk,
                                                               artifact_pk=artifact_pk, minimum_tier=AccessTier.WHITE,
                                                               purpose="download_artifact")
    if not access.download:
        raise Http404("No such artifact.")
    source = artifact_store().open(artifact.storage_key, access=access, purpose=VAULT_PURPOSE,
                                   reason=f"{access.basis} ({access.tier}): download {artifact.name}"[:500])

    def chunks() -> Iterator[bytes]:
        with source:
            while chunk := source.read(256 * 1024):
                yield chunk

    return artifact, chunks()


def watermark_label(reviewer: User, at: datetime) -> str:
    return f"{reviewer.pseudonym} · {at.strftime('%Y-%m-%d %H:%M:%S')} UTC"


def watermark_data_uri(label: str) -> str:
    """A tiled, rotated SVG of ``label`` as a data: URI (the CSP allows data: images, not inline styles)."""
    text = xml_escape(label)
    # One label per tile, with room to spare so no tile edge clips it; every other row is shifted.
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="100%">'
           '<defs><pattern id="w" width="440" height="220" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(-24)">'
           f'<text x="8" y="50" font-family="sans-serif" font-size="17" fill="#a4262c" fill-opacity="0.30">{text}</text>'
           '</pattern><pattern id="v" width="440" height="220" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(-24) translate(220 110)">'
           f'<text x="8" y="50" font-family="sans-serif" font-size="17" fill="#1f5f8b" fill-opacity="0.30">{text}</text>'
           '</pattern></defs><rect width="100%" height="100%" fill="url(#w)"/>'
           '<rect width="100%" height="100%" fill="url(#v)"/></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
