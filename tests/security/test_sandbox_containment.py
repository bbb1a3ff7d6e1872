"""The sandbox is the boundary: each property is proven from inside, for every backend that works here."""

from __future__ import annotations

import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.unit.dynamic.helpers import checks_of, fixture_copy, run_stage
from triage.sandbox import (Mount, SandboxLimits, SandboxRequest, SandboxUnavailable, backend_resolve, backend_works,
                            sandbox_run)

REAL_BACKENDS = ("gvisor", "bubblewrap")


@pytest.fixture(params=[*REAL_BACKENDS, "bubblewrap-without-prlimit"])
def backend(request, monkeypatch) -> str:  # noqa: ANN001
    name = request.param
    if name == "bubblewrap-without-prlimit":
        # The fallback launch: limits and the pids cgroup set in a pre-exec hook instead of by sh and prlimit.
        import shutil

        import triage.sandbox

        real_which = shutil.which
        monkeypatch.setattr(triage.sandbox.shutil, "which",
                            lambda command, *args, **kwargs: None if command == "prlimit"
                            else real_which(command, *args, **kwargs))
        name = "bubblewrap"
    if not backend_works(name):
        pytest.skip(f"{name} does not work on this machine")
    return name


def run_inside(backend: str, tmp_path: Path, code: str, *, limits: SandboxLimits | None = None,
               mounts: list[Mount] | None = None):  # noqa: ANN201
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return sandbox_run(backend=backend, request=SandboxRequest(
        argv=[sys.executable, "-S", "-c", textwrap.dedent(code)], scratch=scratch, mounts=mounts or [],
        limits=limits or SandboxLimits(wall_seconds=20)))


