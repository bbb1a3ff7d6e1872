"""Triage: whole sandboxed triage of a generated 500-file agent repository (about 100 Python modules, half of them
FastMCP servers, and 100 TypeScript MCP servers) vs a bare read-and-parse of the same
files; our sandbox start vs the bare `runsc do true` / `bwrap ... true`; fingerprint lookup against 100,000
stored fingerprints. All in one run.

Usage: .venv/bin/python tests/bench/bench_triage.py [--quick]
Last line: bench_triage: triage_s= read_parse_ratio= sandbox_overhead_ratio= fingerprint_lookup_ms= ...
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
_DATA = tempfile.mkdtemp(prefix="assay-bench-triage-")
os.environ["ASSAY_DATA_DIR"] = _DATA  # a private, throwaway database and data dir
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

import yaml  # noqa: E402

from tests.bench.generated_repository import WORDS, generate_repository  # noqa: E402
from triage import fingerprints  # noqa: E402
from triage.orchestrator import offline_context, triage_run  # noqa: E402
from triage.runner import source_for_path, triage_analyse  # noqa: E402
from triage.sandbox import SandboxRequest, _bwrap_argv, backend_resolve, backend_works, sandbox_run  # noqa: E402


# --- the baseline ----------------------------------------------------------------------------------

def read_and_parse(root: Path) -> int:
    """The baseline: read every file and parse it with the obvious stdlib/yaml parser."""
    parsed = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".py":
            ast.parse(text)
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix in (".yml", ".yaml"):
            yaml.safe_load(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        parsed += 1
    return parsed


def timed(fn, repeats: int) -> float:  # noqa: ANN001
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


# --- sandbox start ---------------------------------------------------------------------------------

MINIMAL_BWRAP = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/", "true"]


def bare_start_argv(backend: str, scratch: Path) -> list[str]:
    """The sandbox tool alone. For bubblewrap: the very command line our runner builds for ``true`` (same
    namespaces, uid, binds, /proc, /dev, sized /tmp), so the ratio is what the runner adds around bwrap (limits,
    cgroup, output handling); MINIMAL_BWRAP is printed beside it for reference."""
    if backend == "gvisor":
        return ["runsc", "--network=none", "do", "true"]
    if backend == "bubblewrap":
        return _bwrap_argv(SandboxRequest(argv=["/usr/bin/true"], scratch=scratch))
    return ["true"]


def our_start(backend: str) -> None:
    with tempfile.TemporaryDirectory(prefix="assay-bench-start-") as scratch:
        result = sandbox_run(backend=backend, request=SandboxRequest(argv=["/usr/bin/true"], scratch=Path(scratch)))
    if result.returncode != 0:
        raise RuntimeError(f"{backend} start failed: {result.stderr[-200:]!r}")


def bare_start(backend: str, *, minimal: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="assay-bench-bare-") as cwd:
        argv = MINIMAL_BWRAP if minimal else bare_start_argv(backend, Path(cwd))
        subprocess.run(argv, check=True, capture_output=True, cwd=cwd)


# --- fingerprint lookup ----------------------------------------------------------------------------

def seed_fingerprints(count: int, near_text: bytes) -> None:
    """``count`` stored fingerprints (random signatures, so the LSH index sees realistic spread).

    Rows go in through raw ``executemany`` (the ORM would spend a minute on 100,000 objects); cases are
    copies of one real ORM-made case, so every column the model has is filled the way Django fills it.
    """
    import uuid

    import numpy as np
    from django.core.management import call_command
    from django.db import connection, transaction

    from intake.models import Submission, User
    from triage.models import FingerprintBand, SubmissionFingerprint

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous=OFF")
    owners = [User.objects.create_user(email=f"bench{i}@example.invalid", password=None) for i in range(20)]
    template = Submission.objects.create(owner=owners[0], title="bench template")
    columns = [f.column for f in Submission._meta.concrete_fields]
    copied = ", ".join("?" if c in ("id", "reference", "owner_id") else c for c in columns)
    insert_case = (f"INSERT INTO {Submission._meta.db_table} ({', '.join(columns)}) "
                   f"SELECT {copied} FROM {Submission._meta.db_table} WHERE id = ?")
    fp_table, band_table = SubmissionFingerprint._meta.db_table, FingerprintBand._meta.db_table
    insert_fp = (f"INSERT INTO {fp_table} (id, submission_id, owner_id, scheme, signature, content_sha256, "
                 "file_count, created_at) VALUES (?, ?, ?, 'minhash-128-w5', ?, ?, 1, '2026-11-23 00:00:00')")
    insert_band = f"INSERT INTO {band_table} (fingerprint_id, key) VALUES (?, ?)"
    with connection.cursor() as cursor:
        # Bulk load first, index afterwards (as one would restore a dump): same index, built by a sort.
        constraints = connection.introspection.get_constraints(cursor, band_table)
        key_indexes = [name for name, info in constraints.items() if info["index"] and info["columns"] == ["key"]]
        for name in key_indexes:
            cursor.execute(f"DROP INDEX {name}")
    rng = np.random.default_rng(11)
    batch = 10_000
    with transaction.atomic():
        raw = connection.connection
        for start in range(0, count, batch):
            size = min(batch, count - start)
            signatures = rng.integers(0, 2**63, size=(size, fingerprints.NUM_PERM), dtype=np.uint64)
            if start == 0:
                signatures[0] = np.array(fingerprints.minhash_signature(
                    fingerprints.shingle_hashes(fingerprints.normalised_tokens(near_text))), dtype=np.uint64)
            cases, prints, bands = [], [], []
            for i in range(size):
                number = start + i + 1
                case_id = uuid.uuid4().hex
                owner = owners[number % len(owners)].pk
                cases.append((case_id, f"AS-B{number:09d}", owner, template.pk.hex))
                signature = [int(v) for v in signatures[i]]
                prints.append((number, case_id, owner, fingerprints.signature_bytes(signature), f"{number:064x}"))
                bands += [(number, key) for key in fingerprints.band_keys(signature)]
            raw.executemany(insert_case, cases)
            raw.executemany(insert_fp, prints)
            raw.executemany(insert_band, bands)
        for name in key_indexes:
            raw.execute(f"CREATE INDEX {name} ON {band_table} (key)")
    assert key_indexes, "the band key index must exist for the lookup being measured"


def lookup_ms(near_text: bytes, repeats: int) -> tuple[float, int]:
    edited = near_text[:-40] + b" an edited closing sentence about the release agent"
    signature = fingerprints.minhash_signature(fingerprints.shingle_hashes(fingerprints.normalised_tokens(edited)))
    found = []

    def once() -> None:
        found[:] = fingerprints.fingerprint_similar(signature=signature, content_sha256="0" * 64)

    once()  # warm the connection and caches
    return timed(once, repeats) * 1000, len(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    stored = 25_000 if args.quick else 100_000  # --quick: smaller inputs, as CONTRACT allows

    backend = backend_resolve(os.environ.get("ASSAY_SANDBOX", "auto"))
    work = Path(tempfile.mkdtemp(prefix="assay-bench-repo-"))
    try:
        repo = generate_repository(work / "repo", files=500)
        file_count = sum(1 for p in repo.rglob("*") if p.is_file())
        source = source_for_path(repo)
        outcomes = []

        def whole_triage() -> None:
            outcomes.append(triage_run(sources=[source], context_for=offline_context)[0])

        if not args.quick:
            whole_triage()  # warm-up (page cache)
        triage_s = timed(whole_triage, repeats)
        outcome = outcomes[-1]
        raw_s = timed(lambda: read_and_parse(repo), repeats * 3)
        per_backend = {}
        for name in ("gvisor", "bubblewrap"):
            if name != backend and backend_works(name):
                per_backend[name] = timed(lambda n=name: triage_analyse(sources=[source], backend=n), repeats)
        per_backend[backend] = triage_s

        starts = {}
        for name in ("gvisor", "bubblewrap"):
            if backend_works(name):
                ours = timed(lambda n=name: our_start(n), repeats * 3)
                bare = timed(lambda n=name: bare_start(n), repeats * 3)
                starts[name] = (ours, bare)
                line = f"sandbox start {name}: ours {ours * 1000:.1f} ms, bare {bare * 1000:.1f} ms, ratio {ours / bare:.2f}"
                if name == "bubblewrap":
                    minimal = timed(lambda: bare_start(name, minimal=True), repeats * 3)
                    line += f"; minimal bwrap (--ro-bind / /) {minimal * 1000:.1f} ms, ratio {ours / minimal:.2f}"
                print(line)

        near_text = " ".join(random.Random(3).choices(WORDS, k=400)).encode()
        seed_start = time.perf_counter()
        seed_fingerprints(stored, near_text)
        print(f"seeded {stored} fingerprints in {time.perf_counter() - seed_start:.1f} s")
        lookup, matches = lookup_ms(near_text, repeats * 10)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(_DATA, ignore_errors=True)

    ours, bare = starts.get(backend, (float("nan"), float("nan")))
    print(f"files={file_count} findings={len(outcome.analysis.findings)} decision={outcome.decision} "
          f"sandbox={backend} triage {triage_s:.2f} s vs read+parse {raw_s * 1000:.0f} ms; "
          f"lookup {lookup:.1f} ms over {stored} stored, {matches} match(es)")
    extra = " ".join(f"{name}_start_ratio={o / b:.2f}" for name, (o, b) in sorted(starts.items()))
    extra += " " + " ".join(f"{name}_triage_s={value:.2f}" for name, value in sorted(per_backend.items()))
    print(f"bench_triage: triage_s={triage_s:.2f} read_parse_ratio={triage_s / raw_s:.1f} "
          f"sandbox_overhead_ratio={ours / bare:.2f} fingerprint_lookup_ms={lookup:.1f} "
          f"sandbox={backend} files={file_count} stored_fingerprints={stored} {extra}")


if __name__ == "__main__":
    main()
