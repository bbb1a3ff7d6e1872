"""Run a program over untrusted content inside a sandbox.

Backends, strongest first:

* ``gvisor``: ``runsc run`` on a private OCI bundle whose root is an empty,
  read-only directory with only the Python runtime, the sandbox code, the
  input (read-only) and a private scratch directory mounted in, and no
  network (``--network=none``: its own loopback only). Used only when ``runsc``
  works here (it needs root).
* ``bubblewrap``: ``bwrap --unshare-all --die-with-parent --new-session`` with
  read-only binds of the same few paths, a private tmpfs ``/tmp``, all
  capabilities dropped.
* ``none``: a plain child process with the same resource limits. Only when
  ``ASSAY_SANDBOX=none`` is set explicitly; it is never chosen by ``auto``.

Nothing else of the host is visible inside: not ``ASSAY_DATA_DIR`` (database,
SECRET_KEY file, keys, vault), not the project's other apps, not ``/etc``.
Every run gets resource limits (CPU seconds, address space, file size,
processes, open files) and a wall-clock limit after which the whole process
group, and for gVisor the whole sandbox, is killed.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("gvisor", "bubblewrap", "none")
STRONGEST_FIRST = ("gvisor", "bubblewrap")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SANDBOX_CODE_DIR = PROJECT_ROOT / "triage"  # the only project directory mounted inside
SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONNOUSERSITE": "1",
    "HOME": "/scratch",
    "TMPDIR": "/scratch/tmp",
}


class SandboxUnavailable(RuntimeError):
    """The requested backend cannot run on this machine."""


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 60
    memory_bytes: int = 1024 * 1024 * 1024
    file_size_bytes: int = 512 * 1024 * 1024
    processes: int = 64
    open_files: int = 256
    wall_seconds: float = 120.0
    output_bytes: int = 32 * 1024 * 1024
    tmpfs_bytes: int = 768 * 1024 * 1024  # the private /tmp (gVisor enforces it; bubblewrap 0.8 cannot size it)

    def rlimits(self) -> dict[int, int]:
        return {
            resource.RLIMIT_CPU: self.cpu_seconds,
            resource.RLIMIT_AS: self.memory_bytes,
            resource.RLIMIT_FSIZE: self.file_size_bytes,
            resource.RLIMIT_NPROC: self.processes,
            resource.RLIMIT_NOFILE: self.open_files,
            resource.RLIMIT_CORE: 0,
        }


@dataclass(frozen=True)
class Mount:
    """A host path made visible inside the sandbox at ``target``."""

    source: Path
    target: str
    writable: bool = False


@dataclass
class SandboxResult:
    backend: str
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool
    output_truncated: bool
    duration_s: float
    signal_name: str | None = None

    @property
    def killed_by(self) -> str | None:
        """Which limit stopped the program, if one did."""
        if self.timed_out:
            return "wall time"
        if self.signal_name in ("SIGXCPU",):
            return "cpu time"
        if self.signal_name in ("SIGXFSZ",):
            return "file size"
        if self.signal_name in ("SIGKILL",):
            return "killed"
        return None


@dataclass
class SandboxRequest:
    argv: list[str]
    scratch: Path  # host directory, writable inside at /scratch
    mounts: list[Mount] = field(default_factory=list)
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)  # added to SANDBOX_ENV for this run

    def environment(self) -> dict[str, str]:
        return {**SANDBOX_ENV, **self.env}


# --- runtime mounts -------------------------------------------------------------------------------

def _runtime_mounts() -> list[Mount]:
    """The Python runtime and the sandbox code, read-only, at their host paths (so sys.path just works)."""
    paths = {Path(p) for p in ("/usr", "/lib", "/lib64", "/bin")}
    paths.add(Path(sys.base_prefix).resolve())
    paths.add(Path(sys.prefix))
    executable_dir = Path(sys.executable).resolve().parent.parent
    paths.add(executable_dir)
    mounts = [Mount(source=path.resolve(), target=str(path)) for path in sorted(paths) if path.exists()]
    mounts.append(Mount(source=SANDBOX_CODE_DIR, target=str(SANDBOX_CODE_DIR)))
    return _without_nested(mounts)


def _without_nested(mounts: list[Mount]) -> list[Mount]:
    """Drop mounts already covered by a parent mount of the same source tree."""
    kept: list[Mount] = []
    for mount in sorted(mounts, key=lambda m: m.target):
        if any(mount.target.startswith(k.target.rstrip("/") + "/") and str(mount.source).startswith(str(k.source))
               for k in kept):
            continue
        kept.append(mount)
    return kept


def sandbox_python() -> str:
    """The interpreter used inside the sandbox (the one running us, at its host path)."""
    return sys.executable


_COMPILED = threading.Event()


def sandbox_code_compile() -> None:
    """Make sure the sandbox code has up-to-date bytecode beside it, once per process.

    Inside, the code is read-only and runs with -B, so without this every run compiles every module again (the
    environment here sets PYTHONDONTWRITEBYTECODE, so ordinary imports never write it). The interpreter checks
    each .pyc against its source, so a stale one is never used. A read-only install is left as it is (it should
    ship compiled).
    """
    if _COMPILED.is_set():
        return
    import compileall

    try:
        compileall.compile_dir(str(SANDBOX_CODE_DIR), quiet=2, workers=1)
    except OSError:
        pass
    _COMPILED.set()


# --- backend selection ----------------------------------------------------------------------------

_PROBED: dict[str, bool] = {}
_PROBE_LOCK = threading.Lock()


def backend_works(name: str, *, cache_dir: Path | None = None) -> bool:
    """Probe once: can this backend run a trivial Python program here?

    Remembered per process, and in ``cache_dir`` (the platform's private data
    directory) keyed by the binary, its mtime, our uid and interpreter, so a
    command-line run does not pay for the probe every time.
    """
    if name == "none":
        return True
    with _PROBE_LOCK:
        if name not in _PROBED:
            key = _probe_key(name)
            cached = _probe_cache_read(cache_dir).get(key) if key else None
            if cached is None:
                cached = _probe(name)
                if key:
                    _probe_cache_write(cache_dir, key, cached)
            _PROBED[name] = cached
        return _PROBED[name]


def _probe_key(name: str) -> str | None:
    binary = shutil.which({"gvisor": "runsc", "bubblewrap": "bwrap"}[name])
    if binary is None:
        return None
    return f"{name}:{binary}:{os.stat(binary).st_mtime_ns}:{os.geteuid()}:{sys.executable}"


def _probe_cache_read(cache_dir: Path | None) -> dict:
    if cache_dir is None:
        return {}
    try:
        data = json.loads((cache_dir / "sandbox-probe.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, bool)} if isinstance(data, dict) else {}


def _probe_cache_write(cache_dir: Path | None, key: str, works: bool) -> None:
    if cache_dir is None:
        return
    data = _probe_cache_read(cache_dir)
    data[key] = works
    partial = cache_dir / f".sandbox-probe.{os.getpid()}.json"
    try:
        partial.write_text(json.dumps(data))
        os.replace(partial, cache_dir / "sandbox-probe.json")
    except OSError:
        partial.unlink(missing_ok=True)


def _probe(name: str) -> bool:
    binary = {"gvisor": "runsc", "bubblewrap": "bwrap"}[name]
    if shutil.which(binary) is None:
        return False
    if name == "gvisor" and os.geteuid() != 0:
        return False  # `runsc run` needs root; rootless runsc has no network=none isolation we trust here
    with tempfile.TemporaryDirectory(prefix="assay-probe-") as work:
        scratch = Path(work) / "scratch"
        scratch.mkdir()
        try:
            result = _run_backend(name, SandboxRequest(
                argv=[sandbox_python(), "-c", "print('ok')"], scratch=scratch,
                limits=SandboxLimits(wall_seconds=30)))
        except (OSError, SandboxUnavailable):
            return False
    return result.returncode == 0 and result.stdout.strip() == b"ok"


def backend_resolve(requested: str, *, cache_dir: Path | None = None) -> str:
    """Turn ``auto``/a backend name into the backend that will run, or raise SandboxUnavailable."""
    if requested not in ("auto", *BACKENDS):
        raise SandboxUnavailable(f"unknown sandbox backend {requested!r}")
    if requested == "auto":
        for name in STRONGEST_FIRST:
            if backend_works(name, cache_dir=cache_dir):
                return name
        raise SandboxUnavailable("no sandbox works here (tried gvisor, bubblewrap); "
                                 "set ASSAY_SANDBOX=none only for local development")
    if not backend_works(requested, cache_dir=cache_dir):
        raise SandboxUnavailable(f"sandbox backend {requested} does not work on this machine")
    return requested


def configured_backend() -> str:
    from django.conf import settings

    return backend_resolve(getattr(settings, "ASSAY_SANDBOX", "auto"), cache_dir=Path(settings.DATA_DIR))


# --- running --------------------------------------------------------------------------------------

def sandbox_run(*, backend: str, request: SandboxRequest) -> SandboxResult:
    """Run ``request.argv`` in ``backend`` (already resolved) and collect its bounded output."""
    if backend not in BACKENDS:
        raise SandboxUnavailable(f"unknown sandbox backend {backend!r}")
    (request.scratch / "tmp").mkdir(exist_ok=True)
    return _run_backend(backend, request)


def _run_backend(name: str, request: SandboxRequest) -> SandboxResult:
    if name == "gvisor":
        return _run_gvisor(request)
    if name == "bubblewrap":
        return _run_process(name, _bwrap_argv(request), request, apply_rlimits=True)
    return _run_process(name, request.argv, request, apply_rlimits=True, env=_none_env(request))


def _none_env(request: SandboxRequest) -> dict[str, str]:
    env = request.environment()
    env["HOME"] = str(request.scratch)
    env["TMPDIR"] = str(request.scratch / "tmp")
    return env


def _bwrap_argv(request: SandboxRequest) -> list[str]:
    # An unprivileged uid in a fresh user namespace: per-namespace process counting makes
    # RLIMIT_NPROC bite (root in the initial namespace is exempt from it).
    argv = ["bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox", "--clearenv", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for key, value in request.environment().items():
        argv += ["--setenv", key, value]
    for mount in [*_runtime_mounts(), *request.mounts]:
        target = Path(mount.target)
        if target.is_symlink() and not mount.writable and str(target) in ("/bin", "/lib", "/lib64", "/sbin"):
            argv += ["--symlink", os.readlink(target), str(target)]
            continue
        argv += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
    argv += ["--bind", str(request.scratch), "/scratch", "--chdir", "/scratch", "--", *request.argv]
    return argv


def _preexec(limits: SandboxLimits):  # noqa: ANN202
    rlimits = limits.rlimits()

    def apply() -> None:
        for kind, value in rlimits.items():
            resource.setrlimit(kind, (value, value))

    return apply


class _PidsCgroup:
    """A private pids cgroup for one run, when we are root and a pids controller is writable.

    Root in the initial user namespace is exempt from RLIMIT_NPROC, so for root
    the process limit comes from here; it also lets us kill every process of
    the run at once, whatever sessions they made.
    """

    CANDIDATES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))

    def __init__(self, limit: int):
        self.path: Path | None = None
        if os.geteuid() != 0:
            return
        for base in self.CANDIDATES:
            if not (base / "cgroup.procs").exists():
                continue
            candidate = base / f"assay-sandbox-{uuid.uuid4().hex[:12]}"
            try:
                candidate.mkdir()
                (candidate / "pids.max").write_text(str(limit))
            except OSError:
                try:
                    candidate.rmdir()
                except OSError:
                    pass
                continue
            self.path = candidate
            return

    def enter(self) -> None:
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all(self) -> None:
        if self.path is None:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return  # already removed
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.001)

    def remove(self) -> None:
        if self.path is None:
            return
        self.kill_all()
        deadline = time.monotonic() + 5
        while True:
            try:
                self.path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.001)  # the last task is still being reaped


def _run_process(name: str, argv: list[str], request: SandboxRequest, *, apply_rlimits: bool,
                 env: dict[str, str] | None = None, on_timeout=None) -> SandboxResult:  # noqa: ANN001
    started = time.monotonic()
    cgroup = _PidsCgroup(request.limits.processes) if apply_rlimits else None
    set_limits = _preexec(request.limits) if apply_rlimits else None

    def preexec() -> None:
        if cgroup is not None:
            cgroup.enter()
        if set_limits is not None:
            set_limits()

    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=str(request.scratch), env=env if env is not None else {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
            start_new_session=True, preexec_fn=preexec, close_fds=True)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            if proc.returncode is None:  # never signal a reaped (possibly reused) process group id
                _kill_group(proc)
            if cgroup is not None:
                cgroup.kill_all()

        # A timer rather than wait(timeout=...): Popen's timed wait polls with sleeps of up to 50 ms.
        timer = threading.Timer(request.limits.wall_seconds, expire)
        timer.daemon = True
        timer.start()
        try:
            stdout, stderr, truncated = _collect(proc, request, expire)
        finally:
            timer.cancel()
        timed_out = expired.is_set()
        if timed_out and on_timeout is not None:
            on_timeout()
        returncode = proc.wait()
    finally:
        if cgroup is not None:
            cgroup.remove()
    signal_name = signal.Signals(-returncode).name if returncode < 0 else None
    if returncode >= 128 + 1 and returncode - 128 in signal.Signals._value2member_map_:  # noqa: SLF001
        # bwrap and runsc report a signalled child as 128+N.
        signal_name = signal.Signals(returncode - 128).name
    return SandboxResult(backend=name, returncode=returncode, stdout=stdout, stderr=stderr, timed_out=timed_out,
                         output_truncated=truncated, duration_s=time.monotonic() - started, signal_name=signal_name)


def _collect(proc: subprocess.Popen, request: SandboxRequest, expire) -> tuple[bytes, bytes, bool]:  # noqa: ANN001
    """Read stdout/stderr up to the output limit until the program and its pipes are done."""
    limit = request.limits.output_bytes
    buffers = {"out": bytearray(), "err": bytearray()}
    truncated = threading.Event()

    def pump(stream, key: str) -> None:  # noqa: ANN001
        try:
            while chunk := stream.read(65536):
                room = limit - len(buffers[key])
                if room > 0:
                    buffers[key] += chunk[:room]
                if len(chunk) > room:
                    truncated.set()
        except (OSError, ValueError):
            pass  # the pipe went away with a killed sandbox; what was read so far stands
        finally:
            stream.close()

    threads = [threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        if request.stdin:
            proc.stdin.write(request.stdin)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.wait()  # the timer kills the group if the wall-clock limit passes first
    for thread in threads:
        thread.join(timeout=2)
    if any(thread.is_alive() for thread in threads):
        expire()  # something left behind still holds the pipes open
        for thread in threads:
            thread.join(timeout=5)
    return bytes(buffers["out"]), bytes(buffers["err"]), truncated.is_set()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- gVisor ---------------------------------------------------------------------------------------

_RLIMIT_NAMES = {
    resource.RLIMIT_CPU: "RLIMIT_CPU", resource.RLIMIT_AS: "RLIMIT_AS", resource.RLIMIT_FSIZE: "RLIMIT_FSIZE",
    resource.RLIMIT_NPROC: "RLIMIT_NPROC", resource.RLIMIT_NOFILE: "RLIMIT_NOFILE",
    resource.RLIMIT_CORE: "RLIMIT_CORE",
}


def _gvisor_spec(request: SandboxRequest) -> dict:
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", f"size={request.limits.tmpfs_bytes}"]},
    ]
    for mount in [*_runtime_mounts(), *request.mounts]:
        mounts.append({"destination": mount.target, "type": "bind", "source": str(mount.source),
                       "options": ["rbind", "rw" if mount.writable else "ro"]})
    mounts.append({"destination": "/scratch", "type": "bind", "source": str(request.scratch),
                   "options": ["rbind", "rw"]})
    rlimits = [{"type": _RLIMIT_NAMES[kind], "hard": value, "soft": value}
               for kind, value in request.limits.rlimits().items()]
    return {
        "ociVersion": "1.0.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": request.argv,
            "env": [f"{key}={value}" for key, value in request.environment().items()],
            "cwd": "/scratch",
            "rlimits": rlimits,
            "noNewPrivileges": True,
            # Root inside gVisor's own kernel, with every capability dropped.
            "capabilities": {"bounding": [], "effective": [], "inheritable": [], "permitted": [], "ambient": []},
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "sandbox",
        "mounts": mounts,
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "resources": {"pids": {"limit": request.limits.processes}},
        },
    }


def _run_gvisor(request: SandboxRequest) -> SandboxResult:
    bundle = Path(tempfile.mkdtemp(prefix="assay-gvisor-"))
    try:
        (bundle / "rootfs").mkdir(mode=0o755)
        state = bundle / "state"
        state.mkdir(mode=0o700)
        (bundle / "config.json").write_text(json.dumps(_gvisor_spec(request)))
        container = f"assay-{uuid.uuid4().hex[:16]}"
        runsc = shutil.which("runsc") or "runsc"
        base = [runsc, "--network=none", f"--root={state}", "--ignore-cgroups", "--file-access-mounts=exclusive"]

        def destroy() -> None:
            subprocess.run([*base, "kill", "--all", container, "KILL"], capture_output=True, timeout=15)
            subprocess.run([*base, "delete", "--force", container], capture_output=True, timeout=15)

        try:
            result = _run_process("gvisor", [*base, "run", "--bundle", str(bundle), container], request,
                                  apply_rlimits=False, on_timeout=destroy)
        finally:
            subprocess.run([*base, "delete", "--force", container], capture_output=True, timeout=15)
        return result
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
