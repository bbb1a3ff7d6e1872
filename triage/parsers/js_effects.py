"""What one JavaScript/TypeScript call does whatever its arguments (effects), and sensitive literals in code.

Read from the call's canonical name (imports resolved: ``cp.exec`` -> ``child_process.exec``) and its constant
arguments; the model never runs anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from intake.redaction import TOKEN_SHAPES, secret_kind
from triage.parsers.js_ast import ModuleInfo, Node, call_args, dotted, kids, line, object_pairs, property_key, \
    short, text, unwrap
from triage.parsers.tool_model import Effect, Sensitive

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "fish", "ksh", "cmd", "cmd.exe", "powershell", "pwsh",
                    "powershell.exe"})
INTERPRETERS = frozenset({"python", "python3", "node", "perl", "ruby", "deno", "bun", "php", "osascript"})
EXEC_NAMES = frozenset({"exec", "execSync"})
SPAWN_NAMES = frozenset({"spawn", "spawnSync", "execFile", "execFileSync", "fork"})
PROCESS_MODULES = ("child_process", "execa", "cross-spawn", "shelljs", "zx")
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
HTTP_CLIENTS = frozenset({"axios", "got", "superagent", "ky", "needle", "undici", "request", "ofetch"})
FETCH_NAMES = frozenset({"fetch", "fetch.default", "undici.fetch", "undici.request", "ofetch.ofetch", "$fetch"})
FS_READ = frozenset({"readFile", "readFileSync", "createReadStream", "readdir", "readdirSync", "readJson",
                     "readJsonSync", "readJSON", "opendir", "readlink"})
FS_WRITE = frozenset({"writeFile", "writeFileSync", "appendFile", "appendFileSync", "createWriteStream", "outputFile",
                      "outputFileSync", "writeJson", "writeJsonSync", "outputJson", "copyFile", "copyFileSync", "cp",
                      "cpSync", "rename", "renameSync", "mkdir", "mkdirSync", "symlink", "chmod", "chmodSync",
                      "truncate", "truncateSync", "copy", "move"})
FS_DELETE = frozenset({"unlink", "unlinkSync", "rm", "rmSync", "rmdir", "rmdirSync", "remove", "removeSync",
                       "emptyDir", "emptyDirSync"})
SQL_METHODS = frozenset({"query", "execute", "exec", "run", "all", "get", "prepare", "raw", "each", "iterate",
                         "$queryRawUnsafe", "$executeRawUnsafe", "unsafe", "queryRaw", "executeRaw", "one", "many",
                         "none", "any", "oneOrNone", "manyOrNone", "exec_sql"})
# receivers that are certainly a database handle, and receivers that are one when SQL text is passed
DB_STRONG = re.compile(r"(^|[._])(db|database|sqlite\w*|knex|sequelize|prisma|pool|pg|mysql|sql|conn|connection|"
                       r"trx|tx|dbClient|pgClient|pgPool)$", re.I)
DB_WEAK = re.compile(r"(^|[._])(client|store|repo|session)$", re.I)
DB_MODULES = ("better-sqlite3", "sqlite3", "sqlite", "pg", "mysql", "mysql2", "mssql", "knex", "sequelize",
              "@prisma/client", "postgres", "pg-promise", "duckdb", "@libsql/client", "oracledb", "tedious")
SQL_ANY = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|DROP|TRUNCATE|CREATE|ALTER|WITH|REPLACE|MERGE|PRAGMA)\b", re.I)
SQL_DROP = re.compile(r"\b(DROP\s+(TABLE|DATABASE|SCHEMA|INDEX|VIEW)|TRUNCATE)\b", re.I)
SQL_WRITE = re.compile(r"\b(DELETE\s+FROM|UPDATE\s+[\w.\"`]+\s+SET|INSERT\s+(OR\s+\w+\s+)?INTO|ALTER\s+TABLE|REPLACE\s+INTO|"
                       r"CREATE\s+TABLE|MERGE\s+INTO)\b", re.I)
SQL_UNBOUNDED_DELETE = re.compile(r"\bDELETE\s+FROM\s+[\w.\"`]+\s*;?\s*$", re.I)
MESSAGING = re.compile(r"^(post|send|reply|add|create|publish)_?(message|comment|reply|toticket|tweet|post|"
                       r"slack|discord|chat|notification|dm|issuecomment)", re.I)
PAYMENTS = re.compile(r"(transfer|payout|refund|charge|payment|invoice|wire|withdraw)", re.I)
PAYMENT_CALL = re.compile(r"^(create|send|make|issue|process|execute|initiate|submit|wire|do|capture)?_?"
                          r"(transfer|payout|refund|charge|payment|withdraw)", re.I)
DESTRUCTIVE = re.compile(r"^(reset|wipe|purge|terminate|nuke|drop(database|collection|table|all)?$|deleteall|removeall|"
                         r"destroyall|deletemany|truncate|destroy(database|cluster|instance|all))", re.I)
GATE_CALL = re.compile(r"(elicit|confirm|approv|askhuman|askuser|humanreview|requestpermission)", re.I)
CODE_EXEC = frozenset({"eval", "Function", "vm.runInNewContext", "vm.runInThisContext", "vm.runInContext",
                       "vm.compileFunction", "vm.Script", "vm.SourceTextModule"})
FIXED_HOST = re.compile(r"^(https?|wss?)://[^/?#{}\s]+([/?#]|$)", re.I)
WEBHOOK_HOST = re.compile(r"(hooks\.slack\.com|discord(app)?\.com/api/webhooks|webhook\.office\.com|"
                          r"chat\.googleapis\.com)", re.I)


def last_name(callee: str) -> str:
    return callee.rsplit(".", 1)[-1]


def base_name(callee: str) -> str:
    return callee.rsplit(".", 1)[0] if "." in callee else ""


def shadowed(callee: str, mod: ModuleInfo) -> bool:
    """A bare name defined as a function in this file (a local ``request``/``fetch`` wrapper) or imported from the
    project's own modules, not a library."""
    return "." not in callee and (callee in mod.functions and callee not in mod.aliases or
                                  callee in mod.local_imports)


