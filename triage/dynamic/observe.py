"""Inside the sandbox: what a running server did. Canary planting, a capturing listener on the sandbox's own
loopback, filesystem snapshots, the audit-hook log, and a watchdog against fork storms.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triage.dynamic.session import BoundedStdio

ROOT = Path("/scratch/root")
HOME = Path("/scratch/home")
PRIVATE = Path("/scratch/private")
TMP = Path("/scratch/tmp")
EFFECTS_LOG = Path("/scratch/observe/effects.jsonl")
TLS_CERT = Path("/scratch/observe/capture.pem")
OBSERVE_SITE = Path(__file__).resolve().parent / "observe_site"
MAX_CAPTURE_BYTES = 64 * 1024


# --- observation ----------------------------------------------------------------------------------

class CaptureListener:
    """A TCP listener on the sandbox's own loopback that records what a redirected connection sends.

    It answers like a tolerant HTTP server (``200 OK``, empty JSON) so a client finishes its request and
    we see the body. A connection that opens with a TLS handshake is answered with a throwaway certificate made
    for this run (the observed process is told not to verify it: see observe_site), so what an HTTPS request
    would have carried is read in clear too. Nothing is forwarded; there is nowhere to forward to.
    """

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.captures: list[dict] = []
        self._lock = threading.Lock()
        self._tls = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn, peer[1]), daemon=True).start()

    def _tls_context(self):  # noqa: ANN202 - ssl.SSLContext
        """Made on the first TLS connection only (most servers never connect out): a fresh key each run."""
        import ssl

        with self._lock:
            if self._tls is None:
                TLS_CERT.parent.mkdir(parents=True, exist_ok=True)
                TLS_CERT.write_bytes(_throwaway_certificate())
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(TLS_CERT)
                self._tls = context
            return self._tls

    def _handle(self, conn: socket.socket, peer_port: int) -> None:
        data = bytearray()
        conn.settimeout(1.0)
        tls = payload_seen = False
        try:
            first = conn.recv(1, socket.MSG_PEEK)
            if first == b"\x16":  # a TLS handshake record
                tls = True
                conn = self._tls_context().wrap_socket(conn, server_side=True)
            while len(data) < MAX_CAPTURE_BYTES:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                payload_seen = True
                if _http_complete(bytes(data)):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                 b"Connection: close\r\n\r\n{}")
                    break
        except (OSError, ValueError):
            pass  # ssl.SSLError is an OSError: a client that refused our certificate sent us nothing readable
        finally:
            conn.close()
            with self._lock:
                self.captures.append({"peer_port": peer_port, "bytes": bytes(data[:MAX_CAPTURE_BYTES]),
                                      "tls": tls, "payload_seen": payload_seen})


def _throwaway_certificate() -> bytes:
    """A self-signed certificate and its key (PEM), valid for a day, trusted by nothing but the observed run."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "assay capture listener")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


def _http_complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            try:
                return len(body) >= int(value.strip())
            except ValueError:
                return True
    return True


def snapshot(*roots: Path) -> dict[str, str]:
    found = {}
    for base in roots:
        for dirpath, _dirs, names in os.walk(base):
            for name in names:
                path = Path(dirpath) / name
                try:
                    if path.is_symlink() or not path.is_file():
                        continue
                    digest = hashlib.sha256(path.read_bytes()[: 4 * 1024 * 1024]).hexdigest()
                except OSError:
                    continue
                found[str(path)] = digest
    return found


SCRATCH_DB = HOME / "data" / "app.db"
# Where servers are commonly told their SQLite database lives; set to the planted scratch database unless the
# submission's own configuration names one.
DB_ENV = ("SQLITE_DB", "SQLITE_DB_PATH", "SQLITE_PATH", "DB_PATH", "DATABASE_PATH")
MAX_DATABASES = 20
MAX_DATABASE_BYTES = 64 * 1024 * 1024


