"""Fuzz target: a builder's manifest JSON (intake.manifest.manifest_parse) and the triage side's reading of
it (triage.parsers.manifest.normalise_manifest). Expected rejection: ValidationFailed."""

from __future__ import annotations

import sys

import atheris

sys.path.insert(0, __file__.rsplit("/", 3)[0])
from tests.fuzz._common import setup_django  # noqa: E402

setup_django()

with atheris.instrument_imports(include=["intake", "triage", "jsonschema"]):
    from intake.errors import ValidationFailed
    from intake.manifest import manifest_parse
    from triage.parsers.manifest import normalise_manifest


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris's name
    try:
        manifest = manifest_parse(data)
    except ValidationFailed as exc:
        assert str(exc), "a rejection names its reason"
        manifest = None
    if manifest is not None:
        normalise_manifest(manifest)
    # The triage side reads whatever JSON a tree holds under the manifest's name, valid or not.
    import json

    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return
    normalise_manifest(value)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