def process_call(callee: str, mod: ModuleInfo) -> str:
    """"exec" | "spawn" | "" for a call that starts a child process."""
    if callee.startswith(".") or callee.split(".", 1)[0] in mod.local_imports:
        return ""  # a method on a computed value: /re/.exec(s), (await db()).exec(sql); a project helper
    last = last_name(callee)
    base = base_name(callee)
    root = callee.split(".", 1)[0]
    if root in ("execa", "cross-spawn", "zx"):
        return "exec" if last in ("execaCommand", "execaCommandSync", "command", "commandSync") else "spawn"
    if root == "shelljs" and last == "exec":
        return "exec"
    if last in EXEC_NAMES | SPAWN_NAMES and (root == "child_process" or base == "" or base.rsplit(".", 1)[-1] in (
            "cp", "childProcess", "child_process", "proc")):
        if base == "" and callee not in mod.aliases.values() and callee in mod.functions:
            return ""  # a local function that happens to be called exec
        return "exec" if last in EXEC_NAMES else "spawn"
    return ""


@lru_cache(maxsize=4096)
def http_call(callee: str) -> str:
    """The HTTP method of an outbound request call ("GET", "POST", ... or "?" when set in options), "" if none."""
    last = last_name(callee)
    root = callee.split(".", 1)[0]
    if callee in FETCH_NAMES or callee == "fetch":
        return "?"
    if root in HTTP_CLIENTS:
        if callee == root or last in ("default", "create"):
            return "?" if callee == root else ""
        if last.lower() in HTTP_METHODS:
            return "?" if last.lower() == "request" else last.upper()
        return ""
    if root == "http" and last in ("get", "request"):
        return "GET" if last == "get" else "?"
    return ""


SDK_READ = re.compile(r"^(get|list|search|fetch|read|query|find|retrieve|download|describe|lookup)", re.I)
SDK_WRITE = re.compile(r"^(create|update|post|send|add|delete|remove|merge|publish|upload|put|patch|set|close|"
                       r"reopen|lock|approve|dispatch|invite|transfer)", re.I)


