"""`make run`: the embedded default (SQLite, local vault and keys under var/, a real Celery worker on kombu's
filesystem broker) with demo data, then the portal.

Quiet by design: one line per step and per service, then the demo logins and the URL last; everything else
goes to log files under the data directory. HOST and PORT choose where the portal listens (127.0.0.1:8000).
Ctrl-C (or SIGTERM) stops the worker and the portal and exits 0. To get Ctrl-C to itself only, it takes the
terminal's foreground (so `make`, its parent, does not see the interrupt and report an error).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
CELERY = str(ROOT / ".venv" / "bin" / "celery")


def main() -> int:
    os.chdir(ROOT)
    data = Path(os.environ.setdefault("ASSAY_DATA_DIR", str(ROOT / "var")))
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return fail(f"PORT={port!r} is not a port number")
    if not port_free(host, int(port)):
        return fail(f"{host}:{port} is already in use; choose another with PORT=8001 make run")
    data.mkdir(parents=True, exist_ok=True)
    shown = data.relative_to(ROOT) if data.is_relative_to(ROOT) else data
    foreground = Foreground()
    children: list[subprocess.Popen] = []

    def stop(*_args) -> None:  # noqa: ANN002
        print("\nStopping the portal and the worker...", flush=True)
        stop_quietly(list(reversed(children)))  # the portal first: no request reaches a stopping worker
        foreground.restore()
        print("Stopped.", flush=True)
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)  # the terminal closed
    log = data / "setup.log"
    log.write_text("")
    steps = [
        ("database migrated (SQLite)", [PY, "manage.py", "migrate", "--noinput", "-v0"]),
        ("cache table ready", [PY, "manage.py", "createcachetable"]),
        ("demo accounts loaded", [PY, "manage.py", "load_demo"]),
        ("demo cases triaged in the sandbox (reported, escalated, guidance) and an aggregate release published",
         [PY, "manage.py", "load_demo_route"]),
        (f"sample report signed and verified ({shown}/demo-report.pdf)",
         [PY, "manage.py", "demo_report", str(data / "demo-report.pdf")]),
    ]
    outputs = {}
    for label, argv in steps:
        ok, outputs[argv[2]] = run_step(argv, log)
        if ok and argv[2] == "demo_report":
            ok, _ = run_step([PY, "manage.py", "verify_report", str(data / "demo-report.pdf")], log)
        if not ok:
            return fail(f"set-up step failed: {label}; its output is in {log}")
        print(f"  ok  {label}", flush=True)
    worker_log = open(data / "worker.log", "ab")  # noqa: SIM115 - held for the child's lifetime
    children.append(subprocess.Popen(
        [CELERY, "-A", "assay", "--quiet", "worker", "-B", "--loglevel=WARNING", "--concurrency=2",
         "--without-gossip", "--without-mingle"], stdout=worker_log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, process_group=0))
    print(f"  ok  worker running (Celery on the embedded broker; log {shown}/worker.log)", flush=True)
    portal_log = open(data / "portal.log", "ab")  # noqa: SIM115
    children.append(subprocess.Popen(
        [PY, "manage.py", "runserver", f"{host}:{port}", "--noreload"], stdout=portal_log,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, process_group=0))
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"
    if not wait_for(url, children):
        stop_quietly(children)
        return fail(f"the portal did not start; see {shown}/portal.log")
    print(f"  ok  portal running (log {shown}/portal.log)", flush=True)
    demo_output = outputs["load_demo"]
    print("\n" + demo_output[demo_output.find("Demo logins"):].strip(), flush=True)
    print(f"\nAssay portal: {url}    (Ctrl-C stops it)", flush=True)
    while True:
        for child in children:
            if child.poll() is not None:
                name = "worker" if child is children[0] else "portal"
                print(f"the {name} stopped (exit {child.returncode}); see {shown}/{name}.log", file=sys.stderr)
                stop_quietly(children)
                foreground.restore()
                return 1
        time.sleep(1)


def run_step(argv: list[str], log: Path) -> tuple[bool, str]:
    """Run one set-up command with its output in the set-up log; (succeeded, its output)."""
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          check=False)
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv[1:])}\n".encode() + done.stdout)
    return done.returncode == 0, done.stdout.decode("utf-8", "replace")


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_for(url: str, children: list[subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
                return response.status < 500
        except OSError:
            time.sleep(0.2)
    return False


def stop_quietly(children: list[subprocess.Popen]) -> None:
    """Terminate each child still running, then wait for each (killing one that outlasts 15 s)."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


def fail(message: str) -> int:
    print(f"make run: {message}", file=sys.stderr, flush=True)
    return 1


class Foreground:
    """Own process group in the terminal's foreground, so Ctrl-C reaches this process only; restored on exit."""

    def __init__(self) -> None:
        self.tty = None
        self.previous = None
        try:
            if not os.isatty(0):
                return
            self.previous = os.tcgetpgrp(0)
            os.setpgid(0, 0)
            signal.signal(signal.SIGTTOU, signal.SIG_IGN)
            os.tcsetpgrp(0, os.getpgrp())
            self.tty = 0
        except OSError:
            self.tty = None

    def restore(self) -> None:
        if self.tty is not None and self.previous is not None:
            try:
                os.tcsetpgrp(self.tty, self.previous)
            except OSError:
                pass
            self.tty = None


if __name__ == "__main__":
    sys.exit(main())
