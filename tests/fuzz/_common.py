"""What every fuzz target shares: the project on sys.path, Django configured, a per-input input reader.

A target is run by atheris (libFuzzer): ``python tests/fuzz/fuzz_<name>.py [libFuzzer flags] CORPUS_DIR...``.
libFuzzer's own ``-timeout`` is the per-input time budget (a slower input is a finding, "hang"), and
``-rss_limit_mb`` the memory budget. An exception the target does not list as an expected rejection
escapes ``TestOneInput`` and is a finding ("crash"); libFuzzer saves the input under ``-artifact_prefix``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup_django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
    os.environ.setdefault("ASSAY_LOG_LEVEL", "ERROR")
    import django

    django.setup()


def split_files(data: bytes, *, max_files: int = 8) -> dict[str, bytes]:
    """A multi-file tree from one fuzz input: records ``path NUL content`` separated by ``NUL SOH``.

    Seeds (tests/fuzz/seeds.py) write real fixture trees in this shape, so mutations start from real configs.
    """
    files: dict[str, bytes] = {}
    for record in data.split(b"\x00\x01")[:max_files]:
        raw_path, _, content = record.partition(b"\x00")
        path = raw_path.decode("utf-8", "replace").strip().strip("/") or "file.txt"
        files.setdefault(path, content)
    return files


def join_files(files: dict[str, bytes]) -> bytes:
    return b"\x00\x01".join(path.encode() + b"\x00" + content for path, content in files.items())
