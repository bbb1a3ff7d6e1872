"""Inside the sandbox: turn a launch line ("uv run server.py", "npx tsx src/index.ts", "npm start") into the argv
that starts the server on the vetted runtime only, or say why it cannot start offline.

Nothing of the submission is executed here. Launchers that would install or download at start (``uv``, ``uvx``,
``npx``, ``pip install -r``) are read for what they would finally run; that program is started against the vetted
runtime (:mod:`triage.dynamic.runtime`), and only when every package its code imports is there. A package the runtime
lacks is named in the reason; nothing is ever fetched.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from triage.dynamic.runtime import STDLIB, VettedRuntime

NETWORK_COMMANDS = {
    "docker": "pulls and runs a container image",
    "podman": "pulls and runs a container image",
    "deno": "fetches remote modules at start",
    "curl": "downloads code at start",
    "wget": "downloads code at start",
}
FETCHING_RUNNERS = {"npx": "npm", "bunx": "npm", "pnpx": "npm", "uvx": "PyPI", "pipx": "PyPI"}
PYTHON_NAMES = {"python", "python3"} | {f"python3.{minor}" for minor in range(6, 20)}
NODE_NAMES = {"node", "nodejs"}
TS_RUNNERS = {"tsx", "ts-node", "ts-node-esm"}
TS_SUFFIXES = (".ts", ".mts", ".cts", ".tsx")
JS_SUFFIXES = (".js", ".mjs", ".cjs")
SEPARATORS = {"&&", ";", "||"}
# Submodules present in a set only as stubs that raise on import (the v2 SDK keeps the v1 path to say it moved).
PYTHON_STUBS = {"mcp2": ("mcp.server.fastmcp",)}
# uv run options that take a value; --directory/--project set the working directory.
UV_VALUE_OPTIONS = {"--with", "--with-requirements", "--directory", "--project", "--python", "-p", "--extra",
                    "--group", "--env-file", "--index", "--default-index", "--index-url", "--from", "--package",
                    "-w", "--only-group", "--no-group"}
MAX_DEPTH = 4
MAX_SCANNED = 200


class NotRunnable(Exception):
    """Why a server cannot start offline: the message is the ``not_run`` reason a builder acts on."""


@dataclass
class Project:
    """What the submitted tree says about itself: files, and the packaging that names entry points."""

    root: Path
    files: dict  # posix path -> SourceFile (anything with ``.text``)
    runtime: VettedRuntime
    pyprojects: list = field(default_factory=list)  # (SourceFile, data)
    package_jsons: list = field(default_factory=list)  # (SourceFile, data)

    def text(self, path: str) -> str | None:
        entry = self.files.get(path)
        return None if entry is None else getattr(entry, "text", None)

    def exists(self, path: str) -> bool:
        return path in self.files

    def is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/" if path not in ("", ".") else ""
        return any(p.startswith(prefix) for p in self.files)

    def project_scripts(self) -> dict[str, tuple[str, str, int | None]]:
        """[project.scripts] name -> (module:function, pyproject path, line)."""
        found = {}
        for file, data in self.pyprojects:
            scripts = ((data or {}).get("project") or {}).get("scripts") or {}
            scripts = scripts if isinstance(scripts, dict) else {}
            scripts |= (((data or {}).get("tool") or {}).get("poetry") or {}).get("scripts") or {}
            for name, target in scripts.items():
                if isinstance(target, str) and ":" in target:
                    found.setdefault(str(name), (target, file.path, file.line_of(f"{name}")))
        return found

    def package_json_for(self, directory: str) -> tuple | None:
        """The package.json of ``directory`` or its nearest ancestor inside the tree."""
        by_dir = {posixpath.dirname(file.path): (file, data) for file, data in self.package_jsons}
        while True:
            if directory in by_dir:
                return by_dir[directory]
            if directory in ("", "."):
                return None
            directory = posixpath.dirname(directory)


@dataclass
class Launch:
    argv: list[str]
    runtime: str  # python | node
    entry: str  # the entry point, a path inside the tree
    cwd: str  # working directory, relative to the tree's root
    python_set: str = ""

    def as_dict(self) -> dict:
        return {"argv": self.argv, "runtime": self.runtime, "entry": self.entry, "cwd": self.cwd,
                "python_set": self.python_set}


def resolve_launch(command: str, project: Project, *, cwd: str = "") -> dict:
    """``{"argv", "runtime", "entry", "cwd", "python_set"}`` or ``{"reason"}``."""
    try:
        return _resolve(command, project, cwd=cwd, depth=0).as_dict()
    except NotRunnable as why:
        return {"reason": str(why)}


def _resolve(command: str, project: Project, *, cwd: str, depth: int) -> Launch:
    if depth > MAX_DEPTH:
        raise NotRunnable("its launch line refers to itself through scripts too deeply to follow")
    try:
        words = shlex.split(command)
    except ValueError:
        raise NotRunnable("its command line cannot be parsed") from None
    if not words:
        raise NotRunnable("declares no command")
    segments: list[list[str]] = [[]]
    for word in words:
        if word in SEPARATORS:
            segments.append([])
        elif word == "|":
            raise NotRunnable("its command line pipes programs together; only a single server program is started")
        else:
            segments[-1].append(word)
    segments = [s for s in segments if s]
    start = None
    for segment in segments:
        if segment[0] == "cd" and len(segment) == 2:
            cwd = _inside_path(cwd, segment[1], project) if start is None else cwd
            continue
        if _install_step(segment, project, cwd):
            continue
        if start is not None:
            raise NotRunnable("its command line runs more than one program after set-up; only one server program is "
                              "started")
        start = segment
    if start is None:
        raise NotRunnable("its command line only installs dependencies and starts no server")
    return _program(start, project, cwd=cwd, depth=depth)


def _inside_path(cwd: str, relative: str, project: Project) -> str:
    if relative.startswith(("/", "~")):
        raise NotRunnable(f"it changes into '{relative}', outside the submitted files")
    joined = posixpath.normpath(posixpath.join(cwd or ".", relative))
    if joined == ".." or joined.startswith("../"):
        raise NotRunnable(f"it changes into '{relative}', outside the submitted files")
    return "" if joined == "." else joined


def _install_step(words: list[str], project: Project, cwd: str) -> bool:
    """A set-up step the vetted runtime stands in for; a requirement it cannot meet is the reason not to run."""
    name = words[0].rsplit("/", 1)[-1]
    rest = words[1:]
    if name in PYTHON_NAMES and rest[:2] == ["-m", "pip"]:
        name, rest = "pip", rest[2:]
    if name in ("pip", "pip3") and rest[:1] == ["install"]:
        args = rest[1:]
        for index, arg in enumerate(args):
            if arg in ("-r", "--requirement") and index + 1 < len(args):
                _requirements_met(posixpath.normpath(posixpath.join(cwd or ".", args[index + 1])), project)
            elif arg in ("-e", ".", "--editable") or arg.startswith("-"):
                continue
            elif index == 0 or args[index - 1] not in ("-r", "--requirement"):
                _packages_met([arg], f"'pip install {arg}'", project)
        return True
    if name == "uv" and rest[:1] in (["sync"], ["venv"]) or name == "uv" and rest[:2] == ["pip", "install"]:
        return True
    if name in ("npm", "pnpm", "yarn") and (not rest or rest[0] in ("install", "i", "ci")):
        return True
    if name in ("npm", "pnpm", "yarn") and rest[:2] in (["run", "build"], ["build"]) or name == "tsc":
        return True  # a TypeScript build: the sources run under tsx instead
    return False


def _requirements_met(path: str, project: Project) -> None:
    text = project.text(path)
    if text is None:
        raise NotRunnable(f"it installs from '{path}', which is not in the submitted files")
    from triage.parsers.packages import requirement_lines

    _packages_met([r for _line, r in requirement_lines(text)], f"'{path}'", project)


def _packages_met(requirements: list[str], where: str, project: Project) -> None:
    held = {name.replace("_", "-") for set_name, _p in project.runtime.python_sets()
            for name in (project.runtime.info.get("python") or {}).get(set_name, {})}
    for requirement in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if not match or requirement.strip().startswith(("-", "git+", "http")):
            continue
        name = match.group(1).lower().replace("_", "-").replace(".", "-")
        if name not in held:
            raise NotRunnable(f"{where} asks for '{match.group(1)}', which the vetted runtime does not hold "
                              "(nothing is downloaded at triage)")


def _program(words: list[str], project: Project, *, cwd: str, depth: int) -> Launch:
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]  # FOO=bar before the program: the environment, not the program
    if not words:
        raise NotRunnable("declares no command")
    program, args = words[0], words[1:]
    name = program.rsplit("/", 1)[-1]
    if name in ("sh", "bash") and args[:1] == ["-c"] and len(args) >= 2:
        return _resolve(args[1], project, cwd=cwd, depth=depth + 1)
    if name in NETWORK_COMMANDS:
        raise NotRunnable(f"'{name}' {NETWORK_COMMANDS[name]}: needs the network")
    if name in PYTHON_NAMES:
        return _python(args, project, cwd=cwd)
    if name in NODE_NAMES:
        return _node(args, project, cwd=cwd)
    if name in TS_RUNNERS:
        return _node(args, project, cwd=cwd, typescript=True)
    if name == "uv":
        return _uv(args, project, cwd=cwd, depth=depth)
    if name in FETCHING_RUNNERS or name in ("pnpm", "yarn") and args[:1] == ["dlx"]:
        return _fetching_runner(name, args[1:] if name in ("pnpm", "yarn") or args[:1] == ["run"] and name == "pipx"
                                else args, project, cwd=cwd, depth=depth)
    if name in ("npm", "pnpm", "yarn", "bun"):
        return _package_script(name, args, project, cwd=cwd, depth=depth)
    if name in ("fastmcp", "mcp") and args[:1] in (["run"], ["dev"]) and len(args) >= 2:
        return _python_launch("serve", args[1], args[2:], project, cwd=cwd, entry=_strip_object(args[1], cwd))
    scripts = project.project_scripts()
    if name in scripts and "/" not in program:
        return _project_script(name, args, project, cwd=cwd)
    local = _inside(project, cwd, program)
    if local is not None and project.exists(local):
        text = project.text(local) or ""
        if local.endswith(".py") or text.startswith("#!") and "python" in text.split("\n", 1)[0]:
            return _python([program, *args], project, cwd=cwd)
        if local.endswith(JS_SUFFIXES) or text.startswith("#!") and "node" in text.split("\n", 1)[0]:
            return _node([program, *args], project, cwd=cwd)
        if local.endswith(TS_SUFFIXES):
            return _node([program, *args], project, cwd=cwd, typescript=True)
        raise NotRunnable(f"'{program}' is not a Python or Node entry point; native programs are not run")
    bins = _package_bins(project, cwd)
    if name in bins:
        return _node([bins[name], *args], project, cwd=cwd)
    raise NotRunnable(f"command '{name}' is not present offline in the submitted files or the vetted runtime")


def _strip_object(target: str, cwd: str) -> str:
    path = target.rsplit(":", 1)[0] if re.search(r"\.py:[A-Za-z_]\w*$", target) else target
    return posixpath.normpath(posixpath.join(cwd or ".", path))


def _inside(project: Project, cwd: str, relative: str) -> str | None:
    if relative.startswith(("/", "~")):
        return None
    joined = posixpath.normpath(posixpath.join(cwd or ".", relative))
    return None if joined == ".." or joined.startswith("../") else joined


# --- Python --------------------------------------------------------------------------------------------------------

def _python(args: list[str], project: Project, *, cwd: str) -> Launch:
    args = [a for a in args if a not in ("-I", "-S", "-E", "-s", "-u", "-B", "-O", "-OO")]
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c"):
        args.pop(0)  # other interpreter flags: the launch is ours
    if not args:
        raise NotRunnable("python is started without a script or module")
    if args[0] == "-c":
        raise NotRunnable("inline python (-c) is not a vendored entry point")
    if args[0] == "-m":
        if len(args) < 2:
            raise NotRunnable("python -m without a module")
        module, rest = args[1], args[2:]
        if module in ("fastmcp", "mcp") and rest[:1] == ["run"] and len(rest) >= 2:
            return _python_launch("serve", rest[1], rest[2:], project, cwd=cwd, entry=_strip_object(rest[1], cwd))
        entry = _module_file(module, project, cwd, main=True)
        if entry is None:
            if not any(project.runtime.python_has(s, module) for s, _p in project.runtime.python_sets()):
                raise NotRunnable(f"module '{module}' is neither in the submitted files nor in the vetted runtime")
        return _python_launch("module", module, rest, project, cwd=_import_root(entry, module) if entry else cwd,
                              entry=entry or "")
    script = _inside(project, cwd, args[0])
    if script is None or not project.exists(script):
        raise NotRunnable(f"script '{args[0]}' is not in the submitted files")
    return _python_launch("script", args[0], args[1:], project, cwd=cwd, entry=script)


def _module_file(module: str, project: Project, cwd: str, *, main: bool = False) -> str | None:
    """The tree file a dotted module name loads (``__main__.py`` of a package for ``python -m``)."""
    relative = module.replace(".", "/")
    for base in _search_roots(cwd, cwd):
        stem = posixpath.normpath(posixpath.join(base or ".", relative))
        for candidate in ((f"{stem}/__main__.py",) if main else ()) + (f"{stem}.py", f"{stem}/__init__.py"):
            if project.exists(candidate):
                return candidate
    return None


def _search_roots(directory: str, cwd: str) -> list[str]:
    roots = []
    for base in (directory, cwd, posixpath.join(cwd, "src") if cwd else "src", ""):
        base = posixpath.normpath(base) if base else ""
        base = "" if base == "." else base
        if base not in roots:
            roots.append(base)
    return roots


def _python_launch(mode: str, target: str, args: list[str], project: Project, *, cwd: str, entry: str) -> Launch:
    if mode == "serve" and not project.exists(entry):
        raise NotRunnable(f"script '{entry}' is not in the submitted files")
    set_name = _python_set(entry, project, cwd)
    from triage.dynamic.observe import OBSERVE_SITE

    runtime = str(project.runtime.root / "python" / set_name)
    if mode in ("script", "serve"):
        target = str(project.root / _strip_object(target, cwd)) + (
            target[len(target.rsplit(":", 1)[0]):] if mode == "serve" and re.search(r"\.py:\w+$", target) else "")
    argv = [sys.executable, "-S", str(OBSERVE_SITE / "pystart.py"), runtime, mode, target, *args]
    return Launch(argv=argv, runtime="python", entry=entry, cwd=cwd, python_set=set_name)


def _project_script(name: str, args: list[str], project: Project, *, cwd: str) -> Launch:
    target, where, line = project.project_scripts()[name]
    module = target.split(":", 1)[0].strip()
    base = posixpath.dirname(where)
    entry = _module_file(module, project, base) or _module_file(module, project, cwd)
    if entry is None:
        raise NotRunnable(f"[project.scripts] {name} = '{target}' ({where}): module '{module}' is not in the "
                          "submitted files")
    return _python_launch("call", target.replace(" ", ""), args, project, cwd=_import_root(entry, module),
                          entry=entry)


def _import_root(entry: str, module: str) -> str:
    """The directory from which ``module`` imports as the file ``entry`` (the package's parent, or ``src/``)."""
    stem = re.sub(r"(/__main__\.py|/__init__\.py|\.py)$", "", entry)
    relative = module.replace(".", "/")
    return stem[: -len(relative)].rstrip("/") if stem.endswith(relative) else posixpath.dirname(entry)


def _python_set(entry: str, project: Project, cwd: str) -> str:
    """The first runtime set that holds every package the entry point and the tree modules it imports need."""
    sets = project.runtime.python_sets()
    if not sets:
        raise NotRunnable("the vetted Python runtime is not built on this platform (infra/build-dynamic-runtime.sh)")
    needed = _python_needs(entry, project, cwd) if entry else []
    missing_by_set = {}
    for set_name, _path in sets:
        stubs = PYTHON_STUBS.get(set_name, ())
        missing = [(module, where) for module, where in needed
                   if not project.runtime.python_has(set_name, module) or
                   any(module == s or module.startswith(s + ".") for s in stubs)]
        if not missing:
            return set_name
        missing_by_set[set_name] = missing
    module, where = min(missing_by_set.values(), key=len)[0]
    raise NotRunnable(f"imports '{module}' ({where}), which the vetted runtime does not hold (nothing is "
                      "downloaded at triage; vendor it or use a library the runtime has)")


def _python_needs(entry: str, project: Project, cwd: str) -> list[tuple[str, str]]:
    """(module, "path:line") for every package outside the tree and the standard library that loading ``entry``
    imports, following the tree's own modules it imports."""
    from triage.parsers.python_imports import module_import_statements

    needed: dict[str, str] = {}
    queue, seen = [entry], set()
    while queue and len(seen) < MAX_SCANNED:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        statements = module_import_statements(project.text(path) or "", path) or []
        directory = posixpath.dirname(path)
        for statement in statements:
            if statement.level:
                base = directory
                for _ in range(statement.level - 1):
                    base = posixpath.dirname(base)
                local = [_local_file(posixpath.join(base, statement.module.replace(".", "/")) if statement.module
                                     else posixpath.join(base, name), project) for name in statement.names or ("",)]
                queue += [p for p in local if p]
                continue
            top = statement.module.split(".", 1)[0]
            if top in STDLIB or top == "__future__":
                continue
            local = next((found for base in _search_roots(directory, cwd)
                          if (found := _local_file(posixpath.join(base, statement.module.replace(".", "/")), project))),
                         None)
            if local is None and any(project.is_dir(posixpath.join(base, top)) or
                                     project.exists(posixpath.join(base, f"{top}.py"))
                                     for base in _search_roots(directory, cwd)):
                continue  # a module of the tree the import points into (a namespace package or an attribute)
            if local is not None:
                queue.append(local)
                for name in statement.names:  # from pkg import module
                    sub = _local_file(posixpath.join(posixpath.dirname(local) if local.endswith("__init__.py")
                                                     else posixpath.splitext(local)[0], name), project)
                    if sub:
                        queue.append(sub)
                continue
            if statement.optional:
                continue
            needed.setdefault(statement.module, f"{path}:{statement.line}")
    return sorted(needed.items())


def _local_file(stem: str, project: Project) -> str | None:
    stem = posixpath.normpath(stem)
    for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
        if project.exists(candidate):
            return candidate
    return None


# --- Node ----------------------------------------------------------------------------------------------------------

def _node(args: list[str], project: Project, *, cwd: str, typescript: bool = False) -> Launch:
    args = [a for a in args if not a.startswith("-")]
    if not args:
        raise NotRunnable("node is started without a script")
    node = next((p for p in ("/usr/bin/node", "/usr/local/bin/node") if Path(p).is_file()), None)
    if node is None:
        raise NotRunnable("node is not installed in the sandbox runtime")
    script = _inside(project, cwd, args[0])
    if script is None:
        raise NotRunnable(f"script '{args[0]}' is not in the submitted files")
    if not project.exists(script):
        source = _source_of_build(script, project)
        if source is None:
            raise NotRunnable(f"script '{args[0]}' is not in the submitted files (and no TypeScript source it would "
                              "be built from is)")
        script = source
    if script.endswith(TS_SUFFIXES):
        typescript = True
    _node_needs_met(script, project)
    argv = [node, "--max-old-space-size=256"]
    if typescript:
        loader = project.runtime.tsx_loader()
        if loader is None:
            raise NotRunnable("the vetted Node runtime (with its TypeScript runner) is not built on this platform")
        argv += ["--import", loader.as_uri()]
    return Launch(argv=[*argv, str(project.root / script), *args[1:]], runtime="node", entry=script, cwd=cwd)


def _source_of_build(built: str, project: Project) -> str | None:
    """``dist/index.js`` not committed: the ``src/index.ts`` it is built from (run under tsx instead)."""
    stem, _ext = posixpath.splitext(built)
    parts = stem.split("/")
    candidates = []
    for index, part in enumerate(parts):
        if part in ("dist", "build", "out", "lib"):
            for replacement in ("src", "."):
                rebuilt = "/".join([*parts[:index], *([replacement] if replacement != "." else []), *parts[index + 1:]])
                candidates += [rebuilt + suffix for suffix in (*TS_SUFFIXES, *JS_SUFFIXES)]
    return next((c for c in candidates if project.exists(c)), None)


def _node_needs_met(entry: str, project: Project) -> None:
    from triage.parsers.js_ast import is_relative
    from triage.parsers.js_project import JsProject

    js = JsProject(project.files)
    queue, seen = [entry], set()
    while queue and len(seen) < MAX_SCANNED:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        info = js.module(path)
        if info is None:
            continue
        for source in sorted(info.import_sources):
            if is_relative(source):
                local = js.resolve(path, source)
                if local:
                    queue.append(local)
                continue
            if source.startswith(("http:", "https:", "data:", "file:")):
                raise NotRunnable(f"imports '{source}' ({path}), a URL: needs the network")
            package = "/".join(source.split("/")[:2]) if source.startswith("@") else source.split("/")[0]
            package = {"fetch": "node-fetch"}.get(package, package)  # the parser folds fetch libraries together
            if not package or project.runtime.node_builtin(source) or project.runtime.node_builtin(package):
                continue
            if project.runtime.node_has(package) or project.exists(f"node_modules/{package}/package.json"):
                continue
            raise NotRunnable(f"imports '{package}' ({path}), which the vetted runtime does not hold (nothing is "
                              "downloaded at triage; vendor it or use a library the runtime has)")


def _package_bins(project: Project, cwd: str) -> dict[str, str]:
    found = project.package_json_for(cwd)
    if found is None:
        return {}
    file, data = found
    base = posixpath.dirname(file.path)
    bins = data.get("bin")
    if isinstance(bins, str):
        bins = {str(data.get("name", "")).rsplit("/", 1)[-1]: bins}
    return {str(k): posixpath.relpath(posixpath.normpath(posixpath.join(base or ".", str(v))), cwd or ".")
            for k, v in (bins or {}).items() if isinstance(v, str)} if isinstance(bins, dict) else {}


def _fetching_runner(name: str, args: list[str], project: Project, *, cwd: str, depth: int) -> Launch:
    registry = FETCHING_RUNNERS.get(name, "npm")
    source = ""
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag in ("--from", "-p", "--package", "--with") and args:
            value = args.pop(0)
            source = value if flag != "--with" else source
    if not args:
        raise NotRunnable(f"'{name}' names no package to run")
    package, rest = args[0], args[1:]
    bare = re.sub(r"(?<=.)@[^/]*$", "", package)  # @scope/name@1.2 -> @scope/name
    if registry == "npm":
        if bare in TS_RUNNERS:
            return _node(rest, project, cwd=cwd, typescript=True)
        found = project.package_json_for(cwd)
        own = found is not None and bare == str(found[1].get("name", ""))
        bins = _package_bins(project, cwd)
        if own or bare in bins or bare.rsplit("/", 1)[-1] in bins:
            target = bins.get(bare) or bins.get(bare.rsplit("/", 1)[-1]) or next(iter(bins.values()), "")
            if target:
                return _node([target, *rest], project, cwd=cwd)
        if source in (".", "./") or package in (".", "./"):
            return _package_script("npm", ["start", *rest], project, cwd=cwd, depth=depth)
    else:
        if bare in ("fastmcp", "mcp") and rest[:1] == ["run"] and len(rest) >= 2:
            return _python_launch("serve", rest[1], rest[2:], project, cwd=cwd, entry=_strip_object(rest[1], cwd))
        scripts = project.project_scripts()
        if source in (".", "./") or bare in scripts:
            script = bare if bare in scripts else next(iter(scripts), "")
            if script:
                return _project_script(script, rest, project, cwd=cwd)
    raise NotRunnable(f"'{name}' would fetch '{bare}' from the {registry} registry at start; it is not in the "
                      "submitted files or the vetted runtime, and nothing is downloaded at triage")


def _uv(args: list[str], project: Project, *, cwd: str, depth: int) -> Launch:
    if not args or args[0] != "run":
        raise NotRunnable(f"'uv {args[0] if args else ''}' is not a launch line the stage can read")
    args = args[1:]
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        value = None
        if "=" in flag:
            flag, value = flag.split("=", 1)
        elif flag in UV_VALUE_OPTIONS and args:
            value = args.pop(0)
        if flag in ("--directory", "--project") and value:
            cwd = _inside_path(cwd, value, project)
        elif flag == "--with" and value:
            _packages_met(value.split(","), f"'uv run --with {value}'", project)
        elif flag == "--":
            break
    if not args:
        raise NotRunnable("'uv run' names nothing to run")
    first = args[0]
    if first.endswith(".py"):
        return _python(args, project, cwd=cwd)
    return _program(args, project, cwd=cwd, depth=depth + 1)


def _package_script(name: str, args: list[str], project: Project, *, cwd: str, depth: int) -> Launch:
    if args[:1] == ["run"]:
        args = args[1:]
    if not args:
        raise NotRunnable(f"'{name}' names no script to run")
    script, rest = args[0], [a for a in args[1:] if a != "--"]
    found = project.package_json_for(cwd)
    scripts = (found[1].get("scripts") if found else None) or {}
    if script == "start" and "start" not in scripts and found and isinstance(found[1].get("main"), str):
        base = posixpath.dirname(found[0].path)
        return _node([posixpath.relpath(posixpath.join(base or ".", found[1]["main"]), cwd or "."), *rest], project,
                     cwd=cwd)
    command = scripts.get(script) if isinstance(scripts, dict) else None
    if not isinstance(command, str):
        raise NotRunnable(f"'{name} {script}': package.json has no '{script}' script")
    base = posixpath.dirname(found[0].path)
    return _resolve(command + "".join(" " + shlex.quote(a) for a in rest), project, cwd=base, depth=depth + 1)
