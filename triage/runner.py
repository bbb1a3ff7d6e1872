"""Sandboxed unpack + analysis (:func:`triage_analyse`), and the policy over it (:func:`triage_decide`): the
steps :func:`triage.orchestrator.triage_run` puts together for the portal pipeline and ``triage_path`` alike.

What crosses back from the sandbox is untrusted: it is parsed strictly,
bounded, and re-validated into :class:`triage.findings.Finding` objects before
the policy (which runs out here, with the platform's context) sees it.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from intake.archives import UnpackLimits, UnsafeInput, detect_kind, printable
from intake.digest import config_digest
from intake.run_dirs import run_dir
from triage.components import inventory_checked
from triage.findings import Finding
from triage.sandbox import (Mount, SandboxLimits, SandboxRequest, SandboxUnavailable, backend_resolve,
                            configured_backend, sandbox_code_compile, sandbox_run)

ARCHIVE_HINT = "a directory or an archive (.zip, .tar, .tar.gz, .tgz)"
MAX_FINDINGS = 5000
MAX_FIELD = 4000
# For the analysis process only. glibc's defaults hand every large block (numpy arrays, big reads) back to the
# kernel when freed and map it afresh next time; each new page is a fault, and under gVisor's ptrace platform a
# fault costs several microseconds. A short-lived process bounded by RLIMIT_AS can keep what it took.
ANALYSIS_ENV = {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=1073741824"}


class TriageInputError(Exception):
    """The input cannot be triaged (missing, unreadable, not an archive, unsafe). One-line message."""


class TriagePlatformError(Exception):
    """The platform could not triage (no sandbox, the analysis crashed). Not the submitter's fault."""


@dataclass(frozen=True)
class TriageSource:
    path: Path  # host path: a directory, an archive, or a single file
    kind: str  # directory | zip | tar | file
    name: str | None = None  # for ``file``: its path inside the triaged root


@dataclass
class SandboxedAnalysis:
    sandbox: str
    files: list[tuple[str, str]]  # (posix path, sha256)
    manifest: dict | None
    findings: list[Finding]
    fingerprint: dict
    config_digest: str
    duration_s: float
    inventory: list[dict] = field(default_factory=list)  # triage.components: what a claim's scope can name


@dataclass
class TriageOutcome:
    analysis: SandboxedAnalysis
    policy_version: str
    score: int
    decision: str
    reasons: list[str] = field(default_factory=list)
    not_run: list[dict] | None = None  # set by the dynamic stage (triage.dynamic.stage): [{"target", "reason"}]

    def contract(self) -> dict:
        """Exactly CONTRACT.md's document, keys in its order."""
        document = {
            "config_digest": self.analysis.config_digest,
            "policy_version": self.policy_version,
            "sandbox": self.analysis.sandbox,
            "findings": [finding.as_contract_dict() for finding in self.analysis.findings],
            "score": self.score,
            "decision": self.decision,
            "reasons": list(self.reasons),
        }
        if self.not_run is not None:
            document["not_run"] = [dict(item) for item in self.not_run]
        return document


def contract_json(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- configuration --------------------------------------------------------------------------------

def _sandbox_limits() -> SandboxLimits:
    from django.conf import settings

    return SandboxLimits(**getattr(settings, "ASSAY_TRIAGE_SANDBOX_LIMITS", {}))


def _unpack_limits() -> UnpackLimits:
    from django.conf import settings

    return UnpackLimits(**getattr(settings, "ASSAY_TRIAGE_UNPACK_LIMITS", {}))


# --- the service ----------------------------------------------------------------------------------

def source_for_path(path: Path) -> TriageSource:
    """Validate a ``triage_path`` argument (outside the sandbox: only stat and a magic-byte peek)."""
    shown = printable(str(path))
    if not path.exists() and not path.is_symlink():
        raise TriageInputError(f"{shown}: no such file or directory")
    try:
        kind = detect_kind(path.resolve())
    except PermissionError:
        raise TriageInputError(f"{shown}: not readable") from None
    except UnsafeInput as exc:
        raise TriageInputError(f"{shown}: {exc}; expected {ARCHIVE_HINT}") from None
    except OSError as exc:
        raise TriageInputError(f"{shown}: cannot read ({exc.strerror})") from None
    if kind == "file":
        raise TriageInputError(f"{shown}: not {ARCHIVE_HINT}")
    resolved = path.resolve()
    if kind == "directory":
        try:
            next(iter(resolved.iterdir()), None)
        except PermissionError:
            raise TriageInputError(f"{shown}: not readable") from None
    return TriageSource(path=resolved, kind=kind)


def triage_analyse(*, sources: list[TriageSource], manifest: dict | None = None, backend: str | None = None,
                   limits: SandboxLimits | None = None, unpack_limits: UnpackLimits | None = None,
                   ) -> SandboxedAnalysis:
    """Unpack and analyse ``sources`` inside the sandbox; compute the configuration digest."""
    try:
        backend = backend or configured_backend()
        backend = backend_resolve(backend)
    except SandboxUnavailable as exc:
        raise TriagePlatformError(str(exc)) from None
    limits = limits or _sandbox_limits()
    unpack_limits = unpack_limits or _unpack_limits()
    scratch = run_dir("triage")
    try:
        mounts, plan_sources = [], []
        for index, source in enumerate(sources):
            # Without a sandbox there are no mounts: the program reads the host paths themselves.
            target = str(source.path) if backend == "none" else f"/input/{index}"
            mounts.append(Mount(source=source.path, target=target))
            plan_sources.append({"path": target, "kind": source.kind, "name": source.name})
        plan = {"sources": plan_sources, "manifest": manifest,
                "limits": {name: getattr(unpack_limits, name) for name in unpack_limits.__dataclass_fields__}}
        sandbox_code_compile()
        result = sandbox_run(backend=backend, request=SandboxRequest(
            argv=[sys.executable, "-S", "-B", "-c", _bootstrap()], scratch=scratch, mounts=mounts, limits=limits,
            stdin=json.dumps(plan).encode(), env=ANALYSIS_ENV))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    payload = _parse_sandbox_output(result, limits)
    files = [(str(path), str(sha)) for path, sha, _size in payload["files"]]
    try:
        inventory = inventory_checked(payload.get("inventory") or [])
    except ValueError as exc:
        raise TriagePlatformError(f"sandboxed analysis returned a malformed inventory ({exc})") from None
    manifest_out = payload.get("manifest")
    if manifest_out is not None and not isinstance(manifest_out, dict):
        raise TriagePlatformError("sandboxed analysis returned a malformed manifest")
    return SandboxedAnalysis(
        sandbox=backend, files=files, manifest=manifest_out,
        findings=sorted((_finding(raw) for raw in payload["findings"][:MAX_FINDINGS]), key=Finding.sort_key),
        fingerprint=payload.get("fingerprint") or {},
        config_digest=config_digest(files=files, manifest=manifest_out), duration_s=result.duration_s,
        inventory=inventory)


def _bootstrap() -> str:
    from triage.sandbox import PROJECT_ROOT

    # Only the project root (where just triage/ is mounted) and the runtime on sys.path; never the cwd. The
    # interpreter runs with -S (no site: no .pth files to read and run, under gVisor ~0.1 s), so the runtime's
    # site-packages is named here.
    return ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
            f"sys.path.insert(0, {str(PROJECT_ROOT)!r}); sys.path.extend({_site_packages()!r}); "
            "from triage.sandbox_entry import main; main()")


