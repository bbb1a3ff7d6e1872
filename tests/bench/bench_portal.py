"""Portal and API latency under 50 concurrent users vs a bare Django view on the same server, in one run.

Usage: .venv/bin/python tests/bench/bench_portal.py [--quick] [--users N] [--seconds S]

Starts gunicorn on 127.0.0.1 (a free port; loopback only) over a fresh
database: PostgreSQL on 127.0.0.1:5432 when reachable (a throw-away
``assay_bench_<pid>`` database, dropped afterwards; Redis as the shared cache
when reachable), else SQLite. A builder with a triaged case logs in through
the real login form; the API uses a personal token.

Each simulated user loops: request, then think (uniform 0.5-1.5 s), cycling
through the three targets, so the targets are measured side by side under the
same load: the bare view, the case page, the API list of cases. Last line:
bench_portal: p95_ms= p95_ratio= ...  (case page p95, and its ratio to the bare view's p95)
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="assay-bench-portal-")
PG_ADMIN_URL = os.environ.get("ASSAY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ASSAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
DEADLINE_SECONDS = 600  # the whole run, whatever happens


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Database:
    """A throw-away PostgreSQL database, or SQLite under the temp dir."""

    def __init__(self) -> None:
        self.name = f"assay_bench_{os.getpid()}"
        self.postgres = reachable("127.0.0.1", 5432) and os.environ.get("ASSAY_BENCH_SQLITE") != "1"
        if self.postgres:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"
        else:
            self.url = f"sqlite:///{DATA_DIR}/bench.sqlite3"

    def drop(self) -> None:
        if self.postgres:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def prepare(env: dict[str, str]) -> tuple[str, str, str]:
    """Migrate, create a builder with a triaged case and a token. Returns (email, case id, token)."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from intake.services import submission_submit
    from tests.factories import make_draft, make_token, make_user
    from triage.pipeline import triage_submission_run

    builder = make_user("bench-builder@acme-agents.example")
    for index in range(12):  # a builder with some history: the API list pages through real rows
        make_draft(builder, title=f"Draft agent {index}", complete=index % 3 == 0)
    case = submission_submit(submission=make_draft(builder, title="Benchmarked agent"), actor=builder)
    state = triage_submission_run(str(case.pk))  # a real triage result, findings and all, on the case page
    token = make_token(builder, scopes=("submissions:read",))
    connections.close_all()
    print(f"prepared: builder with 13 cases; benchmarked case {state}")
    return builder.email, str(case.pk), token


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = open(Path(DATA_DIR) / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(gunicorn), "assay.wsgi:application", f"--bind=127.0.0.1:{port}", f"--workers={workers}",
         "--worker-class=gthread", f"--threads={threads}", "--timeout=60", "--keep-alive=30",
         "--log-level=warning"],
        env={**os.environ, **env}, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log.name}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer; see {log.name}")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def login(port: int, email: str, password: str) -> str:
    """Sign in through the real allauth form; returns the session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    page = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "login": email, "password": password}).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/accounts/login/"})
    opener.open(request, timeout=30).read()
    session = next((c.value for c in jar if c.name.endswith("sessionid")), None)
    if not session:
        raise RuntimeError("login failed: no session cookie")
    return session


def _cpu_seconds_of_group(pgid: int) -> float:
    """User + system CPU seconds of the live processes in one process group (the gunicorn master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "comm)": state ppid pgrp ... utime(11) stime(12)
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all processes, every helper's included), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_load(port: int, targets: dict[str, tuple[str, dict[str, str]]], users: int, seconds: float,
             ) -> tuple[dict[str, list[float]], dict[str, int], float]:
    latencies: dict[str, list[float]] = {name: [] for name in targets}
    errors: dict[str, int] = {name: 0 for name in targets}
    lock = threading.Lock()
    names = list(targets)
    stop_at = time.monotonic() + seconds

    def user(index: int) -> None:
        rng = random.Random(index)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        turn = index % len(names)
        time.sleep(rng.uniform(0, 1.0))  # users arrive spread over the first second
        while time.monotonic() < stop_at:
            name = names[turn % len(names)]
            turn += 1
            path, headers = targets[name]
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    latencies[name].append(elapsed)
                else:
                    errors[name] += 1
            time.sleep(rng.uniform(0.5, 1.5))
        conn.close()

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return latencies, errors, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2))
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("bench_portal overran")))
    signal.alarm(DEADLINE_SECONDS)

    database = Database()
    env = {"ASSAY_DATA_DIR": DATA_DIR, "DATABASE_URL": database.url, "DJANGO_SETTINGS_MODULE": "tests.bench.portal_site",
           "ASSAY_LOG_LEVEL": "WARNING", "ASSAY_SANDBOX": os.environ.get("ASSAY_SANDBOX", "auto")}
    if database.postgres and reachable("127.0.0.1", 6379):
        env.update({"REDIS_URL": REDIS_URL, "ASSAY_CACHE_PREFIX": f"bench-portal-{os.getpid()}"})
    server = None
    try:
        email, case_id, token = prepare(env)
        from tests.factories import PASSWORD

        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        session = login(port, email, PASSWORD)
        cookie = {"Cookie": f"sessionid={session}"}
        targets = {"bare": ("/bench/bare/", {}), "case_page": (f"/cases/{case_id}/", cookie),
                   "api_list": ("/api/v1/submissions/", {"Authorization": f"Bearer {token}"})}
        for name, (path, headers) in targets.items():  # warm up and check every target answers 200
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(3):
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"{name} answered {response.status}")
            if name == "case_page" and b"Benchmarked agent" not in body:
                raise RuntimeError("the case page does not show the case")
            conn.close()
        load_before = os.getloadavg()[0]
        cpu_before = (time.process_time(), _cpu_seconds_of_group(server.pid), _machine_busy_seconds())
        latencies, errors, elapsed = run_load(port, targets, args.users, seconds)
        cpu_after = (time.process_time(), _cpu_seconds_of_group(server.pid), _machine_busy_seconds())
        # Cores used during the run: this process (the load generator), the server, and the whole machine.
        loadgen_cores, server_cores, machine_cores = (
            (after - before) / elapsed for before, after in zip(cpu_before, cpu_after))
    finally:
        if server is not None:
            stop_server(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        database.drop()

    total = sum(len(v) for v in latencies.values())
    db = "postgresql" if database.postgres else "sqlite"
    print(f"server: gunicorn gthread {args.workers} workers x {args.threads} threads on 127.0.0.1, {db}"
          f"{' + redis cache' if 'REDIS_URL' in env else ''}; {args.users} users, think 0.5-1.5 s, {elapsed:.0f} s")
    print(f"cpu during the run (cores of {os.cpu_count()}): load generator {loadgen_cores:.2f}, server "
          f"{server_cores:.2f}, whole machine {machine_cores:.2f} (the rest is other work on the machine); "
          f"load average at start {load_before:.2f}")
    stats = {}
    for name, values in latencies.items():
        if not values:
            raise RuntimeError(f"no successful requests for {name}")
        stats[name] = {"p50": statistics.median(values), "p95": percentile(values, 0.95), "n": len(values)}
        print(f"{name:10s} n={len(values):5d} p50={stats[name]['p50']:7.1f} ms  p95={stats[name]['p95']:7.1f} ms  "
              f"errors={errors[name]}")
    bare, case, api = stats["bare"], stats["case_page"], stats["api_list"]
    print(f"bench_portal: p95_ms={case['p95']:.1f} p95_ratio={case['p95'] / bare['p95']:.2f} "
          f"p50_ms={case['p50']:.1f} api_p95_ms={api['p95']:.1f} api_p95_ratio={api['p95'] / bare['p95']:.2f} "
          f"api_p50_ms={api['p50']:.1f} bare_p95_ms={bare['p95']:.1f} bare_p50_ms={bare['p50']:.1f} "
          f"users={args.users} rps={total / elapsed:.1f} errors={sum(errors.values())} db={db} "
          f"loadgen_cores={loadgen_cores:.2f} server_cores={server_cores:.2f} machine_cores={machine_cores:.2f} "
          f"loadavg_start={load_before:.2f}")


if __name__ == "__main__":
    main()
