"""Sink rules of the JavaScript/TypeScript taint walk: which calls a tainted value must not reach, and how."""

from __future__ import annotations

import re

from triage.parsers import js_effects as fx
from triage.parsers.js_ast import FUNCTION_TYPES, Node, kids, line, short, text, unwrap
from triage.parsers.js_flow import Frame, Result, Taint
from triage.parsers.tool_model import Flow, Step

READ_FILE_SINK = fx.FS_READ
WRITE_FILE_SINK = fx.FS_WRITE
DELETE_FILE_SINK = fx.FS_DELETE
SSRF_SKIP_PREFIX = fx.FIXED_HOST
TEMPLATE_SINKS = frozenset({"ejs.render", "ejs.compile", "handlebars.compile", "handlebars.precompile",
                            "pug.render", "pug.compile", "lodash.template", "nunjucks.renderString",
                            "dot.template", "doT.template", "eta.renderString", "squirrelly.render"})
DESERIALISE = frozenset({"node-serialize.unserialize", "serialize-to-js.deserialize", "js-yaml.unsafeLoad",
                         "yaml.unsafeLoad", "funcster.deepDeserialize", "cryo.parse", "v8.deserialize"})
YAML_DEFAULT_LOAD = "js-yaml.load (default schema)"
MODULE_LOADERS = frozenset({"import", "require", "module.createRequire"})
UNSAFE_YAML_SCHEMA = re.compile(r"(FULL|unsafe|DEFAULT_FULL|js/function)", re.I)
# Statements after which the session or transaction cannot write, and those that end such a transaction.
READ_ONLY_SQL = re.compile(r"^\s*((BEGIN|START\s+TRANSACTION|SET\s+(SESSION\s+CHARACTERISTICS\s+AS\s+)?TRANSACTION)\b"
                           r"[^;]*\bREAD\s+ONLY\b|SET\s+(SESSION\s+|LOCAL\s+)?default_transaction_read_only\s*"
                           r"(=|TO)\s*'?(on|true|1)\b|PRAGMA\s+query_only\s*=\s*'?(on|1|true)\b)", re.I)
END_TRANSACTION = re.compile(r"^\s*(COMMIT|ROLLBACK|END)\b", re.I)
# Connection options that make every statement read-only (better-sqlite3 / sqlite3 / a Postgres session default).
READ_ONLY_OPTION = re.compile(r"\b(readonly|readOnly|read_only)\s*:\s*true\b|default_transaction_read_only\s*=\s*"
                              r"(on|true|1)\b|OPEN_READONLY|[?&]mode=ro\b|\bquery_only\b")


