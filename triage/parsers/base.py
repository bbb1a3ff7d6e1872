"""Reading an untrusted tree and tolerant decoding of the config formats agent tools use.

Every byte under the root is hostile: files are opened without following links, read up to a cap, decoded
leniently, and parsed by libraries that never execute anything (json, json5, tomllib, yaml.SafeLoader, ast).
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import json5
import yaml

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 20_000
MAX_YAML_ALIASES = 200
# Directories that hold dependencies or VCS internals, not the builder's configuration.
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache", "site-packages"})


class MalformedFile(ValueError):
    """A file of a known format that could not be parsed; analysis skips it."""


@dataclass
class SourceFile:
    path: str  # posix, relative to the analysed root
    text: str
    truncated: bool = False

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def line_of(self, *needles: str) -> int | None:
        """First 1-based line containing every needle (case-sensitive), or None."""
        wanted = [n for n in needles if n]
        if not wanted:
            return None
        for number, line in enumerate(self.lines, start=1):
            if all(n in line for n in wanted):
                return number
        for number, line in enumerate(self.lines, start=1):  # fall back to the first needle alone
            if wanted[0] in line:
                return number
        return None


@dataclass
class Tree:
    files: dict[str, SourceFile] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def _read_no_follow(path: Path, limit: int) -> tuple[bytes, bool]:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    return data[:limit], len(data) > limit


def load_tree(root: Path, *, max_file_bytes: int = MAX_FILE_BYTES, max_files: int = MAX_FILES) -> Tree:
    """Every regular text file under ``root``; links, devices, binaries and oversized tails are skipped."""
    tree = Tree()
    root = Path(root)
    if not root.is_dir() or root.is_symlink():
        return tree
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not os.path.islink(os.path.join(directory, d)))
        for filename in sorted(filenames):
            full = Path(directory, filename)
            rel = full.relative_to(root).as_posix()
            if len(tree.files) >= max_files:
                tree.skipped.append((rel, "file limit reached"))
                continue
            try:
                info = full.lstat()
                if not stat.S_ISREG(info.st_mode):
                    tree.skipped.append((rel, "not a regular file"))
                    continue
                data, truncated = _read_no_follow(full, max_file_bytes)
            except OSError:
                tree.skipped.append((rel, "unreadable"))
                continue
            _tree_add(tree, rel, data, truncated)
    return tree


def _tree_add(tree: Tree, rel: str, data: bytes, truncated: bool) -> None:
    """The rule both loaders share: binaries are left out (nothing our parsers read), text is decoded leniently."""
    if b"\0" in data[:8192]:
        return
    tree.files[rel] = SourceFile(rel, data.decode("utf-8", errors="replace"), truncated)


def _walk_order(path: str) -> tuple:
    """Sort key giving os.walk's top-down order with sorted names: a directory's files, then its subdirectories."""
    parts = path.split("/")
    return (*((1, part) for part in parts[:-1]), (0, parts[-1]))


def tree_from_memory(files: dict[str, bytes], sizes: dict[str, int], *, max_file_bytes: int = MAX_FILE_BYTES,
                     max_files: int = MAX_FILES) -> Tree:
    """The Tree :func:`load_tree` would read from these files written out under a root: the same skipped
    directories, binary rule, per-file cap and file limit, in the same order. ``files`` maps each path to (at least)
    its first ``max_file_bytes + 1`` bytes; ``sizes`` gives each file's full size."""
    tree = Tree()
    for rel in sorted(files, key=_walk_order):
        if not SKIPPED_DIRS.isdisjoint(rel.split("/")[:-1]):
            continue
        if len(tree.files) >= max_files:
            tree.skipped.append((rel, "file limit reached"))
            continue
        _tree_add(tree, rel, files[rel][:max_file_bytes], sizes[rel] > max_file_bytes)
    return tree


def load_json(text: str) -> object:
    """Strict JSON first (fast), then JSON5 for the comments and trailing commas editors accept."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    except RecursionError as exc:
        raise MalformedFile("nested too deeply") from exc
    try:
        return json5.loads(text)
    except RecursionError as exc:
        raise MalformedFile("nested too deeply") from exc
    except Exception as exc:  # json5 raises several types on junk
        raise MalformedFile(f"not valid JSON/JSON5: {str(exc)[:120]}") from exc


def load_toml(text: str) -> dict:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        raise MalformedFile(f"not valid TOML: {str(exc)[:120]}") from exc


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses alias bombs: anchors are legitimate in compose files, thousands are not."""

    def __init__(self, stream):  # noqa: ANN001
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError("too many aliases")
        return super().compose_node(parent, index)


def load_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise MalformedFile(f"not valid YAML: {str(exc)[:120]}") from exc


def as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list:
    if isinstance(value, list):
        return value
    if value is None:
        return []
    return [value]


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""