def sdk_call(callee: str, mod: ModuleInfo) -> str:
    """"api-read" | "api-write" for a call on a client object made from an imported package (``new Octokit()``,
    ``axios.create()``): the service is fixed by the package, the verb says whether it reads or writes."""
    parts = callee.split(".")
    if len(parts) < 2:
        return ""
    made_by = mod.instances.get(parts[0], "")
    package = _package_of(made_by, mod)
    if not package or package in DB_MODULES or package in ("fs", "child_process"):
        return ""
    last = parts[-1]
    if package in HTTP_CLIENTS:  # const api = axios.create({ baseURL })
        if last.lower() in ("get", "head", "options"):
            return "api-read"
        return "api-write" if last.lower() in HTTP_METHODS else ""
    if not service_client(package, made_by, mod.instance_args.get(parts[0])):
        return ""  # an in-process object (a cache, a history, an event emitter, the MCP server itself)
    if MAIL_READER.search(package) and (SDK_READ.match(last) or last in MAIL_READ_VERBS):
        return "email-read"  # the mailbox: mail anyone can send
    if "gmail" in callee.lower() and re.search(r"\.(messages|threads|history)\.", callee) and SDK_READ.match(last):
        return "email-read"
    if PAYMENT_CALL.match(last) or MESSAGING.match(last) or DESTRUCTIVE.match(last):
        return ""  # named more precisely below
    if SDK_READ.match(last):
        return "api-read"
    if SDK_WRITE.match(last):
        return "api-write"
    return ""


# Node's own modules: none of them is a client of an outside service (http, net and the like are handled as requests).
NODE_BUILTINS = frozenset({"assert", "async_hooks", "buffer", "cluster", "console", "crypto", "events", "os", "path",
                           "perf_hooks", "process", "querystring", "readline", "stream", "string_decoder", "timers",
                           "url", "util", "v8", "vm", "worker_threads", "zlib", "module", "diagnostics_channel"})
CLIENT_NAME = re.compile(r"(client|sdk|api|rest|graphql|octokit|service|gateway|connection|session|transport)$", re.I)
CLIENT_PACKAGE = re.compile(r"(sdk|client|api|rest|graphql|octokit)", re.I)
CLIENT_OPTION = re.compile(r"^(auth|token|api_?key|apikey|access_?token|secret|credentials?|base_?url|baseurl|endpoint|"
                           r"url|host|hostname|region|account(_?id)?|client_?id|client_?secret|project(_?id)?|"
                           r"workspace|org(anization)?|domain|server|instance_?url)$", re.I)


MAIL_READER = re.compile(r"^(imapflow|imap|imap-simple|node-imap|imap-flow|mail-listener\S*|node-pop3|poplib|"
                         r"yapople|@?\S*mailparser\S*)$", re.I)
MAIL_READ_VERBS = frozenset({"fetch", "fetchOne", "fetchAll", "download", "search", "getMailboxLock", "mailboxOpen",
                             "openBox", "seq", "messages"})


def _package_of(made_by: str, mod: ModuleInfo) -> str:
    """The imported package a canonical constructor name comes from (``mailgun.js.default`` -> ``mailgun.js``)."""
    if not made_by:
        return ""
    found = ""
    for source in mod.import_sources:
        if (made_by == source or made_by.startswith(source + ".")) and len(source) > len(found):
            found = source
    return found


def service_client(package: str, made_by: str, construction: Node | None) -> bool:
    """The object a package made talks to an outside service: a vendor-scoped or client/SDK package, a constructor
    named like a client, or one configured with credentials or an address. Objects that live in the process (caches,
    queues, emitters, the MCP server and its transports) are none of these."""
    if not package or "modelcontextprotocol" in package or package in NODE_BUILTINS or \
            package.startswith(("@types/", ".")):
        return False
    if package.startswith("@") or CLIENT_PACKAGE.search(package) or CLIENT_NAME.search(last_name(made_by)):
        return True
    for arg in call_args(construction) if construction is not None else []:
        inner = unwrap(arg)
        if inner is None:
            continue
        if inner.type == "object" and any(CLIENT_OPTION.match(key) for key, _value, _pair in object_pairs(inner)):
            return True
        if inner.type == "member_expression" and text(inner).startswith("process.env"):
            return True  # new Service(process.env.SERVICE_KEY): a credential passed by position
    return False


def request_url(call: Node, callee: str) -> tuple[Node | None, Node | None]:
    """(URL expression, options object) of a request call; the URL may sit in the options (``{ url }``)."""
    args = call_args(call)
    if not args:
        return None, None
    first = unwrap(args[0])
    options = unwrap(args[1]) if len(args) > 1 else None
    if first is not None and first.type == "object":
        for key, value, pair in object_pairs(first):
            if key in ("url", "uri", "baseURL", "host", "hostname", "href"):
                return (value if value is not None else pair), first
        return None, first
    if options is not None and options.type != "object":
        options = None
    if callee.split(".", 1)[0] in ("axios", "got") and last_name(callee).lower() in ("post", "put", "patch"):
        options = unwrap(args[2]) if len(args) > 2 else None
        options = options if options is not None and options.type == "object" else None
    return args[0], options