def test_tcp_connect_to_a_host_loopback_listener_fails(backend: str, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        result = run_inside(backend, tmp_path, f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                print("connected")
            except OSError as exc:
                print("refused", type(exc).__name__)
        """)
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("refused")


def test_writes_outside_scratch_fail(backend: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    readonly_input = tmp_path / "input"
    readonly_input.mkdir()
    (readonly_input / "config.json").write_text("{}")
    targets = [str(outside / "planted"), "/input/planted", f"{sys.prefix}/planted", "/usr/planted",
               str(Path(settings.BASE_DIR) / "triage" / "planted.py")]
    result = run_inside(backend, tmp_path, f"""
        for target in {targets!r}:
            try:
                open(target, "w").write("x")
                print("WROTE", target)
            except OSError as exc:
                print("denied", target)
        open("/scratch/ok", "w").write("fine")
        open("/scratch/tmp/ok", "w").write("fine")
        print("scratch ok", open("/scratch/ok").read(), open("/scratch/tmp/ok").read())
    """, mounts=[Mount(source=readonly_input, target="/input")])
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "WROTE" not in out
    assert out.count("denied") == len(targets)
    assert "scratch ok fine fine" in out
    assert list((tmp_path / "scratch").rglob("*")) == [tmp_path / "scratch" / "tmp"]  # in memory, not on the host
    assert not (outside / "planted").exists() and not (readonly_input / "planted").exists()


def test_a_writer_without_end_stops_at_the_scratch_cap_and_leaves_nothing_on_the_host(backend: str,
                                                                                      tmp_path: Path) -> None:
    """Bug class: RLIMIT_FSIZE bounds one file, not the total; 200 files of 16 MiB put 3.2 GiB on the host."""
    limits = SandboxLimits(wall_seconds=30, scratch_bytes=32 * 1024 * 1024, file_size_bytes=16 * 1024 * 1024)
    result = run_inside(backend, tmp_path, """
        import os
        written = 0
        block = b"x" * (1024 * 1024)
        try:
            for index in range(200):
                with open(f"/scratch/blob-{index}", "wb") as out:
                    for _ in range(16):
                        out.write(block)
                        written += len(block)
        except OSError as exc:
            print("stopped", exc.errno, written // (1024 * 1024))
        else:
            print("wrote everything", written // (1024 * 1024))
    """, limits=limits)
    out = result.stdout.decode().split()
    assert out[:2] == ["stopped", "28"], result.stdout + result.stderr  # ENOSPC
    assert int(out[2]) <= 32
    assert [p for p in (tmp_path / "scratch").rglob("*") if p.is_file()] == []
    assert not (Path(settings.BASE_DIR) / "triage" / "planted.py").exists()


def test_platform_secrets_are_unreadable(backend: str, tmp_path: Path) -> None:
    data_dir = Path(settings.DATA_DIR)
    secret_key = data_dir / "secret_key"
    assert secret_key.exists()  # created by settings for the embedded default
    keys = data_dir / "keys"
    keys.mkdir(exist_ok=True)
    # Stand-ins beside the real key file and database, never over them: other tests in this run use those.
    planted_key = keys / "planted-secret"
    planted_key.write_bytes(b"K" * 32)
    database = data_dir / "planted.sqlite3"
    database.write_bytes(b"SQLite format 3\0")
    project_var = Path(settings.BASE_DIR) / "var"
    targets = [str(secret_key), str(planted_key), str(database), str(data_dir), str(project_var / "secret_key"),
               str(project_var / "keys"), "/etc/shadow", "/root/.ssh", str(Path.home() / ".pgpass")]
    targets += [str(path) for path in (keys / "kek", data_dir / "assay.sqlite3") if path.exists()]
    result = run_inside(backend, tmp_path, f"""
        import os
        for target in {targets!r}:
            try:
                if os.path.isdir(target):
                    print("LISTED", target, os.listdir(target))
                else:
                    print("READ", target, open(target, "rb").read(8))
            except OSError:
                print("unreadable", target)
    """)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "READ" not in out and "LISTED" not in out, out
    assert out.count("unreadable") == len(targets)


def test_a_fork_bomb_is_held_to_the_process_limit_and_stopped(backend: str, tmp_path: Path) -> None:
    counted = run_inside(backend, tmp_path, """
        import os, time
        children = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(5)
                os._exit(0)
            children += 1
        print(children)
    """, limits=SandboxLimits(processes=16, wall_seconds=20))
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout) < 16

    started = time.monotonic()
    bomb = run_inside(backend, tmp_path, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """, limits=SandboxLimits(processes=16, cpu_seconds=30, wall_seconds=2))
    elapsed = time.monotonic() - started
    assert bomb.returncode != 0
    assert bomb.killed_by == "wall time"
    assert elapsed < 2 + 8  # the wall limit plus tearing the sandbox down


def test_a_memory_bomb_is_stopped_at_the_memory_limit(backend: str, tmp_path: Path) -> None:
    result = run_inside(backend, tmp_path, """
        blocks = []
        try:
            while True:
                blocks.append(bytearray(16 * 1024 * 1024))
        except MemoryError:
            print(len(blocks) * 16)
    """, limits=SandboxLimits(memory_bytes=256 * 1024 * 1024, wall_seconds=20))
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) <= 256


def test_an_endless_loop_is_stopped_within_its_limit(backend: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_inside(backend, tmp_path, "while True: pass", limits=SandboxLimits(cpu_seconds=1, wall_seconds=3))
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    # RLIMIT_CPU kills it under bubblewrap; gVisor does not enforce RLIMIT_CPU, so the wall clock does.
    assert result.killed_by in ("killed", "cpu time", "wall time")
    assert elapsed < 3 + 8


def test_auto_picks_the_strongest_working_backend_and_never_none() -> None:
    working = [name for name in REAL_BACKENDS if backend_works(name)]
    if not working:
        with pytest.raises(SandboxUnavailable):
            backend_resolve("auto")
        return
    assert backend_resolve("auto") == working[0]


def test_none_runs_only_when_asked_for_explicitly(tmp_path: Path) -> None:
    assert backend_resolve("none") == "none"
    result = run_inside("none", tmp_path, "print('plain')")
    assert result.backend == "none" and result.stdout == b"plain\n"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(SandboxUnavailable, match="unknown sandbox backend 'docker'"):
        backend_resolve("docker")


# --- the dynamic stage: a submitted server that phones home (moved from tests/unit/dynamic/test_stage_fixtures.py)
# Fails if the dynamic stage's sandbox lets a connection reach a real listener on the host (the accept would
# succeed) or if the canary-exfiltration check stops catching and masking the attempt.

def test_the_exfiltrating_server_is_caught_by_the_canary_with_no_packet_leaving(tmp_path: Path) -> None:
    # A real listener on the host, on every interface: the server is pointed straight at it.
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))  # noqa: S104 - the test must see any delivery, whatever the route
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    tree = fixture_copy("exfiltrating", tmp_path)
    server = tree / "server.py"
    server.write_text(server.read_text().replace("http://collector.exfil-demo.net/ingest",
                                                 f"http://127.0.0.1:{port}/ingest"))
    try:
        outcome = run_stage(tree)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    found = checks_of(outcome)
    assert found["dynamic.canary-exfiltration"] == [
        f"ticket-helper: canary sent to 127.0.0.1:{port} (POST /ingest HTTP/1.1)"]
    # The secret itself is never kept: the request the server made is recorded with the canary masked.
    assert "assay-canary-" not in repr(outcome.findings) + repr(outcome.records)
    (record,) = outcome.records
    assert any("[canary]" in m["message"] for m in record["transcript"] if '"tools/call"' in m["message"])
