"""Run a program over untrusted content inside a sandbox.

Backends, strongest first:

* ``gvisor``: ``runsc run`` on a private OCI bundle whose root is an empty,
  read-only directory with only the Python runtime, the sandbox code, the
  input (read-only) and a private, size-capped in-memory scratch (tmpfs) mounted in, and no
  network (``--network=none``: its own loopback only). Used only when ``runsc``
  works here (it needs root).
* ``bubblewrap``: ``bwrap --unshare-all --die-with-parent --new-session`` with
  read-only binds of the same few paths, private size-capped tmpfs ``/tmp`` and
  ``/scratch``, all capabilities dropped.
* ``none``: a plain child process with the same resource limits. Only when
  ``ASSAY_SANDBOX=none`` is set explicitly; it is never chosen by ``auto``.

Nothing else of the host is visible inside: not ``ASSAY_DATA_DIR`` (database,
SECRET_KEY file, keys, vault), not the project's other apps, not ``/etc``.
Every run gets resource limits (CPU seconds, address space, file size,
processes, open files) and a wall-clock limit after which the whole process
group, and for gVisor the whole sandbox, is killed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import selectors
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

from intake.run_dirs import run_dir
from triage.cgroups import CgroupLimits, RunCgroup, block_devices_of

BACKENDS = ("gvisor", "bubblewrap", "none")
STRONGEST_FIRST = ("gvisor", "bubblewrap")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
GVISOR_KERNEL_BYTES = 384 * 1024 * 1024  # what gVisor's own kernel and gofer may use beside the program
SANDBOX_CODE_DIR = PROJECT_ROOT / "triage"  # the only project directory mounted inside
# The lower layer's Django-free modules the analysis uses (the one archive parser, the one list of secret shapes),
# mounted file by file: nothing else of the platform is visible inside.
SANDBOX_SHARED_FILES = tuple(PROJECT_ROOT / "intake" / name for name in ("__init__.py", "archives.py", "redaction.py"))
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
    tmpfs_bytes: int = 768 * 1024 * 1024  # the private /tmp
    # /scratch (the working directory) is memory too, never the host's disk: a submitted server writing files
    # without end is stopped at this cap, and nothing it unpacked or wrote is left on the host after a crash.
    scratch_bytes: int = 512 * 1024 * 1024
    # Whole-run bounds from the run's control groups (triage.cgroups), where the host lets us make them: memory
    # of every process plus the run's tmpfs pages (None: address space + /tmp + /scratch, plus gVisor's own
    # kernel when it runs), and read/write throttles on the disks the run reads from.
    total_memory_bytes: int | None = None
    read_bytes_per_s: int = 128 * 1024 * 1024
    write_bytes_per_s: int = 32 * 1024 * 1024
    read_iops: int = 4000
    write_iops: int = 1000

    def cgroup_limits(self, backend: str, read_paths=()) -> CgroupLimits:  # noqa: ANN001
        total = self.total_memory_bytes or (self.memory_bytes + self.tmpfs_bytes + self.scratch_bytes
                                            + (GVISOR_KERNEL_BYTES if backend == "gvisor" else 0))
        return CgroupLimits(
            # gVisor's kernel threads and helper processes are host tasks too; it bounds the program's processes
            # itself (the spec's pids limit), so a host pids bound would only make it fail to start.
            processes=None if backend == "gvisor" else self.processes, memory_bytes=total,
            read_bps=self.read_bytes_per_s, write_bps=self.write_bytes_per_s, read_iops=self.read_iops,
            write_iops=self.write_iops, devices=block_devices_of(read_paths))

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
    memory_exhausted: bool = False  # the run's memory control group killed something of it

    @property
    def killed_by(self) -> str | None:
        """Which limit stopped the program, if one did."""
        if self.timed_out:
            return "wall time"
        if self.signal_name in ("SIGXCPU",):
            return "cpu time"
        if self.signal_name in ("SIGXFSZ",):
            return "file size"
        if self.memory_exhausted:
            return "memory"
        if self.signal_name in ("SIGKILL",):
            return "killed"
        return None


@dataclass
class SandboxRequest:
    argv: list[str]
    scratch: Path  # host working directory of the run; only the ``none`` backend writes there (sandboxes: tmpfs)
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
    for path in SANDBOX_SHARED_FILES:
        compiled = Path(importlib.util.cache_from_source(str(path)))
        mounts += [Mount(source=file, target=str(file)) for file in (path, compiled) if file.exists()]
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
        for path in SANDBOX_SHARED_FILES:
            compileall.compile_file(str(path), quiet=2)
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
        return _run_bubblewrap(request)
    return _run_process(name, request.argv, request, apply_rlimits=True, env=_none_env(request))


# Joins the control groups whose join files $0 lists (space-separated; our names hold no spaces), then runs
# the rest, so that everything the run starts is bounded before it runs (see RunCgroup.join_files).
_JOIN_CGROUPS = 'for f in $0; do echo 0 > "$f" || exit 125; done; exec "$@"'


def _joined(argv: list[str], cgroup: RunCgroup) -> list[str]:
    files = cgroup.join_files
    if not files:
        return argv
    return ["/bin/sh", "-c", _JOIN_CGROUPS, " ".join(str(f) for f in files), *argv]


def _read_paths(request: SandboxRequest) -> list[Path]:
    return [Path(m.source) for m in [*_runtime_mounts(), *request.mounts]]


def _run_bubblewrap(request: SandboxRequest) -> SandboxResult:
    """Start bwrap through ``sh`` (joins the run's pids cgroup itself) and ``prlimit`` (sets the resource limits),
    so bwrap and everything it starts are limited before anything runs. subprocess can then use vfork(): a
    Python pre-exec hook would force a full fork() of this large process (~5 ms a run)."""
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return _run_process("bubblewrap", _bwrap_argv(request), request, apply_rlimits=True)
    cgroup = RunCgroup(request.limits.cgroup_limits("bubblewrap", _read_paths(request)))
    try:
        argv = _joined([*_prlimit_argv(prlimit, request.limits), *_bwrap_argv(request)], cgroup)
        return _run_process("bubblewrap", argv, request, apply_rlimits=False, cgroup=cgroup)
    finally:
        cgroup.remove()


def _prlimit_argv(prlimit: str, limits: SandboxLimits) -> list[str]:
    names = {resource.RLIMIT_CPU: "cpu", resource.RLIMIT_AS: "as", resource.RLIMIT_FSIZE: "fsize",
             resource.RLIMIT_NPROC: "nproc", resource.RLIMIT_NOFILE: "nofile", resource.RLIMIT_CORE: "core"}
    # One value sets both the soft and the hard limit.
    return [prlimit, *(f"--{names[kind]}={value}" for kind, value in limits.rlimits().items()), "--"]


def _none_env(request: SandboxRequest) -> dict[str, str]:
    env = request.environment()
    env["HOME"] = str(request.scratch)
    env["TMPDIR"] = str(request.scratch / "tmp")
    return env


def _bwrap_argv(request: SandboxRequest) -> list[str]:
    # An unprivileged uid in a fresh user namespace, no capabilities, no further user namespaces. (RLIMIT_NPROC
    # still does not bite: the uid maps to root outside, which is exempt; the pids cgroup holds the count.)
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--disable-userns", "--hostname", "sandbox", "--clearenv", "--proc", "/proc", "--dev", "/dev",
            "--size", str(request.limits.tmpfs_bytes), "--tmpfs", "/tmp"]
    for key, value in request.environment().items():
        argv += ["--setenv", key, value]
    for mount in [*_runtime_mounts(), *request.mounts]:
        target = Path(mount.target)
        if target.is_symlink() and not mount.writable and str(target) in ("/bin", "/lib", "/lib64", "/sbin"):
            argv += ["--symlink", os.readlink(target), str(target)]
            continue
        argv += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
    argv += ["--size", str(request.limits.scratch_bytes), "--tmpfs", "/scratch", "--dir", "/scratch/tmp",
             "--chdir", "/scratch", "--", *request.argv]
    return argv


def _preexec(limits: SandboxLimits):  # noqa: ANN202
    rlimits = limits.rlimits()

    def apply() -> None:
        for kind, value in rlimits.items():
            resource.setrlimit(kind, (value, value))

    return apply


def _run_process(name: str, argv: list[str], request: SandboxRequest, *, apply_rlimits: bool,
                 env: dict[str, str] | None = None, on_timeout=None,  # noqa: ANN001
                 cgroup: RunCgroup | None = None) -> SandboxResult:
    """``apply_rlimits``: set the limits in a pre-exec hook and enter the run's control groups there. ``cgroup``: one the
    program joins by itself (killed with it on timeout; the caller removes it)."""
    started = time.monotonic()
    deadline = started + request.limits.wall_seconds
    preexec = None
    if apply_rlimits:
        cgroup = RunCgroup(request.limits.cgroup_limits(name, _read_paths(request)))  # ours to remove
        set_limits = _preexec(request.limits)

        def preexec() -> None:
            if cgroup is not None:
                cgroup.enter()
            set_limits()

    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=str(request.scratch), env=env if env is not None else {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
            start_new_session=True, preexec_fn=preexec, close_fds=True)

        def expire() -> None:
            if proc.returncode is None:  # never signal a reaped (possibly reused) process group id
                _kill_group(proc)
            if cgroup is not None:
                cgroup.kill_all()

        try:
            stdout, stderr, truncated, timed_out = _collect(proc, request, deadline, expire, cgroup)
        except BaseException:
            expire()
            proc.wait()
            raise
        if timed_out and on_timeout is not None:
            on_timeout()
        returncode = proc.wait()
        memory_exhausted = cgroup is not None and cgroup.memory_exhausted()
    finally:
        if apply_rlimits and cgroup is not None:
            cgroup.remove()
    signal_name = signal.Signals(-returncode).name if returncode < 0 else None
    if returncode >= 128 + 1 and returncode - 128 in signal.Signals._value2member_map_:  # noqa: SLF001
        # bwrap and runsc report a signalled child as 128+N.
        signal_name = signal.Signals(returncode - 128).name
    return SandboxResult(backend=name, returncode=returncode, stdout=stdout, stderr=stderr, timed_out=timed_out,
                         output_truncated=truncated, duration_s=time.monotonic() - started, signal_name=signal_name,
                         memory_exhausted=memory_exhausted)


LEFTOVER_GRACE_S = 2.0  # after the program exits, how long what it left behind may hold its output open
TEARDOWN_S = 5.0  # after a kill, how long to wait for the output to close


MEMORY_WATCH_S = 0.25  # how often a running program's memory group is asked whether the kernel killed part of it


def _collect(proc: subprocess.Popen, request: SandboxRequest, deadline: float,
             expire, cgroup: RunCgroup | None = None) -> tuple[bytes, bytes, bool, bool]:  # noqa: ANN001
    """Feed stdin and read stdout/stderr (up to the output limit) in this thread, until the program has exited
    and its pipes are closed, killing it at ``deadline``, or as soon as the kernel has killed part of it for
    exceeding the run's memory bound (under gVisor the rest would otherwise wait for the wall-time limit). One
    event loop instead of a timer and pump threads: no thread start-ups and hand-offs on every run.
    Returns (stdout, stderr, truncated, timed_out)."""
    limit = request.limits.output_bytes
    out_fd, err_fd, in_fd = proc.stdout.fileno(), proc.stderr.fileno(), proc.stdin.fileno()
    buffers = {out_fd: bytearray(), err_fd: bytearray()}
    files = {out_fd: proc.stdout, err_fd: proc.stderr, in_fd: proc.stdin}
    pending = memoryview(request.stdin)
    truncated = timed_out = False
    exited_at: float | None = None
    give_up_at: float | None = None
    watch_at = time.monotonic() + MEMORY_WATCH_S if cgroup is not None and "memory" in cgroup.applied else None
    try:
        pidfd = os.pidfd_open(proc.pid)  # readable once the program has exited
    except (AttributeError, OSError):
        pidfd = None
    selector = selectors.DefaultSelector()
    try:
        selector.register(out_fd, selectors.EVENT_READ)
        selector.register(err_fd, selectors.EVENT_READ)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ)
        if pending:
            os.set_blocking(in_fd, False)
            selector.register(in_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        while out_fd in selector.get_map() or err_fd in selector.get_map():
            now = time.monotonic()
            if exited_at is None and (pidfd is None and proc.poll() is not None):
                exited_at = now
            if not timed_out and now >= deadline:
                timed_out = True
                expire()
                give_up_at = now + TEARDOWN_S
            elif not timed_out and exited_at is not None and now >= exited_at + LEFTOVER_GRACE_S:
                timed_out = True  # something left behind still holds the pipes open
                expire()
                give_up_at = now + TEARDOWN_S
            if watch_at is not None and give_up_at is None and now >= watch_at:
                watch_at = now + MEMORY_WATCH_S
                if cgroup.memory_exhausted():
                    expire()
                    give_up_at = now + TEARDOWN_S
            if give_up_at is not None and now >= give_up_at:
                break
            if give_up_at is not None:
                wake = give_up_at
            else:
                wake = deadline if exited_at is None else min(deadline, exited_at + LEFTOVER_GRACE_S)
                if watch_at is not None:
                    wake = min(wake, watch_at)
            if pidfd is None and exited_at is None:
                wake = min(wake, now + 0.01)  # no pidfd here: look for the exit now and then
            for key, _mask in selector.select(max(0.0, wake - now)):
                fd = key.fd
                if fd == pidfd:
                    selector.unregister(pidfd)
                    exited_at = time.monotonic()
                elif fd == in_fd:
                    try:
                        written = os.write(in_fd, pending[:65536])
                        pending = pending[written:]
                    except BlockingIOError:
                        continue
                    except OSError:  # the program stopped reading (BrokenPipe): what it got stands
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(in_fd)
                        proc.stdin.close()
                else:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        chunk = b""
                    if not chunk:
                        selector.unregister(fd)
                        files[fd].close()
                        continue
                    room = limit - len(buffers[fd])
                    if room > 0:
                        buffers[fd] += chunk[:room]
                    if len(chunk) > room:
                        truncated = True
    finally:
        selector.close()
        if pidfd is not None:
            os.close(pidfd)
        for file in files.values():
            try:
                file.close()
            except OSError:
                pass
    return bytes(buffers[out_fd]), bytes(buffers[err_fd]), truncated, timed_out


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
    # Sized tmpfs for /scratch and its tmp/ (gVisor makes the nested mount point inside the first).
    for destination in ("/scratch", "/scratch/tmp"):
        mounts.append({"destination": destination, "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "nodev", "mode=1777", f"size={request.limits.scratch_bytes}"]})
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
    bundle = run_dir("gvisor")
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

        # runsc and the sandbox it starts (its kernel, gofer and the program's host threads) join the run's
        # groups, so the memory and I/O bounds cover the program together with its kernel.
        cgroup = RunCgroup(request.limits.cgroup_limits("gvisor", _read_paths(request)))
        try:
            result = _run_process("gvisor", _joined([*base, "run", "--bundle", str(bundle), container], cgroup),
                                  request, apply_rlimits=False, on_timeout=destroy, cgroup=cgroup)
        finally:
            subprocess.run([*base, "delete", "--force", container], capture_output=True, timeout=15)
            cgroup.remove()
        return result
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
