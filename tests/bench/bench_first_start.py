"""First start: a fresh clone's `make run` to the first page served, beside the baseline of what it used to
install (the runtime *and* the test toolchain, `pip install -e .[test]`) in a fresh venv, in one run.

Usage: .venv/bin/python tests/bench/bench_first_start.py [--skip-baseline]

Clones this checkout (its committed HEAD) into a temporary directory, runs `make run` there on a free loopback
port with a private data directory, and times: the pip install, the set-up steps, and the first `200` from the
portal. pip's cache is whatever this machine has (the target is stated "with a warm package cache"; run it
twice to warm it). Then Ctrl-C-equivalent (SIGINT to its process group) and the exit status. Nothing is kept.
Last line: bench_first_start: first_page_s= pip_s= baseline_pip_s= exit_on_interrupt= target_s=240
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_start(work: Path) -> tuple[float, float | None, int | None, str]:
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {**os.environ, "PORT": str(port), "ASSAY_DATA_DIR": str(work / "data")}
    for name in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV"):
        env.pop(name, None)
    started = time.monotonic()
    # On a pseudo-terminal, as a person runs it: Ctrl-C is then the byte 0x03 typed at the terminal.
    pid, master = pty.fork()
    if pid == 0:
        os.chdir(clone)
        os.execvpe("make", ["make", "run"], env)
    lines: list[str] = []
    buffer = ""
    pip_s = None
    url = f"http://127.0.0.1:{port}/"
    first_page = None
    deadline = started + 900
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536).decode("utf-8", "replace")
            except OSError:
                break  # the terminal closed: make ended
            buffer += chunk
            found = re.search(r"done in (\d+) s", buffer)
            if found and pip_s is None:
                pip_s = float(found.group(1))
        if "Assay portal:" in buffer:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        first_page = time.monotonic() - started
                        break
            except OSError:
                pass
    exit_status = None
    if first_page is not None:
        os.write(master, b"\x03")
        end = time.monotonic() + 60
        while time.monotonic() < end:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                exit_status = os.waitstatus_to_exitcode(status)
                break
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    buffer += os.read(master, 65536).decode("utf-8", "replace")
                except OSError:
                    pass
    if exit_status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(master)
    tail = ""
    lines = buffer.replace("\r\n", "\n").splitlines()
    output = "\n".join(lines) + tail
    if first_page is None:
        raise SystemExit(f"make run did not serve its first page; its output:\n{output[-3000:]}")
    return first_page, pip_s, exit_status, output


def baseline_pip(work: Path) -> float:
    venv = work / "baseline-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.monotonic()
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "-e",
                    f"{ROOT}[test]"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="assay-bench-first-start-"))
    try:
        first_page, pip_s, exit_status, output = first_start(work)
        print(output.strip())
        baseline = None if args.skip_baseline else baseline_pip(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"first page after {first_page:.0f} s (pip {pip_s if pip_s is not None else 'n/a'} s); "
          f"baseline pip install of runtime + test toolchain: "
          f"{f'{baseline:.0f} s' if baseline is not None else 'skipped'}; exit on Ctrl-C: {exit_status}")
    print(f"bench_first_start: first_page_s={first_page:.0f} pip_s={pip_s if pip_s is not None else 'nan'} "
          f"baseline_pip_s={f'{baseline:.0f}' if baseline is not None else 'nan'} exit_on_interrupt={exit_status} "
          f"target_s={TARGET_S}")


if __name__ == "__main__":
    main()
