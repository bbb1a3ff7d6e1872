"""The Assay manifest (intake/schemas/manifest.schema.json), given by the submission or found at the root."""

from __future__ import annotations

from triage.parsers.base import as_dict

MANIFEST_FILENAMES = ("assay-manifest.json", "assay.manifest.json", ".assay/manifest.json")
# Findings about a manifest handed in by the submission (not a file in the tree) carry this path.
SUBMITTED_MANIFEST_PATH = "(manifest)"


def is_manifest_file(path: str) -> bool:
    return path in MANIFEST_FILENAMES


def normalise_manifest(data: object) -> dict | None:
    """Accept what looks like a manifest; the schema was enforced at intake, here we only read defensively."""
    data = as_dict(data)
    if not data or not any(key in data for key in ("models", "harness", "tools", "mcp_servers")):
        return None
    return data
