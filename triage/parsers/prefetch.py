"""Parse a tree's code files on two cores: JavaScript/TypeScript in a forked child, Python here, at the same time.

The sandbox has two cores and the code parsers are the larger part of a triage, so splitting them by language
about halves that part. Both parsers are functions of the file and the (read-only) tree, so the results are the
same objects the one-process loop would build, looked up by path in that loop: the order of everything it appends, and so
the findings, are byte for byte those of a serial run. Used only inside the sandbox (a process with no threads
to break by forking); anywhere the child fails, its files are parsed here instead.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable

from triage.parsers import js_code, python_code
from triage.parsers.base import Tree
from triage.parsers.js_project import JsProject

# Below this many files of either language the fork costs more than it saves.
MIN_FILES_EACH = 8
_MISSING = object()


class Prefetched:
    """Code models parsed ahead of the main loop, by path; ``get`` falls back to parsing on the spot."""

    def __init__(self, results: dict[str, object] | None = None) -> None:
        self._results = results or {}

    def get(self, path: str, text: str, parse: Callable[[str, str], object]) -> object:
        found = self._results.pop(path, _MISSING)
        return parse(text, path) if found is _MISSING else found


def _sources(tree: Tree, wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    return [(path, tree.files[path].text) for path in sorted(tree.files) if wanted(tree.files[path].path)]


def _parse_all(sources: list[tuple[str, str]], parse: Callable[[str, str], object]) -> dict[str, object]:
    return {path: parse(text, path) for path, text in sources}


def prefetch_code(tree: Tree) -> Prefetched:
    python = _sources(tree, lambda path: path.endswith(".py"))
    js = _sources(tree, js_code.is_js_source)
    if len(python) < MIN_FILES_EACH or len(js) < MIN_FILES_EACH or (os.cpu_count() or 1) < 2:
        return Prefetched()
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:  # no process or descriptor to spare: the serial loop parses everything
        return Prefetched()
    if pid == 0:  # the child: parse the JS/TS files, send the models, leave without running any cleanup
        status = 1
        try:
            os.close(read_end)
            project = JsProject(tree.files)  # the child's own cache of the project's modules, as the loop's
            payload = pickle.dumps(_parse_all(js, lambda text, path: js_code.parse_js(text, path, project)),
                                   protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    results = _parse_all(python, python_code.parse_python)
    results.update(_receive(read_end, pid))
    return Prefetched(results)


def _receive(read_end: int, pid: int) -> dict[str, object]:
    """The child's models, or nothing (its files are then parsed in the loop) if it failed in any way."""
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _pid, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return {}
    try:
        received = pickle.loads(payload)  # noqa: S301 - our own child's output over a private pipe
    except Exception:  # noqa: BLE001 - a truncated payload means a failed child, handled as one
        return {}
    return received if isinstance(received, dict) else {}