def plant_database(canary: str) -> Path:
    """A scratch SQLite database with rows that exist before the server starts: rows or tables of it that are gone
    after the session were destroyed by the server (the canary in it also marks any flow out of it)."""
    import sqlite3

    SCRATCH_DB.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(SCRATCH_DB) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, api_token TEXT)")
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)",
                       [(1, "Alice", "alice@example.com", canary), (2, "Bob", "bob@example.com", canary),
                        (3, "Chen", "chen@example.com", canary)])
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(1, 1, 20.5), (2, 2, 13.0), (3, 3, 7.25)])
    return SCRATCH_DB


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def database_census(*roots: Path) -> dict[str, dict[str, int]]:
    """path -> {table: rows} for the SQLite databases under ``roots`` (bounded in number and size), read-only."""
    import sqlite3

    found: dict[str, dict[str, int]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            if len(found) >= MAX_DATABASES:
                return found
            try:
                if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_DATABASE_BYTES:
                    continue
            except OSError:
                continue
            if not _is_sqlite(path):
                continue
            try:
                db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
                try:
                    tables = [row[0] for row in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")][:100]
                    found[str(path)] = {t: db.execute(f'SELECT count(*) FROM "{t.replace(chr(34), "")}"')
                                        .fetchone()[0] for t in tables}
                finally:
                    db.close()
            except sqlite3.Error:
                continue
    return found


def destroyed_data(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> list[dict]:
    """Tables dropped and rows deleted from databases that existed before the session."""
    destroyed = []
    for path, tables in before.items():
        now = after.get(path)
        if now is None:
            continue  # the file itself went: files_deleted reports it
        dropped = sorted(t for t in tables if t not in now)
        emptied = {t: tables[t] - now[t] for t in tables if t in now and now[t] < tables[t]}
        if dropped or emptied:
            destroyed.append({"path": shown_path(path), "dropped": dropped[:20],
                              "rows_deleted": dict(sorted(emptied.items())[:20])})
    return destroyed


def plant_canary(canary: str) -> list[str]:
    """Private data a leaking tool could reach: credentials in HOME and a .env beside the submitted code."""
    planted = {
        HOME / ".aws" / "credentials": f"[default]\naws_access_key_id = AKIA{canary[-16:].upper()}\n"
                                       f"aws_secret_access_key = {canary}\n",
        HOME / ".config" / "assay-canary" / "token": canary + "\n",
        PRIVATE / "customers.csv": f"id,email,api_token\n1,alice@example.com,{canary}\n",
        ROOT / ".env.local": f"API_TOKEN={canary}\n",
    }
    for path, text in planted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    decoy = ROOT / "notes" / "assay-decoy.txt"
    decoy.parent.mkdir(parents=True, exist_ok=True)
    decoy.write_text("Quarterly notes: nothing to see here.\n")
    return sorted(str(p) for p in [*planted, decoy])



def observed_effects(before: dict[str, str], canary: str, listener: CaptureListener,
                     databases_before: dict[str, dict[str, int]] | None = None) -> dict:
    after = snapshot(ROOT, HOME, PRIVATE, TMP)
    events = []
    if EFFECTS_LOG.exists():
        for line in EFFECTS_LOG.read_text(errors="replace").splitlines()[:4000]:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    connects = {e.get("local_port"): e.get("destination") for e in events if e.get("event") == "connect"}
    network = []
    for capture in listener.captures:
        data = capture["bytes"].decode("utf-8", "replace")
        network.append({"destination": str(connects.get(capture["peer_port"]) or "unknown"),
                        "canary_seen": canary in data, "request_line": data.split("\r\n", 1)[0][:300],
                        "bytes": len(capture["bytes"]), "tls": capture["tls"],
                        "payload_seen": capture["payload_seen"]})
    captured = {n["destination"] for n in network}
    for event in events:
        if event.get("event") == "connect" and event.get("destination") not in captured:
            network.append({"destination": str(event.get("destination")), "canary_seen": False,
                            "request_line": "", "bytes": 0})
        elif event.get("event") == "http_send" and canary in str(event.get("data")):
            for item in network:
                item["canary_seen"] = True if item["destination"] != "unknown" else item["canary_seen"]
        elif event.get("event") == "resolve" and not any(
                n["destination"].startswith(str(event.get("host")) + ":") for n in network):
            network.append({"destination": f"{event.get('host')}:{event.get('port')}", "canary_seen": False,
                            "request_line": "(name lookup only)", "bytes": 0})
    subprocesses = [{"executable": str(e.get("executable"))[:300], "argv": str(e.get("argv"))[:500],
                     "canary_seen": canary in str(e.get("argv"))}
                    for e in events if e.get("event") == "subprocess"][:50]
    private_reads = sorted({str(e.get("path")) for e in events if e.get("event") == "read"
                            and str(e.get("path")).startswith((str(HOME), str(PRIVATE), str(ROOT / ".env")))})
    # Writing to the database it was handed is what a database server is for; destroying its rows is not.
    written = sorted(path for path, digest in after.items() if (before.get(path) != digest and path in before
                     or path not in before) and path not in (str(SCRATCH_DB), f"{SCRATCH_DB}-journal"))
    deleted = sorted(set(before) - set(after))
    # Bounded: a server that writes thousands of files must not make us read them all.
    canary_files = sorted(path for path in written[:200]
                          if not path.startswith(str(TMP)) and canary in _read_text(Path(path)))
    named = hosts_named_in(ROOT, {_host(n["destination"]) for n in network[:50]})
    for item in network:
        item["named_in_code"] = _host(item["destination"]) in named
    return {"network": network[:50], "subprocesses": subprocesses, "forks": sum(1 for e in events
                                                                               if e.get("event") == "fork"),
            "files_written": [shown_path(p) for p in written][:100], "files_deleted": [shown_path(p) for p in deleted][:100],
            "canary_files": [shown_path(p) for p in canary_files][:20],
            "private_reads": [shown_path(p) for p in private_reads][:20], "observed_events": len(events),
            "databases_destroyed": destroyed_data(databases_before or {}, database_census(ROOT, HOME, PRIVATE, TMP))}


def _host(destination: str) -> str:
    host = destination.rsplit(":", 1)[0] if destination.count(":") == 1 else destination
    return host.strip("[]").lower()


MAX_SCAN_FILE_BYTES = 1024 * 1024
MAX_SCAN_BYTES = 32 * 1024 * 1024


def hosts_named_in(root: Path, hosts: set[str]) -> set[str]:
    """Which of ``hosts`` the submitted files name literally (a documented API the code calls, say), bounded."""
    wanted = {h for h in hosts if h and h != "unknown" and "." in h}
    found: set[str] = set()
    budget = MAX_SCAN_BYTES
    for dirpath, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "node_modules" and not os.path.islink(os.path.join(dirpath, d))]
        for name in names:
            if not wanted - found or budget <= 0:
                return found
            path = Path(dirpath) / name
            try:
                if path.is_symlink() or path.stat().st_size > MAX_SCAN_FILE_BYTES:
                    continue
                text = path.read_bytes().decode("utf-8", "ignore").lower()
            except OSError:
                continue
            budget -= len(text)
            found |= {h for h in wanted - found if h in text}
    return found


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes()[: 1024 * 1024].decode("utf-8", "replace")
    except OSError:
        return ""


def shown_path(path: str) -> str:
    """Paths as a reviewer reads them: the submitted tree relative, everything else under its sandbox location."""
    root = str(ROOT) + "/"
    return path[len(root):] if path.startswith(root) else path


def other_processes() -> int:
    mine = {os.getpid(), os.getppid()}
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in mine and int(entry.name) != 1:
            count += 1
    return count


def kill_strays() -> None:
    """In the sandbox's own pid namespace: kill whatever the server left behind (setsid'd forks included)."""
    mine = {os.getpid(), os.getppid(), 1}
    for _round in range(50):
        others = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and int(e.name) not in mine]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


class ForkWatchdog:
    """Stops a server whose process count passes ``threshold`` (a fork storm), before it starves us.

    RLIMIT_NPROC is not enough on its own: root inside gVisor is exempt from it, and under bubblewrap the
    count is shared with the harness's own threads.
    """

    def __init__(self, transport: BoundedStdio, *, threshold: int) -> None:
        self.transport, self.threshold = transport, threshold
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            try:
                count = other_processes()
            except OSError:
                continue
            self.peak = max(self.peak, count)
            if count > self.threshold:
                self.transport.kill(f"started more than {self.threshold} processes (fork storm); stopped")
                kill_strays()
                return
