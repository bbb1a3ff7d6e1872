"""Fault tests (make fault-test): real processes killed and restarted on loopback, each test bounded in time.

Collected only when ASSAY_FAULT_TESTS=1 (set by infra/run-fault-tests.sh, which also starts the private
redis-server these tests use as the broker and restart at will): they never touch the shared Redis.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

if os.environ.get("ASSAY_FAULT_TESTS") != "1":
    collect_ignore_glob = ["test_*.py"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, *, timeout: float = 20.0, up: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.1)
    raise TimeoutError(f"port {port} did not come {'up' if up else 'down'}")


def worker_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """A real Celery worker (prefork) on the run's broker and test database; killable at will."""

    def __init__(self, *, concurrency: int = 1, name: str = "fault", beat: bool = False) -> None:
        self.log = Path(django_settings.DATA_DIR) / f"worker-{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        celery = Path(sys.executable).with_name("celery")
        env = {**os.environ, "DATABASE_URL": worker_database_url(), "DJANGO_SETTINGS_MODULE": "assay.settings"}
        # with beat: the production schedule (the lost-run sweep included) runs inside this worker
        beat_args = ["-B", f"--schedule={self.log.with_suffix('.beat')}"] if beat else []
        self.proc = subprocess.Popen(
            [str(celery), "-A", "assay", "worker", "--pool=prefork", f"--concurrency={concurrency}",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", *beat_args,
             f"--hostname={name}-{time.monotonic_ns()}@%h", f"--logfile={self.log}"],
            env=env, cwd=str(django_settings.BASE_DIR), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early: {self.log.read_text(errors='replace')[-2000:]}")
            if self.log.exists() and "ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("worker did not become ready")

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def kill_all(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill_all()


@pytest.fixture
def start_worker():  # noqa: ANN201
    workers: list[Worker] = []

    def start(**kwargs) -> Worker:  # noqa: ANN003
        worker = Worker(**kwargs)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


class PrivateRedis:
    """The redis-server infra/run-fault-tests.sh started for this run (our own port and data dir)."""

    def __init__(self) -> None:
        self.port = int(os.environ["ASSAY_FAULT_REDIS_PORT"])
        self.command = json.loads(os.environ["ASSAY_FAULT_REDIS_CMD"])
        self.proc: subprocess.Popen | None = None

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown"], capture_output=True, timeout=10)
        wait_port(self.port, up=False)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_port(self.port)


@pytest.fixture
def private_redis():  # noqa: ANN201
    if "ASSAY_FAULT_REDIS_PORT" not in os.environ:
        pytest.fail("run through infra/run-fault-tests.sh (make fault-test): it starts the private redis-server")
    return PrivateRedis()


class FlakyTcpProxy:
    """A loopback TCP proxy in front of a real server that can cut every connection and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepting = threading.Event()
        self.accepting.set()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop_all(self, *, refuse_new: bool) -> None:
        if refuse_new:
            self.accepting.clear()
        with self.lock:
            for sock in self.connections:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass
            self.connections.clear()

    def resume(self) -> None:
        self.accepting.set()

    def close(self) -> None:
        self.closed = True
        self.drop_all(refuse_new=True)
        self.listener.close()