def _site_packages() -> list[str]:
    import site

    return [path for path in dict.fromkeys(site.getsitepackages()) if Path(path).is_dir()]


def _parse_sandbox_output(result, limits: SandboxLimits) -> dict:  # noqa: ANN001
    if result.timed_out:
        raise TriageInputError(f"triage stopped: exceeded the {limits.wall_seconds:g} s wall-time limit")
    stderr_tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if result.returncode != 0:
        if stderr_tail[0].startswith("MemoryError"):
            raise TriageInputError("triage stopped: exceeded the memory limit")
        if result.killed_by:
            raise TriageInputError(f"triage stopped: exceeded the {result.killed_by} limit")
        raise TriagePlatformError(f"sandboxed analysis failed ({printable(stderr_tail[0])[:200]})")
    if result.output_truncated:
        raise TriageInputError("triage stopped: analysis output exceeded its size limit")
    try:
        payload = json.loads(result.stdout)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TriagePlatformError("sandboxed analysis returned malformed output") from None
    if not isinstance(payload, dict):
        raise TriagePlatformError("sandboxed analysis returned malformed output")
    if not payload.get("ok"):
        raise TriageInputError(printable(str(payload.get("error") or "input rejected")))
    if not isinstance(payload.get("files"), list) or not isinstance(payload.get("findings"), list):
        raise TriagePlatformError("sandboxed analysis returned malformed output")
    return payload


def _text(value, name: str) -> str:  # noqa: ANN001
    if not isinstance(value, str):
        raise TriagePlatformError(f"finding field {name} is not text")
    return value[:MAX_FIELD]


def _finding(raw) -> Finding:  # noqa: ANN001
    if not isinstance(raw, dict):
        raise TriagePlatformError("sandboxed analysis returned a malformed finding")
    line = raw.get("line")
    if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
        raise TriagePlatformError("finding line is not a number")
    categories = raw.get("categories")
    if not isinstance(categories, list):
        raise TriagePlatformError("finding categories is not a list")
    extra = raw.get("extra") if isinstance(raw.get("extra"), dict) else {}
    try:
        return Finding(check=_text(raw.get("check"), "check"), title=_text(raw.get("title"), "title"),
                       severity=_text(raw.get("severity"), "severity"),
                       categories=tuple(_text(c, "categories") for c in categories),
                       path=_text(raw.get("path"), "path"), line=line,
                       evidence=_text(raw.get("evidence"), "evidence"),
                       remediation=_text(raw.get("remediation"), "remediation"), extra=extra)
    except ValueError as exc:
        raise TriagePlatformError(f"sandboxed analysis returned an invalid finding ({exc})") from None


def triage_decide(*, analysis: SandboxedAnalysis, context, policy_version: str | None = None) -> TriageOutcome:  # noqa: ANN001
    """Apply the (deterministic, versioned) decision policy outside the sandbox."""
    from triage.policy import POLICY_VERSION, available_policies, decide

    version = policy_version or POLICY_VERSION
    if version not in available_policies():
        raise TriageInputError(f"unknown policy version {printable(version)}; "
                               f"available: {', '.join(sorted(available_policies()))}")
    decision = decide(analysis.findings, context=context, version=version)
    return TriageOutcome(analysis=analysis, policy_version=version, score=int(decision.score),
                         decision=decision.decision, reasons=list(decision.reasons))