def option(options: Node | None, key: str) -> Node | None:
    for name, value, pair in object_pairs(options):
        if name == key:
            return value if value is not None else pair
    return None


def request_method(call: Node, callee: str, options: Node | None, mod: ModuleInfo) -> str:
    method = http_call(callee)
    if method != "?":
        return method
    value = option(options, "method")
    folded = mod.const_text(value) if value is not None else ""
    return folded.upper() if folded else ("POST" if option(options, "body") is not None else "GET")


def local_prefix(node: Node | None, mod: ModuleInfo, local: dict[str, Node]) -> str:
    """The constant text an argument starts with, following a local ``const url = `https://...```."""
    inner = unwrap(node)
    if inner is not None and inner.type == "identifier" and text(inner) in local:
        return mod.prefix(local[text(inner)])
    return mod.prefix(node) if node is not None else ""


def constant_args(args: list[Node], mod: ModuleInfo) -> str:
    """Constant arguments, for an effect's detail: strings and arrays of strings, computed values as ``…``."""
    out = []
    for arg in args:
        inner = unwrap(arg)
        if inner is not None and inner.type == "array":
            out.extend(mod.const_text(e) or "…" for e in kids(inner))
        elif inner is not None and inner.type in ("object", "arrow_function", "function_expression"):
            continue
        else:
            out.append(mod.prefix(arg) or "…")
    return " ".join(out)[:160]


def is_db_receiver(callee: str, mod: ModuleInfo, sql_text: str) -> bool:
    base = base_name(callee)
    if not base or base.startswith("."):
        return False
    root = base.split(".", 1)[0]
    instance = mod.instances.get(base) or mod.instances.get(root) or ""
    if any(instance.startswith(m) for m in DB_MODULES) or root in DB_MODULES:
        return True
    if DB_STRONG.search(base):
        return True
    return bool(DB_WEAK.search(base) and SQL_ANY.search(sql_text))


def sql_effect(sql: str, line_no: int, callee: str) -> Effect:
    text_ = " ".join(sql.split())[:120] or callee
    if SQL_DROP.search(sql):
        return Effect("database-drop", line_no, text_)
    if SQL_WRITE.search(sql):
        return Effect("database-write", line_no, text_)
    return Effect("database-read", line_no, text_)


def env_inherited(value: Node | None, mod: ModuleInfo, local: dict[str, Node]) -> bool:
    """``env: process.env``, ``{ ...process.env, X }``, ``Object.assign({}, process.env)``: the whole environment."""
    value = unwrap(value)
    for _ in range(3):
        if value is not None and value.type in ("identifier", "shorthand_property_identifier") and \
                text(value) in local:
            value = unwrap(local[text(value)])
        elif value is not None and value.type == "identifier" and text(value) in mod.consts:
            value = unwrap(mod.consts[text(value)])
        else:
            break
    if value is None:
        return False
    if value.type == "member_expression":
        return text(value).replace(" ", "") in ("process.env", "globalThis.process.env")
    if value.type == "object":
        return any(child.type == "spread_element" and env_inherited(kids(child)[0] if kids(child) else None, mod,
                                                                    local) for child in kids(value))
    if value.type == "call_expression" and dotted(value.child_by_field_name("function")) == "Object.assign":
        return any(env_inherited(arg, mod, local) for arg in call_args(value))
    return False


@lru_cache(maxsize=4096)
def may_have_effect(callee: str) -> bool:
    """Cheap gate on the callee's name alone: most calls (``z.string``, ``text.split``) can have no effect."""
    last = last_name(callee)
    lower = last.lower()
    root = callee.split(".", 1)[0]
    return bool(len(callee.split(".")) > 1 and (SDK_READ.match(last) or SDK_WRITE.match(last)) or
                last in EXEC_NAMES or last in SPAWN_NAMES or root in PROCESS_MODULES or callee in CODE_EXEC or
                root in ("vm", "fs", "stripe") or http_call(callee) or "mail" in lower or last == "send" or
                last in SQL_METHODS or PAYMENTS.search(callee) or MESSAGING.match(last) or "webhook" in lower or
                last == "postMessage" or DESTRUCTIVE.match(last) or
                lower in ("deleteone", "deletemany", "delete", "remove", "destroy"))


