"""Observation hooks loaded into a submitted Python MCP server inside the sandbox (via PYTHONPATH).

Why a ``sitecustomize`` and not LD_PRELOAD: the sandbox already has no network and a private filesystem, so we
only need to *see* what the server tries, from inside the interpreter, with no native code of ours. Audit hooks
(PEP 578) report sockets, subprocesses, writes and deletes; name resolution and ``connect`` are redirected to a
capturing listener on the sandbox's own loopback, so the bytes a server tries to send out are recorded and never
delivered anywhere (there is no route out of the sandbox's network namespace in the first place).

Everything is written as JSON lines to the file named by ``_ASSAY_OBSERVE_LOG`` with ``os.write`` (which raises no
audit event, so the hook cannot recurse). The server can tamper with all of this; the harness treats the log as
evidence that may be missing, never as proof of absence.
"""

import json
import os
import socket
import sys

_LOG = os.environ.pop("_ASSAY_OBSERVE_LOG", "")
_PORT = int(os.environ.pop("_ASSAY_OBSERVE_PORT", "0") or 0)
_MAX_EVENTS = 4000
_state = {"count": 0, "busy": False}
_fake_hosts: dict[str, str] = {}  # fake address -> the name the server asked for
_fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if _LOG else -1


def _emit(kind: str, **data: object) -> None:
    if _fd < 0 or _state["count"] >= _MAX_EVENTS:
        return
    _state["count"] += 1
    data["event"] = kind
    data["pid"] = os.getpid()
    try:
        os.write(_fd, (json.dumps(data, default=repr)[:8192] + "\n").encode("utf-8", "replace"))
    except OSError:
        pass


def _text(value: object, limit: int = 2048) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "replace")
    return str(value)[:limit]


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _audit(event: str, args: tuple) -> None:
    if _state["busy"]:
        return
    _state["busy"] = True
    try:
        if event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            if isinstance(path, int) or path is None:
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            _emit("write" if writing else "read", path=_text(path))
        elif event in ("os.remove", "os.unlink", "os.rmdir", "shutil.rmtree"):
            _emit("delete", path=_text(args[0]))
        elif event == "os.rename":
            _emit("rename", path=_text(args[0]), target=_text(args[1]))
        elif event == "subprocess.Popen":
            _emit("subprocess", executable=_text(args[0]), argv=_text(args[1]))
        elif event == "os.system":
            _emit("subprocess", executable="/bin/sh", argv=_text(args[0]))
        elif event in ("os.exec", "os.posix_spawn", "os.spawn"):
            _emit("subprocess", executable=_text(args[0] if event != "os.spawn" else args[1]),
                  argv=_text(args[1] if event != "os.spawn" else args[2]))
        elif event == "os.fork":
            _emit("fork")
        elif event == "http.client.send":
            _emit("http_send", data=_text(args[1], 8192))
        elif event == "socket.sendto":
            _emit("sendto", address=_text(args[1]))
    except Exception:  # noqa: BLE001 - an observer must never break the observed program
        pass
    finally:
        _state["busy"] = False


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002, ANN001, ANN202
    name = _text(host, 255) if host is not None else ""
    if not name or _is_loopback(name) or not _PORT:
        return _real_getaddrinfo(host, port, family, type, proto, flags)
    _emit("resolve", host=name, port=_text(port, 16))
    # A fake address in the benchmarking range, remembered so connect() can name the real destination.
    fake = f"198.18.{len(_fake_hosts) // 250}.{len(_fake_hosts) % 250 + 1}"
    _fake_hosts.setdefault(fake, name)
    for address, known in _fake_hosts.items():
        if known == name:
            fake = address
            break
    numeric = int(port) if isinstance(port, int) or (isinstance(port, str) and port.isdigit()) else 0
    return [(socket.AF_INET, type or socket.SOCK_STREAM, proto or 6, "", (fake, numeric))]


def _redirect(sock: socket.socket, address) -> tuple | None:  # noqa: ANN001
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple) or not _PORT:
        return None
    host, port = _text(address[0], 255), address[1]
    if _is_loopback(host) and port == _PORT:
        return None  # the capture listener itself
    # Every other destination, loopback included, is captured: inside the sandbox nothing legitimate listens.
    return f"{_fake_hosts.get(host, host)}:{port}"



def _connect(self, address):  # noqa: ANN001, ANN202
    destination = _redirect(self, address)
    if destination is None:
        return _real_connect(self, address)
    if self.family != socket.AF_INET:
        _emit("connect", destination=destination, local_port=None)
        raise OSError(101, "Network is unreachable")
    try:
        result = _real_connect(self, ("127.0.0.1", _PORT))
    finally:
        try:
            local = self.getsockname()[1]
        except OSError:
            local = None
        _emit("connect", destination=destination, local_port=local)
    return result


def _connect_ex(self, address):  # noqa: ANN001, ANN202
    try:
        _connect(self, address)
    except OSError as exc:
        return exc.errno or 1
    return 0


def _trust_capture(context, server_hostname) -> None:  # noqa: ANN001
    """Every connection out of the sandbox reaches the capture listener, never the named host: let TLS to it
    complete (no verification of the listener's throwaway certificate) so that what the request would have
    carried is seen. Nothing can reach a real host from here, so nothing real is trusted by this."""
    if server_hostname is None or _is_loopback(_text(server_hostname, 255)):
        return
    try:
        context.check_hostname = False
        context.verify_mode = _ssl.CERT_NONE
    except (ValueError, AttributeError):
        pass


def _patch_tls() -> None:
    real_wrap_socket, real_wrap_bio = _ssl.SSLContext.wrap_socket, _ssl.SSLContext.wrap_bio

    def wrap_socket(self, sock, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        _trust_capture(self, kwargs.get("server_hostname", args[3] if len(args) > 3 else None))
        return real_wrap_socket(self, sock, *args, **kwargs)

    def wrap_bio(self, incoming, outgoing, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        _trust_capture(self, kwargs.get("server_hostname", args[1] if len(args) > 1 else None))
        return real_wrap_bio(self, incoming, outgoing, *args, **kwargs)

    _ssl.SSLContext.wrap_socket = wrap_socket
    _ssl.SSLContext.wrap_bio = wrap_bio


if _fd >= 0:
    sys.addaudithook(_audit)
    if _PORT:
        import ssl as _ssl

        _patch_tls()
    socket.getaddrinfo = _getaddrinfo
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
