"""The published manifest JSON Schema and its validation, with messages a builder can act on."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from intake.errors import ValidationFailed
from intake.jsonlimits import MAX_JSON_DEPTH, TooDeep, bounded_loads, json_depth

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "manifest.schema.json"
MAX_MANIFEST_BYTES = 512 * 1024


@lru_cache(maxsize=1)
def manifest_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(manifest_schema())


def manifest_errors(manifest) -> list[str]:  # noqa: ANN001
    """Every schema violation as ``path: message``, sorted by path for stable output."""
    errors = []
    for error in _validator().iter_errors(manifest):
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        errors.append(f"{where}: {error.message}")
    return sorted(errors)


def manifest_parse(raw: str | bytes | dict) -> dict:
    """Parse (if text) and validate a manifest; raise ValidationFailed listing every problem."""
    if isinstance(raw, (str, bytes)):
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValidationFailed(f"manifest is larger than {MAX_MANIFEST_BYTES // 1024} KiB")
        try:
            manifest = bounded_loads(raw)
        except TooDeep as exc:
            raise ValidationFailed(f"manifest is {exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationFailed(f"manifest is not valid JSON: {exc}") from exc
    else:
        manifest = raw
        if json_depth(manifest) > MAX_JSON_DEPTH:
            raise ValidationFailed(f"manifest is JSON nested deeper than {MAX_JSON_DEPTH} levels")
    errors = manifest_errors(manifest)
    if errors:
        raise ValidationFailed(f"manifest does not match the schema: {errors[0]}", details={"manifest": errors})
    return manifest