def call_effects(call: Node, callee: str, mod: ModuleInfo, local: dict[str, Node]) -> list[Effect]:
    """Effects of one call (or ``new``) expression."""
    if not may_have_effect(callee) and callee.split(".", 1)[0] not in mod.instances:
        return []
    args = call_args(call)
    last = last_name(callee)
    lower = last.lower()
    at = line(call)
    effects: list[Effect] = []
    process = process_call(callee, mod)
    if process:
        program = mod.prefix(args[0]) if args else ""
        words = program.split()
        fixed = bool(words) and words[0].rsplit("/", 1)[-1] not in SHELLS and (
            process == "spawn" or (mod.fold(args[0]) is not None and not re.search(r"[;&|`$<>]", program)))
        if process == "spawn" and args and mod.fold(args[0]) is None:
            fixed = False
        effects.append(Effect("command" if fixed else "shell", at, f"{callee}({constant_args(args, mod)})"))
        for arg in args[1:]:
            options = unwrap(arg)
            if options is not None and options.type == "object" and env_inherited(option(options, "env"), mod,
                                                                                   local):
                effects.append(Effect("env-to-child", at, f"{callee}(..., env: whole process.env)"))
        return effects
    if callee in CODE_EXEC or callee.split(".", 1)[0] == "vm":
        return [Effect("code-exec", at, f"{callee}(...)")]
    method = http_call(callee) if not shadowed(callee, mod) else ""
    if method:
        url, options = request_url(call, callee)
        method = request_method(call, callee, options, mod)
        prefix = local_prefix(url, mod, local) if url is not None else ""
        fixed = bool(FIXED_HOST.match(prefix))
        if not fixed and url is not None and url.parent is not None and url.parent.type == "pair" and \
                property_key(url.parent.child_by_field_name("key")) in ("host", "hostname") and \
                re.fullmatch(r"[\w-]+(\.[\w-]+)+", mod.const_text(url)):
            fixed = True  # http.request({ hostname: "api.example.com", ... })
        detail = f"{callee}({prefix[:100] or '…'})" + (f" {method}" if method not in ("GET", "?") else "")
        reads = method in ("GET", "HEAD", "OPTIONS")
        kind = ("api-read" if reads else "api-write") if fixed else ("web-fetch" if reads else "network")
        effects.append(Effect(kind, at, detail, fixed_target=fixed))
        if WEBHOOK_HOST.search(prefix) and not reads:
            effects.append(Effect("messaging", at, detail, fixed_target=fixed))
        return effects
    if lower in ("sendmail", "send_mail") or (last == "send" and re.search(r"(mail|\.emails)", callee, re.I)):
        return [Effect("email-send", at, callee)]
    root = callee.split(".", 1)[0]
    if root == "fs":
        if last in FS_DELETE:
            recursive = any(unwrap(a) is not None and unwrap(a).type == "object" and
                            text(option(unwrap(a), "recursive")) == "true" for a in args[1:])
            detail = f"{callee}({constant_args(args[:1], mod)})"
            if recursive or last in ("emptyDir", "emptyDirSync", "remove", "removeSync"):
                effects.append(Effect("destructive", at, detail + " recursive"))
            effects.append(Effect("delete", at, detail))
        elif last in FS_WRITE:
            effects.append(Effect("write-files", at, f"{callee}({constant_args(args[:1], mod)})"))
        elif last in FS_READ:
            effects.append(Effect("read-files", at, f"{callee}({constant_args(args[:1], mod)})"))
        return effects
    if last in SQL_METHODS and args:
        sql = mod.shape(args[0], local) if unwrap(args[0]) is not None and \
            unwrap(args[0]).type != "object" else ""
        sql = "" if sql == "{}" else sql
        if is_db_receiver(callee, mod, sql) and (sql or last in ("query", "execute", "raw", "$queryRawUnsafe",
                                                                 "$executeRawUnsafe", "unsafe") or
                                                 DB_STRONG.search(base_name(callee))):
            effects.append(sql_effect(sql, at, callee))
            if SQL_UNBOUNDED_DELETE.search(sql):
                effects.append(Effect("destructive", at, " ".join(sql.split())[:120]))
            return effects
    if PAYMENT_CALL.match(last) or (last in ("create", "capture", "confirm", "pay", "send", "execute", "submit") and (
            PAYMENTS.search(base_name(callee)) or root == "stripe" or mod.instances.get(root, "").startswith("stripe"))):
        if not re.search(r"(datatransfer|transferencoding|chargeable)", callee, re.I):
            return [Effect("payments", at, callee)]
    if last == "postMessage" and ("chat" in callee or "slack" in callee.lower()) or MESSAGING.match(last) or \
            "webhook" in lower:
        return [Effect("messaging", at, callee)]
    if DESTRUCTIVE.match(last) or (last == "deleteMany" and (not args or text(unwrap(args[0])).replace(" ", "") == "{}")):
        if last != "deleteMany" or not args or text(unwrap(args[0])).replace(" ", "") == "{}":
            shown = "{}" if last == "deleteMany" and args else constant_args(args, mod)
            return [Effect("destructive", at, f"{callee}({shown})")]
    if lower in ("deleteone", "deletemany", "delete", "remove", "destroy") and DB_STRONG.search(base_name(callee)):
        return [Effect("database-write", at, callee)]
    sdk = sdk_call(callee, mod)
    if sdk:
        return [Effect(sdk, at, callee, fixed_target=True)]
    return effects


