"""The sinks of the Python taint analysis (python_taint.py): which call runs a shell, evaluates code, executes SQL
text, opens/writes/deletes a path, deserialises, requests a URL or renders a template, and which argument of it
matters. A mixin of ``Analyser``: it calls back ``_expr`` (taint of an argument) and ``_flow`` (record a flow)."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triage.parsers.python_taint import ModuleContext, Taint

SHELL_PROGRAMS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "cmd", "cmd.exe", "powershell", "pwsh"})
INTERPRETERS = re.compile(r"^(python[\d.]*|node|nodejs|perl|ruby|php|deno|bun)$")
DB_RECEIVER = re.compile(r"(cursor|cur|conn|connection|db|database|session|engine|sqlite|pg|mysql|client|pool|con)$",
                         re.I)
SQL_TEXT = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|DROP|TRUNCATE|CREATE|ALTER|REPLACE|MERGE|PRAGMA)\b", re.I)
URL_WITH_HOST = re.compile(r"^[A-Za-z][\w+.-]*://[^/{}\s?#]+")
HTTP_MODULES = ("requests", "httpx", "aiohttp", "urllib3")
HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "fetch"})
UNSAFE_YAML_LOADERS = frozenset({"Loader", "FullLoader", "UnsafeLoader", "CLoader", "CFullLoader", "CUnsafeLoader"})
PICKLE_LOADS = frozenset({
    "pickle.load", "pickle.loads", "cPickle.loads", "cPickle.load", "dill.load", "dill.loads", "cloudpickle.load",
    "cloudpickle.loads", "marshal.load", "marshal.loads", "jsonpickle.decode", "joblib.load", "shelve.open",
    "pandas.read_pickle", "pd.read_pickle", "_pickle.loads"})


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def constant_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class SinkRules:
    """Sink recognition for ``Analyser``; the state it reads (``kinds``, ``values``, ``ctx``) is the analyser's."""

    ctx: ModuleContext
    kinds: dict[str, str]
    values: dict[str, ast.AST]

    def _union(self, *taints: Taint) -> Taint:  # the analyser's join of taints
        raise NotImplementedError

    def _expr(self, node: ast.AST | None) -> Taint:
        raise NotImplementedError

    def _flow(self, sink: str, call: ast.Call, taint: Taint) -> None:
        raise NotImplementedError

    def _sinks(self, node: ast.Call, name: str, last: str, receiver: Taint, args: list[Taint],
               kwargs: dict[str, Taint]) -> None:
        def arg(index: int, keyword: str = "") -> Taint:
            if keyword and keyword in kwargs:
                return kwargs[keyword]
            return args[index] if index < len(args) else ()

        def arg_node(index: int, keyword: str = "") -> ast.AST | None:
            for k in node.keywords:
                if keyword and k.arg == keyword:
                    return k.value
            return node.args[index] if index < len(node.args) else None

        first = name.split(".", 1)[0]
        receiver_key = dotted(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        receiver_kind = self.kinds.get(receiver_key, "")
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call) and \
                dotted(node.func.value.func).rsplit(".", 1)[-1] in ("connect", "cursor", "create_engine"):
            receiver_kind = "db"  # sqlite3.connect(path).execute(...)
        # shell and code execution
        if name in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput", "commands.getoutput",
                    "asyncio.create_subprocess_shell", "pexpect.run", "pexpect.spawn") or last == "exec_command":
            self._flow("shell", node, arg(0, "command") or arg(0, "cmd"))
        elif first == "subprocess" and last in ("run", "call", "check_call", "check_output", "Popen"):
            command, command_node = arg(0, "args"), arg_node(0, "args")
            shell = next((k.value for k in node.keywords if k.arg == "shell"), None)
            if shell is not None and not (isinstance(shell, ast.Constant) and not shell.value):
                self._flow("shell", node, command)
            else:
                self._argv(node, command_node, command)
        elif name in ("asyncio.create_subprocess_exec", "anyio.run_process", "trio.run_process") or (
                name.startswith("os.exec") or name.startswith("os.spawn")):
            elements = node.args[1:] if name.startswith(("os.spawn",)) else node.args
            if len(elements) == 1 and not isinstance(elements[0], ast.Starred):
                self._argv(node, elements[0], self._expr_cached(elements[0], node, args))
            else:
                self._argv(node, ast.List(list(elements)), ())
        elif name in ("eval", "exec", "compile", "builtins.eval", "builtins.exec", "importlib.import_module",
                      "__import__", "runpy.run_path", "runpy.run_module", "code.interact"):
            self._flow("code-exec", node, arg(0))
        # SQL text
        if last in ("execute", "executemany", "executescript", "mogrify", "fetch", "fetchrow", "fetchval",
                    "exec_driver_sql") and receiver_key and (
                DB_RECEIVER.search(receiver_key.rsplit(".", 1)[-1]) or receiver_kind == "db" or
                SQL_TEXT.search(self._text_of(arg_node(0, "sql") or arg_node(0, "query")))):
            self._flow("sql", node, arg(0, "sql") or arg(0, "query") or arg(0, "statement"))
        elif last in ("read_sql", "read_sql_query") or name in ("sqlalchemy.text", "sqlalchemy.sql.text") or (
                last == "raw" and receiver_key.endswith("objects")) or (last == "run" and receiver_kind == "sqldb"):
            self._flow("sql", node, arg(0, "sql"))
        # files
        if name in ("open", "io.open", "builtins.open", "codecs.open", "aiofiles.open"):
            mode = self._text_of(arg_node(1, "mode"))
            writing = bool(re.search(r"[wax+]", mode))
            self._flow("file-write" if writing else "file-read", node, arg(0, "file"))
        elif last in ("read_text", "read_bytes") and receiver:
            self._flow("file-read", node, receiver)
        elif last in ("write_text", "write_bytes", "touch", "mkdir") and receiver:
            self._flow("file-write", node, receiver)
        elif last == "open" and receiver and isinstance(node.func, ast.Attribute):
            mode = self._text_of(arg_node(0, "mode"))
            self._flow("file-write" if re.search(r"[wax+]", mode) else "file-read", node, receiver)
        elif last in ("unlink", "rmdir") and receiver and not name.startswith("os."):
            self._flow("file-delete", node, receiver)
        elif name in ("os.remove", "os.unlink", "os.rmdir", "os.removedirs", "shutil.rmtree"):
            self._flow("file-delete", node, arg(0, "path"))
        elif name in ("shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "shutil.move",
                      "os.rename", "os.replace"):
            self._flow("file-read" if name.startswith("shutil.copy") else "file-write", node, arg(0, "src"))
            self._flow("file-write", node, arg(1, "dst"))
        elif last in ("send_file", "FileResponse"):
            self._flow("file-read", node, arg(0, "path"))
        # deserialisation
        if name in PICKLE_LOADS or (name == "torch.load" and not self._truthy(node, "weights_only")) or (
                name in ("numpy.load", "np.load") and self._truthy(node, "allow_pickle")):
            self._flow("deserialise", node, arg(0))
        elif name in ("yaml.load", "yaml.load_all"):
            loader = arg_node(1, "Loader")
            if loader is None or dotted(loader).rsplit(".", 1)[-1] in UNSAFE_YAML_LOADERS:
                self._flow("deserialise", node, arg(0, "stream"))
        elif name in ("yaml.unsafe_load", "yaml.full_load", "yaml.unsafe_load_all", "yaml.full_load_all"):
            self._flow("deserialise", node, arg(0, "stream"))
        # outbound requests
        url_index = 1 if last in ("request", "stream") else 0
        if (first in HTTP_MODULES and last in HTTP_VERBS) or (receiver_kind == "http" and last in HTTP_VERBS):
            self._url_flow(node, arg(url_index, "url"), arg_node(url_index, "url"))
        elif name in ("urllib.request.urlopen", "urlopen", "urllib.request.Request"):
            self._url_flow(node, arg(0, "url"), arg_node(0, "url"))
        # server-side templates
        if (name in ("jinja2.Template", "mako.template.Template", "jinja2.environment.Template") or
                name in ("flask.render_template_string", "render_template_string") or
                (last == "from_string" and (receiver_kind == "jinja" or "Environment" in receiver_key or
                                            isinstance(node.func, ast.Attribute) and
                                            isinstance(node.func.value, ast.Call)))):
            self._flow("template", node, arg(0, "source"))

    def _expr_cached(self, node: ast.AST, call: ast.Call, args: list[Taint]) -> Taint:
        for index, arg in enumerate(call.args):
            if arg is node:
                return args[index]
        return self._expr(node)

    def _argv(self, call: ast.Call, command: ast.AST | None, taint: Taint) -> None:
        """An argument vector: a shell or interpreter running ``-c <input>`` is injection; so is a program chosen by
        the input; input as arguments of a fixed program is not (git log <ref>)."""
        if command is None:
            return
        if isinstance(command, (ast.List, ast.Tuple)):
            elements = command.elts
            if not elements:
                return
            program = constant_str(elements[0]) or ""
            program_name = program.rsplit("/", 1)[-1]
            interpreter = INTERPRETERS.match(program_name) or dotted(elements[0]) == "sys.executable"
            installed = _installed_elements(elements)
            if installed:
                self._flow("package-install", call, self._union(*(self._expr(e) for e in installed)))
                return
            if program_name in SHELL_PROGRAMS or interpreter:
                flags = [i for i, e in enumerate(elements) if constant_str(e) in ("-c", "/c", "-Command", "-e")]
                if flags:
                    payload = self._union(*(self._expr(e) for e in elements[flags[0] + 1: flags[0] + 2]))
                    self._flow("code-exec" if interpreter else "shell", call, payload)
                elif interpreter and len(elements) > 1:
                    self._flow("code-exec", call, self._expr(elements[1]))  # python <script chosen by the input>
                return
            head = elements[0].value if isinstance(elements[0], ast.Starred) else elements[0]
            if isinstance(head, ast.Name) and self.kinds.get(head.id) == "fixed-argv":
                return
            if not program:
                self._flow("shell", call, self._expr(head))  # the input picks the program
            return
        if isinstance(command, ast.Name) and self.kinds.get(command.id) == "fixed-argv":
            return
        value = self.values.get(command.id) if isinstance(command, ast.Name) else command
        if isinstance(value, (ast.JoinedStr, ast.Constant)) or (
                isinstance(value, ast.BinOp) and isinstance(value.left, (ast.Constant, ast.JoinedStr))):
            return  # one string without a shell names one program file: input spliced into it runs nothing
        self._flow("shell", call, taint)

    def _url_flow(self, call: ast.Call, taint: Taint, url: ast.AST | None) -> None:
        if taint and url is not None and URL_WITH_HOST.match(self._prefix(url)):
            return  # a literal https://host/ prefix: the input picks a path or query on a fixed host
        # a link read from a fetched page or API answer (next page, forecast URL) is how crawling works, not SSRF
        self._flow("ssrf", call, tuple(o for o in taint if not o.source.startswith("fetched:")))

    def _prefix(self, node: ast.AST | None, depth: int = 0) -> str:
        """The constant text an expression starts with (resolving locals and module constants)."""
        if node is None or depth > 4:
            return ""
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else ""
        if isinstance(node, ast.Name):
            value = self.values.get(node.id) or self.ctx.constants.get(node.id)
            return self._prefix(value, depth + 1)
        if isinstance(node, ast.Attribute):
            return self._prefix(self.values.get(dotted(node)) or self.ctx.constants.get(dotted(node)), depth + 1)
        if isinstance(node, ast.JoinedStr):
            text = ""
            for value in node.values:
                if isinstance(value, ast.Constant):
                    text += str(value.value)
                else:
                    inner = value.value if isinstance(value, ast.FormattedValue) else value
                    part = self._prefix(inner, depth + 1)
                    text += part
                    if not fully_constant(inner, self, depth + 1):
                        return text
            return text
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            left = self._prefix(node.left, depth + 1)
            if isinstance(node.op, ast.Add) and fully_constant(node.left, self, depth + 1):
                return left + self._prefix(node.right, depth + 1)
            return left
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            if name in ("urllib.request.Request", "Request", "request.Request") and (node.args or node.keywords):
                # urlopen(request): where it goes is the Request's URL
                url = next((k.value for k in node.keywords if k.arg == "url"), node.args[0] if node.args else None)
                return self._prefix(url, depth + 1)
            if name.endswith("format") and isinstance(node.func, ast.Attribute):
                return self._prefix(node.func.value, depth + 1)
            if name.rsplit(".", 1)[-1] in ("urljoin", "join") and node.args:
                return self._prefix(node.args[0], depth + 1)
            if name.rsplit(".", 1)[-1] in ("strip", "rstrip", "lstrip") and isinstance(node.func, ast.Attribute):
                return self._prefix(node.func.value, depth + 1)
        return ""

    def _text_of(self, node: ast.AST | None) -> str:
        if node is None:
            return ""
        if isinstance(node, ast.Name):
            node = self.values.get(node.id) or self.ctx.constants.get(node.id)
            if node is None:
                return ""
        if isinstance(node, ast.Constant):
            return str(node.value) if isinstance(node.value, str) else ""
        if isinstance(node, ast.JoinedStr):
            return "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        if isinstance(node, ast.BinOp):
            return self._text_of(node.left) + " " + self._text_of(node.right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return self._text_of(node.func.value)
        return ""

    @staticmethod
    def _truthy(node: ast.Call, keyword: str) -> bool:
        value = next((k.value for k in node.keywords if k.arg == keyword), None)
        return value is not None and not (isinstance(value, ast.Constant) and not value.value)


PACKAGE_MANAGERS = frozenset({"pip", "pip3", "uv", "pipx", "poetry", "pdm", "conda", "mamba", "npm", "pnpm", "yarn",
                              "bun", "gem", "cargo", "go", "composer"})
INSTALL_VERBS = frozenset({"install", "add", "get"})


def _installed_elements(elements: list[ast.AST]) -> list[ast.AST]:
    """The argument-vector elements after ``<manager> ... install`` (``[sys.executable, "-m", "pip", "install",
    "--upgrade", pkg]``, ``["npm", "install", name]``): what they name is fetched from a registry and installed."""
    words = [constant_str(e) for e in elements]
    manager = next((i for i, w in enumerate(words[:4]) if w and w.rsplit("/", 1)[-1] in PACKAGE_MANAGERS), None)
    if manager is None:
        return []
    verb = next((i for i in range(manager + 1, min(len(words), manager + 3)) if words[i] in INSTALL_VERBS), None)
    return [e for e in elements[verb + 1:] if constant_str(e) is None] if verb is not None else []


def fully_constant(node: ast.AST, analyser: SinkRules, depth: int) -> bool:
    if depth > 4:
        return False
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        value = analyser.values.get(node.id) or analyser.ctx.constants.get(node.id)
        return value is not None and fully_constant(value, analyser, depth + 1)
    if isinstance(node, ast.BinOp):
        return fully_constant(node.left, analyser, depth + 1) and fully_constant(node.right, analyser, depth + 1)
    if isinstance(node, ast.JoinedStr):
        return all(isinstance(v, ast.Constant) or (isinstance(v, ast.FormattedValue) and fully_constant(
            v.value, analyser, depth + 1)) for v in node.values)
    return False
