"""Seed corpora for the fuzz targets, built from tests/fixtures (real agent systems and their manifests).

    .venv/bin/python tests/fuzz/seeds.py OUT_DIR    # writes OUT_DIR/<target>/seed-*

Seeds are rebuilt on every run (cheap) rather than committed as binary files.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.fuzz._common import join_files  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TARGETS = ("manifest", "parsers", "unpack")


def _systems() -> list[Path]:
    roots = sorted(p for p in (FIXTURES / "agent_systems").iterdir() if p.is_dir())
    roots += sorted(p for p in (FIXTURES / "archives").iterdir() if p.is_dir())
    roots += sorted(p for p in (FIXTURES / "mcp_servers").iterdir() if p.is_dir())
    return roots


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file() and not path.is_symlink()}


def manifest_seeds() -> list[bytes]:
    seeds = [path.read_bytes() for path in sorted(FIXTURES.rglob("assay-manifest.json"))]
    return seeds + [b"{}", b'{"schema_version": 1}', b"[]", b'{"components": {"models": [{}]}}']


def parser_seeds() -> list[bytes]:
    seeds = []
    for root in _systems():
        files = _files(root)
        seeds.append(join_files(files))
        seeds += [join_files({path: content}) for path, content in files.items()]
    return seeds


def _zip(files: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
        for path, target in (links or {}).items():
            info = zipfile.ZipInfo(path)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, target)
    return buffer.getvalue()


def _tar(files: dict[str, bytes], mode: str, *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(path)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def unpack_seeds() -> list[bytes]:
    seeds = []
    for root in _systems()[:6]:
        files = _files(root)
        seeds += [_zip(files), _tar(files, "w"), _tar(files, "w:gz")]
    small = {"a/config.json": b'{"mcpServers": {}}', "b.txt": b"hello\n"}
    seeds += [_tar(small, "w:bz2"), _tar(small, "w:xz"),
              # the shapes the reader must refuse, so the fuzzer starts next to each refusal
              _zip(small, links={"a/inside": "../b.txt", "a/escape": "../../etc/passwd"}),
              _tar(small, "w", links={"a/inside": "../b.txt", "a/escape": "/etc/passwd"}),
              _zip({"../evil.txt": b"x"}), _tar({"/abs.txt": b"x"}, "w"),
              _zip({"big.txt": b"\0" * (512 * 1024)})]
    return seeds


BUILDERS = {"manifest": manifest_seeds, "parsers": parser_seeds, "unpack": unpack_seeds}


def write_seeds(target: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    seeds = BUILDERS[target]()
    for seed in seeds:
        (out / f"seed-{hashlib.sha256(seed).hexdigest()[:16]}").write_bytes(seed)
    return len(seeds)


if __name__ == "__main__":
    base = Path(sys.argv[1])
    print(json.dumps({target: write_seeds(target, base / target) for target in TARGETS}))