# -- sensitive data -------------------------------------------------------------------------------------------
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
SENSITIVE_KEYS = (
    (re.compile(r"^(ssn|social_?security(_?number)?|sin|national_?id)$", re.I), "ssn"),
    (re.compile(r"^(credit_?card(_?number)?|card_?(number|no|num)|cc_?number|pan|cvv|cvc|cvv2)$", re.I), "card-number"),
    (re.compile(r"^(private_?key|priv_?key|secret_?key_?pem|ssh_?key)$", re.I), "private-key"),
    (re.compile(r"^(password|passwd|pwd|pass_?phrase|api_?key|apikey|secret|client_?secret|secret_?key|"
                r"db_?password|credentials?)$", re.I), "credential"),
    (re.compile(r"^(token|access_?token|refresh_?token|auth_?token|bearer_?token|session_?token|jwt)$", re.I), "token"),
)
PERSON_FIELDS = frozenset({"name", "fullname", "full_name", "firstname", "first_name", "lastname", "last_name", "email",
                           "phone", "phonenumber", "phone_number", "address", "dob", "dateofbirth", "date_of_birth",
                           "birthdate", "salary", "ssn", "income", "medical", "diagnosis"})


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def string_sensitive(value: str, at: int) -> list[Sensitive]:
    found = []
    if len(value) > 4000:
        value = value[:4000]
    for match in SSN.finditer(value):
        if not match.group(0).startswith(("000", "666", "9")):
            found.append(Sensitive("ssn", at, match.group(0)))
            break
    for match in CARD.finditer(value):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn(digits) and len(set(digits)) > 1:
            found.append(Sensitive("card-number", at, match.group(0)))
            break
    match = TOKEN_SHAPES.search(value)
    if match:
        found.append(Sensitive(secret_kind(match.group(0)), at, match.group(0)[:60]))
    return found


SENSITIVE_KEY_ANY = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _kind in SENSITIVE_KEYS), re.I)
_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+")
# Last words of a field name that hold a secret whatever comes before (stripe_secret_key, apiToken, mfa_secret),
# and second-to-last words that make ``hash``/``key``/``digest`` one (password_hash, access_key, api_key).
SECRET_TAIL = {"password": "credential", "passwd": "credential", "passphrase": "credential", "secret": "credential",
               "token": "token", "jwt": "token", "apikey": "credential", "credentials": "credential"}
SECRET_PAIR = {("password", "hash"): "credential", ("password", "digest"): "credential", ("api", "key"): "credential",
               ("secret", "key"): "credential", ("access", "key"): "credential", ("private", "key"): "private-key",
               ("signing", "key"): "private-key", ("ssh", "key"): "private-key", ("encryption", "key"): "credential",
               ("secret", "access"): "credential"}
NOT_A_SECRET_HEAD = frozenset({"has", "is", "requires", "require", "needs", "show", "reset", "forgot", "max", "min",
                               "num", "count", "expires", "expiry", "use", "with", "no", "allow"})

