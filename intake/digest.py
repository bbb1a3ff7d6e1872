"""The configuration digest that binds a claim (and later a report) to exact content.

SHA-256 over a canonical listing, one line per entry, sorted by path:

    assay-config-digest/v1
    manifest <sha256 of the manifest as canonical JSON>      (when there is one)
    file <posix path> <sha256 of the plaintext>

Only paths and content count: file order, timestamps, permissions and the
archive format do not, so a directory, a zip and a tarball of the same files
have the same digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

PREFIX = "sha256:"


def canonical_manifest_sha256(manifest: dict) -> str:
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def config_digest(*, files: Iterable[tuple[str, str]], manifest: dict | None = None) -> str:
    """``files`` yields ``(posix path, hex sha256)``; paths must be unique."""
    lines = ["assay-config-digest/v1"]
    if manifest is not None:
        lines.append(f"manifest {canonical_manifest_sha256(manifest)}")
    seen: set[str] = set()
    for path, sha in sorted(files):
        if path in seen:
            raise ValueError(f"duplicate path in configuration: {path}")
        if "\n" in path:
            raise ValueError("paths may not contain newlines")
        seen.add(path)
        lines.append(f"file {path} {sha}")
    return PREFIX + hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
