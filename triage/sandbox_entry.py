"""The program that runs INSIDE the sandbox: unpack, analyse, fingerprint, print one JSON document.

Input: a JSON plan on stdin::

    {"sources": [{"path": "/input/0", "kind": "directory|zip|tar|file", "name": "x"}],
     "manifest": {...} | null, "limits": {...UnpackLimits fields...}}

The input is unpacked into memory (:class:`intake.archives.MemoryTree`), never
written out: each input byte is read once, and the untrusted tree never
touches a file system (under gVisor every read and write is a trip through its
kernel, so this is most of the speed).

Output on stdout: ``{"ok": true, "files": [[path, sha256, size], ...], "manifest": ..., "findings": [...],
"fingerprint": {...}, "inventory": [...]}`` or ``{"ok": false, "error": "<one line>"}``. It never imports Django and
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
    from intake.archives import UnpackLimits

    known = {f.name for f in fields(UnpackLimits)}
    return UnpackLimits(**{k: int(v) for k, v in (raw or {}).items() if k in known})


def _manifest_from_root(root: Path) -> dict | None:
    path = root / MANIFEST_NAME
    if not path.is_file():
        return None
    return _manifest_checked(path.stat().st_size, path.read_bytes)


def _manifest_from_memory(tree) -> dict | None:  # noqa: ANN001
    """:func:`_manifest_from_root` for a :class:`intake.archives.MemoryTree`."""
    if MANIFEST_NAME not in tree.heads:
        return None
    return _manifest_checked(tree.sizes[MANIFEST_NAME], lambda: tree.heads[MANIFEST_NAME])


def _manifest_checked(size: int, read) -> dict:  # noqa: ANN001
    """The submitted manifest file's JSON object; ``read`` is called only once the size is known to be allowed."""
    from intake.archives import UnsafeInput

    if size > MAX_MANIFEST_BYTES:
        raise UnsafeInput(f"{MANIFEST_NAME} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = json.loads(read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsafeInput(f"{MANIFEST_NAME} is not valid JSON ({exc.__class__.__name__})") from None
    except RecursionError:
        raise UnsafeInput(f"{MANIFEST_NAME} is JSON nested too deeply") from None
    if not isinstance(manifest, dict):
        raise UnsafeInput(f"{MANIFEST_NAME} must hold a JSON object")
    return manifest


def run(plan: dict) -> dict:
    """Unpack into memory (each input byte read once, nothing written back), then analyse and fingerprint."""
    from triage.fingerprints import MAX_TEXT_BYTES, fingerprint_of_contents
    from triage.parsers.base import MAX_FILE_BYTES, tree_from_memory
    from intake.archives import MemoryTree, UnsafeInput, new_budget, unpack_into

    try:
        limits = _limits(plan.get("limits") or {})
        budget = new_budget(limits)
        tree = MemoryTree(keep_bytes=max(MAX_FILE_BYTES + 1, MAX_TEXT_BYTES))
        files = []
        for source in plan["sources"]:
            files += unpack_into(tree, source=Path(source["path"]), limits=limits, kind=source["kind"],
                                 name=source.get("name"), budget=budget)
        manifest = plan.get("manifest")
        if manifest is None:
            manifest = _manifest_from_memory(tree)
    except UnsafeInput as exc:
        return {"ok": False, "error": str(exc)}
    except OSError as exc:
        return {"ok": False, "error": f"cannot unpack input ({exc.strerror or exc.__class__.__name__})"}

    from triage.analysis import analyse_tree_with_inventory

    files.sort()
    findings, inventory = analyse_tree_with_inventory(tree_from_memory(tree.heads, tree.sizes), manifest=manifest,
                                                      parallel=True, files=[f.path for f in files])
    return {
        "ok": True,
        "files": [[f.path, f.sha256, f.size] for f in files],
        "manifest": manifest,
        "findings": [{**finding.as_contract_dict(), "extra": finding.extra} for finding in findings],
        "fingerprint": fingerprint_of_contents(tree.heads[f.path] for f in files),
        "inventory": inventory,
    }


def install_offline_requests() -> None:
    """Put a stand-in ``requests`` module in place before detect-secrets is imported.

    detect-secrets' plugin and filter modules import ``requests`` at the top only to *verify* a found secret
    online, which the analysis never asks for and which cannot work in here (no network). Importing the real
    one pulls in urllib3, http.client, email, charset_normalizer and idna: about 0.4 s of every run under gVisor.
    The stand-in has exactly the names detect-secrets refers to; calling it raises, as the network would.
    """
    import types

    if "requests" in sys.modules:
        return

    class RequestException(OSError):
        pass

    class Response:
        pass

    def refuse(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RequestException("no network inside the sandbox")

    exceptions = types.ModuleType("requests.exceptions")
    exceptions.RequestException = RequestException
    module = types.ModuleType("requests", "Stand-in inside the sandbox: there is no network to talk to.")
    module.exceptions, module.Response, module.get, module.post = exceptions, Response, refuse, refuse
    sys.modules["requests"] = module
    sys.modules["requests.exceptions"] = exceptions


def main() -> None:
    # Over-size writes become errors we can report, not a silent SIGXFSZ death.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    install_offline_requests()
    plan = json.loads(sys.stdin.read())
    result = run(plan)
    sys.stdout.write(json.dumps(result, sort_keys=True, separators=(",", ":"), default=str))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