class SinkRules:
    """Mixed into the analyser: ``expr`` and ``mod`` come from it."""

    def _sinks(self, node: Node, callee: str, args: list[Node], taints: list[Taint | None], frame: Frame) -> None:
        if not args:
            return
        if fx.last_name(callee) in fx.SQL_METHODS:
            self._note_transaction(node, callee, args, frame)
        if callee.split(".", 1)[0] == "fs" and fx.last_name(callee) in WRITE_FILE_SINK and len(taints) > 1 and \
                taints[1] is not None and taints[1].live:
            target = _root_identifier(args[0])
            if target:
                frame.written[target] = taints[1].step(line(node), short(node, 120))
        if callee in MODULE_LOADERS and frame.written:
            loaded = next((frame.written[n] for n in _identifiers(args[0]) if n in frame.written), None)
            if loaded is not None:
                step = Step(line(node), short(node, 120))
                frame.result.flows.append(Flow("code-exec", loaded.source, line(node), callee, (*loaded.steps, step),
                                               loaded.spliced))
                return None
        first = taints[0] if taints and taints[0] is not None and taints[0].live else None
        live = [t for t in taints if t is not None and t.live]
        if not live:
            return
        last = fx.last_name(callee)
        root = callee.split(".", 1)[0]

        def flow(sink: str, taint: Taint, spliced: bool | None = None) -> None:
            step = Step(line(node), short(node, 120))
            frame.result.flows.append(Flow(sink, taint.source, line(node), callee or short(
                node.child_by_field_name("function") or node, 60), (*taint.steps, step),
                taint.spliced if spliced is None else spliced))

        process = fx.process_call(callee, self.mod)
        if process == "exec" and first is not None:
            return flow("shell", first)
        if process == "spawn":
            return self._spawn_sink(args, taints, frame, flow)
        if callee in MODULE_LOADERS and first is not None:  # import(input) / require(input): the input picks code
            return flow("code-exec", first)
        if callee in fx.CODE_EXEC or (root == "vm" and last.startswith(("run", "compile"))):
            for taint in live:
                return flow("code-exec", taint)
        if last in ("setTimeout", "setInterval", "setImmediate") and first is not None and \
                unwrap(args[0]) is not None and unwrap(args[0]).type not in FUNCTION_TYPES:
            return flow("code-exec", first)
        if root == "fs" and first is not None:
            if last in DELETE_FILE_SINK:
                return flow("file-delete", first)
            if last in WRITE_FILE_SINK:
                return flow("file-write", first)
            if last in READ_FILE_SINK:
                return flow("file-read", first)
        if root == "fs" and last in ("copyFile", "copyFileSync", "rename", "renameSync", "cp") and len(taints) > 1 \
                and taints[1] is not None and taints[1].live:
            return flow("file-write", taints[1])
        if callee in DESERIALISE and first is not None:
            return flow("deserialise", first)
        if callee in ("js-yaml.load", "js-yaml.loadAll") and first is not None and len(args) > 1 and \
                UNSAFE_YAML_SCHEMA.search(text(args[1])):
            return flow("deserialise", first)
        if callee in ("js-yaml.load", "js-yaml.loadAll") and first is not None and not any(
                "schema" in text(a) for a in args[1:]):
            # js-yaml before 4 loads with the full schema (!!js/function) by default; which version the project
            # uses is settled against its package.json once the whole tree is read (js_project.settle_yaml_loads)
            step = Step(line(node), short(node, 120))
            frame.result.flows.append(Flow("deserialise", first.source, line(node), YAML_DEFAULT_LOAD,
                                           (*first.steps, step), first.spliced))
            return None
        if callee in TEMPLATE_SINKS and first is not None:
            return flow("template", first)
        if fx.http_call(callee) and not fx.shadowed(callee, self.mod):
            url, _options = fx.request_url(node, callee)
            taint = self._url_taint(url, node, args, taints, frame)
            if taint is not None and not self._host_fixed(url, frame):
                return flow("ssrf", taint)
            return None
        if last in fx.SQL_METHODS and first is not None and not self._prepared_receiver(node):
            sql = self.mod.prefix(args[0])
            if fx.is_db_receiver(callee, self.mod, sql or "SELECT") and (
                    last not in ("get", "run", "all", "each", "one", "many", "none", "any") or
                    fx.SQL_ANY.search(sql) or fx.DB_STRONG.search(fx.base_name(callee))):
                contained = frame.read_only or self._read_only_connection(callee, frame)
                step = Step(line(node), short(node, 120))
                frame.result.flows.append(Flow("sql", first.source, line(node), callee, (*first.steps, step),
                                               first.spliced, contained))
        return None

    def _note_transaction(self, node: Node, callee: str, args: list[Node], frame: Frame) -> None:
        """``client.query("BEGIN TRANSACTION READ ONLY")``: SQL run after it in this handler cannot write, until
        the transaction ends."""
        statement = self.mod.const_text(args[0])
        if not statement:
            return
        if READ_ONLY_SQL.match(statement):
            frame.read_only = f"{' '.join(statement.split())[:60]} (l.{line(node)})"
        elif END_TRANSACTION.match(statement):
            frame.read_only = ""

    def _read_only_connection(self, callee: str, frame: Frame) -> str:
        """The receiver was opened read-only (``new Database(file, { readonly: true })``), directly or as a client
        taken from such a pool (``const client = await pool.connect()``)."""
        root = callee.split(".", 1)[0]
        for _ in range(3):
            bound = unwrap(frame.local.get(root)) if root in frame.local else None
            if bound is None or bound.type != "call_expression":
                break
            function = unwrap(bound.child_by_field_name("function"))
            if function is None or function.type != "member_expression":
                break
            root = text(function.child_by_field_name("object")).split(".", 1)[0]
        construction = self.mod.instance_args.get(root)
        if construction is not None and READ_ONLY_OPTION.search(text(construction)[:2000]):
            where = "its module" if root in self.mod.local_imports else f"l.{line(construction)}"
            return f"read-only connection {root} ({where})"
        return ""

    def _spawn_sink(self, args: list[Node], taints: list[Taint | None], frame: Frame, flow) -> None:  # noqa: ANN001
        program_taint = taints[0] if taints[0] is not None and taints[0].live else None
        program = self.mod.const_text(args[0]).rsplit("/", 1)[-1].lower()
        arg_list = unwrap(args[1]) if len(args) > 1 else None
        elements = kids(arg_list) if arg_list is not None and arg_list.type == "array" else []
        element_taints = [self._element_taint(e, frame) for e in elements]
        if arg_list is not None and arg_list.type != "array" and len(taints) > 1 and taints[1] is not None \
                and taints[1].live:
            element_taints.append(taints[1])
        shell = any(unwrap(a) is not None and unwrap(a).type == "object" and
                    text(fx.option(unwrap(a), "shell")) not in ("", "false") for a in args[1:])
        live_elements = [t for t in element_taints if t is not None and t.live]
        if program_taint is not None:
            return flow("shell", program_taint)
        constants = [self.mod.const_text(e) for e in elements]
        if program in fx.SHELLS and any(c in ("-c", "/c", "/C", "-Command", "-command") for c in constants) and \
                live_elements:
            return flow("shell", live_elements[0])
        if program.rstrip("0123456789.") in fx.INTERPRETERS and \
                any(c in ("-c", "-e", "--eval", "-p", "--print") for c in constants) and live_elements:
            return flow("code-exec", live_elements[0])
        if shell and live_elements:
            return flow("shell", live_elements[0], True)
        return None

    def _element_taint(self, element: Node, frame: Frame) -> Taint | None:
        saved = self._budget
        taint = self.expr(element, Frame(frame.env, frame.local, Result(), frame.depth, frame.focus,
                                         frame.killed, frame.functions, frame.confined, frame.read_only), 0)
        self._budget = saved
        return taint

    def _url_taint(self, url: Node | None, node: Node, args: list[Node], taints: list[Taint | None],
                   frame: Frame) -> Taint | None:
        if url is None:
            return None
        if args and url is args[0]:
            taint = taints[0]
        else:
            taint = self._element_taint(url, frame)
        return taint if taint is not None and taint.live else None

    def _host_fixed(self, url: Node | None, frame: Frame, depth: int = 0) -> bool:
        """The input cannot choose the host: a literal ``https://host/`` prefix, or a base URL that is not the
        input (``${API_BASE}/items/${id}``, configured by the operator)."""
        node = unwrap(url)
        if node is None or depth > 3:
            return False
        if SSRF_SKIP_PREFIX.match(fx.local_prefix(node, self.mod, frame.local)):
            return True
        if node.type == "identifier" and text(node) in frame.local:
            return self._host_fixed(frame.local[text(node)], frame, depth + 1)
        head = None
        if node.type == "template_string":
            for child in node.children:
                if child.type in ("string_fragment", "escape_sequence"):
                    return False  # constant text first, and it is no scheme://host/
                if child.type == "template_substitution":
                    inner = kids(child)
                    head = inner[0] if inner else None
                    break
        elif node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "+":
            head = node
            while head is not None and head.type == "binary_expression":
                head = unwrap(head.child_by_field_name("left"))
        if head is None or self.mod.fold(head) is not None:
            return False
        taint = self._element_taint(head, frame)
        return taint is None or not taint.live

    def _prepared_receiver(self, call: Node) -> bool:
        """``db.prepare(sql).run(x)`` / ``stmt.all(x)``: arguments are bound parameters, not SQL text."""
        function = unwrap(call.child_by_field_name("function"))
        if function is None or function.type != "member_expression":
            return False
        obj = unwrap(function.child_by_field_name("object"))
        if obj is not None and obj.type == "call_expression":
            inner = unwrap(obj.child_by_field_name("function"))
            return inner is not None and inner.type == "member_expression" and \
                text(inner.child_by_field_name("property")) == "prepare"
        name = text(obj).rsplit(".", 1)[-1].lower() if obj is not None else ""
        return name in ("stmt", "statement", "prepared", "query") or name.endswith(("stmt", "statement"))


def _root_identifier(node: Node | None) -> str:
    node = unwrap(node)
    return text(node) if node is not None and node.type == "identifier" else ""


def _identifiers(node: Node | None) -> list[str]:
    """Names an expression reads (``pathToFileURL(file).href`` -> pathToFileURL, file), bounded."""
    if node is None:
        return []
    found, stack = [], [node]
    while stack and len(found) < 50:
        current = stack.pop()
        if current.type == "identifier":
            found.append(text(current))
        stack.extend(current.named_children)
    return found