# Protocol and text tokens that are no credential: progressToken, nextPageToken, maxTokens, stopToken.
NOT_A_CREDENTIAL_TOKEN = frozenset({"progress", "page", "next", "prev", "previous", "continuation", "cursor", "sync",
                                    "resume", "idempotency", "request", "cancel", "cancellation", "pagination",
                                    "input", "output", "prompt", "completion", "total", "stop", "start", "end",
                                    "special", "eos", "bos", "pad", "unk", "mask", "sep", "cls", "batch", "delimiter",
                                    "state", "nonce", "correlation", "trace", "span", "lexer", "parse", "syntax"})


def sensitive_key(key: str) -> str:
    """The kind of data a record field holds by its name ("" for none): the exact names of SENSITIVE_KEYS, or a
    name ending in a secret word (``stripe_secret_key``, ``apiToken``, ``password_hash``)."""
    if not key or len(key) > 40:
        return ""
    for pattern, kind in SENSITIVE_KEYS:
        if pattern.match(key):
            return kind
    words = [w.lower() for w in _WORD_BREAK.split(key) if w]
    if len(words) < 2 or words[0] in NOT_A_SECRET_HEAD:
        return ""
    if words[-1] == "token" and words[-2] in NOT_A_CREDENTIAL_TOKEN:
        return ""
    if words[-1] in SECRET_TAIL:
        return SECRET_TAIL[words[-1]]
    pair = (words[-2], words[-1])
    if pair in SECRET_PAIR:
        return SECRET_PAIR[pair]
    if len(words) >= 3 and (words[-3], words[-2]) == ("secret", "access") and words[-1] == "key":
        return "credential"
    return ""


_SQL_SELECT = re.compile(r"\bSELECT\b(.*?)\bFROM\b", re.I | re.S)


def select_sensitive(sql: str, at: int) -> list[Sensitive]:
    """Columns a SELECT names that hold identity numbers, card numbers or secrets (``SELECT ssn, api_token FROM``)."""
    match = _SQL_SELECT.search(sql[:4000]) if "select" in sql[:4000].lower() else None
    if match is None:
        return []
    found = []
    for column in re.findall(r"[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)?", match.group(1))[:60]:
        name = column.rsplit(".", 1)[-1]
        kind = sensitive_key(name)
        if kind:
            found.append(Sensitive(kind, at, f"SELECT {name}"))
    return found


def object_sensitive(node: Node, mod: ModuleInfo, returned: Callable[[Node], bool] | None = None) -> list[Sensitive]:
    """Sensitive keys holding data (not schemas or function values) in an object literal; a value read from the
    environment counts only in an object the tool returns (elsewhere it is the tool's own configuration)."""
    found = []
    for child in node.named_children:
        kind_ = child.type
        if kind_ == "pair":
            key = property_key(child.child_by_field_name("key"))
        elif kind_ == "shorthand_property_identifier":
            key = text(child)
        else:
            continue
        kind = sensitive_key(key)
        if not kind:
            continue
        inner = unwrap(child.child_by_field_name("value")) if kind_ == "pair" else None
        if inner is not None and inner.type in ("arrow_function", "function_expression", "call_expression", "object",
                                                "array", "undefined", "null"):
            continue  # a schema (z.string()), a nested structure (its leaves are checked), or nothing
        if returned is not None and inner is not None and inner.type == "member_expression" and \
                text(inner).startswith("process.env") and not returned(node):
            continue
        if inner is not None and inner.type in ("true", "false"):
            continue  # a flag (hasPassword: true), not the secret itself
        found.append(Sensitive(kind, line(child), short(child, 80)))
    return found


def records_sensitive(node: Node) -> list[Sensitive]:
    """An array of person records: objects each with several personal fields."""
    objects = [child for child in kids(node) if child.type == "object"]
    if len(objects) < 2:
        return []
    personal = 0
    for obj in objects[:20]:
        keys = {property_key(child.child_by_field_name("key")).lower() if child.type == "pair" else text(child).lower()
                for child in kids(obj)}
        if len(keys & PERSON_FIELDS) >= 3:
            personal += 1
    if personal >= 2:
        return [Sensitive("personal-records", line(node), f"{len(objects)} records with personal fields")]
    return []


@lru_cache(maxsize=4096)
def is_gate(callee: str) -> bool:
    return bool(GATE_CALL.search(last_name(callee)))
