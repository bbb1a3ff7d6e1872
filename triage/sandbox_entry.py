"""The program that runs INSIDE the sandbox: unpack, analyse, fingerprint, print one JSON document.

Input: a JSON plan on stdin::

    {"sources": [{"path": "/input/0", "kind": "directory|zip|tar|file", "name": "x"}],
     "root": "/tmp/assay-root", "manifest": {...} | null, "limits": {...UnpackLimits fields...}}

``root`` (where the input is unpacked) is on the sandbox's private in-memory
``/tmp``: under gVisor that keeps the untrusted tree inside the sandbox's own
kernel and avoids a host round trip for every read.

Output on stdout: ``{"ok": true, "files": [[path, sha256, size], ...], "manifest": ..., "findings": [...],
"fingerprint": {...}}`` or ``{"ok": false, "error": "<one line>"}``. It never imports Django and
sees nothing of the platform: only the runtime, this package, its inputs and ``/scratch``.
"""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import fields
from pathlib import Path

MANIFEST_NAME = "assay-manifest.json"
MAX_MANIFEST_BYTES = 1024 * 1024


def _limits(raw: dict):  # noqa: ANN202
    from triage.unpack import UnpackLimits

    known = {f.name for f in fields(UnpackLimits)}
    return UnpackLimits(**{k: int(v) for k, v in (raw or {}).items() if k in known})


def _manifest_from_root(root: Path) -> dict | None:
    from triage.unpack import UnsafeInput

    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise UnsafeInput(f"{MANIFEST_NAME} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeInput(f"{MANIFEST_NAME} is not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(manifest, dict):
        raise UnsafeInput(f"{MANIFEST_NAME} must hold a JSON object")
    return manifest


def run(plan: dict) -> dict:
    from triage.fingerprints import fingerprint_compute
    from triage.unpack import UnsafeInput, new_budget, unpack

    try:
        limits = _limits(plan.get("limits") or {})
        budget = new_budget(limits)
        root = Path(plan["root"])
        root.mkdir(parents=True, exist_ok=False)
        files = []
        for source in plan["sources"]:
            files += unpack(source=Path(source["path"]), dest=root, limits=limits, kind=source["kind"],
                            name=source.get("name"), budget=budget)
        manifest = plan.get("manifest")
        if manifest is None:
            manifest = _manifest_from_root(root)
    except UnsafeInput as exc:
        return {"ok": False, "error": str(exc)}
    except OSError as exc:
        return {"ok": False, "error": f"cannot unpack input ({exc.strerror or exc.__class__.__name__})"}

    from triage.analysis import analyse

    findings = analyse(root, manifest=manifest)
    files.sort()
    return {
        "ok": True,
        "files": [[f.path, f.sha256, f.size] for f in files],
        "manifest": manifest,
        "findings": [{**finding.as_contract_dict(), "extra": finding.extra} for finding in findings],
        "fingerprint": fingerprint_compute(root=root, paths=[f.path for f in files]),
    }


def main() -> None:
    # Over-size writes become errors we can report, not a silent SIGXFSZ death.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    plan = json.loads(sys.stdin.read())
    result = run(plan)
    sys.stdout.write(json.dumps(result, sort_keys=True, separators=(",", ":"), default=str))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
