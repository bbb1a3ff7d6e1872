"""Triage quality: our sandboxed triage vs two open offline scanners from PyPI on the labelled corpus
(tests/fixtures/corpus), all in one run, scored by tests/quality/corpus.py.

Peers: ``mcpscan-cli`` (the "peer" keys) and ``agent-audit-kit`` ("peer2"). Each is installed by this benchmark
into its own venv under var/bench-peers/<name>/ (reused when present) and run on a private copy of each case,
with no network (``unshare -rn`` when the kernel allows it) and a throwaway HOME, so it reads only the case.

Usage: .venv/bin/python tests/bench/bench_triage_quality.py [--quick] [--cases NAME,...] [--corpus DIR]
Last line: bench_triage_quality: macro_recall= case_recall= fp_cases= peer_macro_recall= peer_case_recall=
peer_fp_cases= peer2_macro_recall= peer2_case_recall= peer2_fp_cases= cases= benign=
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")
_DATA = tempfile.mkdtemp(prefix="assay-bench-quality-")
os.environ["ASSAY_DATA_DIR"] = _DATA  # a private, throwaway database and data dir
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from tests.quality.corpus import (CATEGORIES, CORPUS_DIR, Case, CaseResult, Score, load_cases,  # noqa: E402
                                  result_of, result_of_ours, score)
from triage.runner import TriageInputError, TriagePlatformError, source_for_path, triage_analyse  # noqa: E402
from triage.sandbox import backend_resolve, configured_backend  # noqa: E402

PEERS_DIR = REPO / "var" / "bench-peers"
PEER_TIMEOUT_S = 120
QUICK_BUDGET = 18  # cases in --quick: an even spread over the vulnerable and over the benign cases
WORKERS = 8


# --- peer rule tables ------------------------------------------------------------------------------
# Each row: rule id (exact) or prefix ending in "*" -> corpus categories, with why. An empty tuple means the
# rule reports something that is none of the corpus categories (its finding still counts for fp_cases when
# it is medium or higher). Rows are read in order; the first match wins, so exact ids come before prefixes.

Row = tuple[str, tuple[str, ...], str]

MCPSCAN_RULES: tuple[Row, ...] = (
    ("MCP001", ("command-injection",), "shell=True / exec / eval with interpolated input in a tool handler"),
    ("MCP002", ("tool-poisoning",), "prompt-injection phrasing or hidden Unicode in tool metadata"),
    ("MCP003", ("exfiltration", "supply-chain"), "dangerous hook; narrowed by its title in mcpscan_categories()"),
    ("MCP004", ("excessive-permissions",), "wildcard permission grants, permission prompts disabled"),
    ("MCP005", ("secrets",), "committed secret in code or config"),
    ("MCP006", ("supply-chain",), "vulnerable MCP SDK version pinned"),
    ("MCP007", ("path-traversal",), "file path built from untrusted input in a file tool"),
    ("MCP008", ("ssrf",), "outbound request to a URL built from tool input"),
    ("MCP009", ("deserialisation",), "pickle / yaml.load / unsafe deserialisation"),
    ("MCP010", ("supply-chain",), "TLS verification disabled: as our plain-HTTP check, a provenance weakness"),
    ("MCP011", ("excessive-permissions",), "WebFetch allowed for any domain (ours: egress.webfetch-any-domain)"),
    ("MCP012", ("secrets",), "remote MCP server with a hardcoded static token (no-auth variant: no category)"),
    ("MCP013", (), "missing risk annotations: style advice, no flaw"),
    ("MCP014", ("supply-chain",), "remote server domain changed since last discovery (discovery-only)"),
    ("MCP015", ("command-injection", "untrusted-content"), "untrusted event text interpolated into a run step"),
    ("MCP016", ("untrusted-content", "excessive-permissions"), "pull_request_target checks out fork code"),
    ("MCP017", ("untrusted-content",), "untrusted-trigger workflow reaches a custom secret"),
    ("MCP018", ("excessive-permissions",), "debug server on all interfaces with an exec endpoint"),
    ("MCP019", ("untrusted-content",), "workflow_run consumes the untrusted run's content"),
    ("MCP020", ("excessive-permissions",), "workflow writes with no explicit permissions block"),
    ("MCP021", (), "click handler without isTrusted: browser UI issue"),
    ("MCP022", (), "missing Origin check on a loopback server: transport issue"),
    ("MCP023", ("tool-poisoning",), "policy-override / refusal-negation framing in a tool description"),
    ("MCP024", (), "JWT signature not verified: auth issue"),
    ("MCP025", (), "JWT audience not validated: auth issue"),
    ("MCP026", (), "JWT issuer not validated: auth issue"),
    ("MCP027", (), "401 without resource_metadata: auth issue"),
    ("MCP028", (), "no Protected Resource Metadata: auth issue"),
    ("MCP029", ("secrets",), "forwards the client's access token downstream (credential handling)"),
    ("MCP030", ("secrets",), "access token accepted in the URL query string (credential leaks into logs)"),
)

AAK_RULES: tuple[Row, ...] = (
    # Tool poisoning: descriptions, skills, instruction files.
    ("AAK-POISON-*", ("tool-poisoning",), "invisible Unicode, injection phrasing, cross-tool references, encoding"),
    ("AAK-SKILL-003", ("tool-poisoning", "exfiltration"), "SKILL.md embeds data-exfiltration primitives"),
    ("AAK-SKILL-UNTRUSTED-EXEC-PATH", ("supply-chain",), "untrusted search path in a skill install flow"),
    ("AAK-SKILL-LIFECYCLE-ATTRIBUTION-001", (), "no outcome-attribution record: research-grade advice"),
    ("AAK-SKILL-*", ("tool-poisoning",), "SKILL.md side-effect commands, steganography, hijacked names, triggers"),
    ("AAK-MCP-FHI-001", ("tool-poisoning",), "adversarial-suffix shape in a tool description"),
    ("AAK-MCP-CARD-001", ("tool-poisoning",), "poisoned tool description in a server card"),
    ("AAK-DEEPSEEK-V4-MOE-TOOL-INJ-001", ("tool-poisoning",), "tool description injection"),
    ("AAK-MCP-APPS-*", (), "MCP Apps iframe sandbox / DOM XSS: UI hardening, not description poisoning"),
    ("AAK-METIS-*", (), "research-grade prompt-sink advice"),
    ("AAK-LLM-001", ("tool-poisoning",), "model flagged tool metadata (only with --llm-scan, not used here)"),
    ("AAK-IPI-WILD-CORPUS-001", ("tool-poisoning",), "known prompt-injection payload checked into the repo"),
    ("AAK-AGENT-001", ("tool-poisoning",), "instruction file carries shell command directives"),
    ("AAK-AGENT-003", ("tool-poisoning",), "instructions override security controls"),
    ("AAK-AGENT-004", ("secrets",), "instructions reference credentials"),
    ("AAK-AGENT-005", ("tool-poisoning",), "instruction file hides content"),
    ("AAK-AGENT-006", ("tool-poisoning", "untrusted-content"), "instructions fetch a URL and act on it"),
    ("AAK-AGENT-TRUST-001", ("untrusted-content",), "headless agent in CI trusts repo-resident config"),
    ("AAK-AGENT-TRUST-002", ("untrusted-content",), "headless agent CI on an attacker-controllable ref"),
    ("AAK-AGENT-TRUST-003", ("excessive-permissions",), "repo settings bake in auto-approval"),
    ("AAK-AGENT-TRUST-004", ("tool-poisoning",), "instruction file carries an embedded shell payload"),
    ("AAK-AST04-001", ("deserialisation",), "skill front matter with an executing deserialisation tag"),
    ("AAK-AST02-001", ("supply-chain",), "skill pulls an unpinned external resource"),
    # Injection and dataflow from tool inputs.
    ("AAK-TAINT-001", ("command-injection",), "tool parameter flows to a shell command"),
    ("AAK-TAINT-002", ("command-injection",), "tool parameter flows to eval/exec"),
    ("AAK-TAINT-003", ("path-traversal",), "tool parameter flows to file open"),
    ("AAK-TAINT-004", ("ssrf",), "tool parameter flows to an HTTP request"),
    ("AAK-TAINT-005", ("sql-injection",), "tool parameter flows to a SQL query"),
    ("AAK-TAINT-006", ("deserialisation",), "tool parameter flows to deserialisation"),
    ("AAK-TAINT-*", (), "missing validation / many sinks: advice without a specific flaw"),
    ("AAK-MCP-TOOL-ARG-OSCMD-001", ("command-injection",), "model-supplied argument reaches an OS command"),
    ("AAK-MCP-TOOL-UNSAFE-EVAL-001", ("command-injection",), "eval/exec/compile inside a tool handler"),
    ("AAK-SHELL-QUOTED-INTERP-001", ("command-injection",), "tool argument interpolated into a shell command"),
    ("AAK-SHELL-DEFAULT-PROFILE-001", ("excessive-permissions",), "command-executing tool in the default profile"),
    ("AAK-STDIO-001", ("command-injection",), "MCP stdio command injection class"),
    ("AAK-MCP-STDIO-CMD-INJ-*", ("command-injection",), "stdio server launched from network-controlled input"),
    ("AAK-MCP-STDIO-LAUNCHER-INJECT-001", ("command-injection",), "stdio launcher with exec flag/interpolation"),
    ("AAK-MCP-002", ("command-injection",), "MCP server command runs with shell expansion"),
    ("AAK-MCP-ARGV-TOCTOU-001", ("command-injection",), "argv rebuilt after allow-list approval"),
    ("AAK-HOOK-RCE-*", ("command-injection",), "hook interpolates user input into a shell"),
    ("AAK-LLM-SQL-RCE-001", ("sql-injection", "irreversible-action"), "LLM SQL on an RCE-capable role"),
    ("AAK-MCP-015", ("path-traversal",), "path traversal in a resource or tool file handler"),
    ("AAK-MCP-AUTH-PATHTRAVERSAL-001", ("path-traversal",), "bearer token joined into a file path"),
    ("AAK-CREWAI-CVE-2026-2285-001", ("path-traversal",), "CrewAI JSON loader path traversal"),
    ("AAK-LANGCHAIN-PROMPT-LOADER-PATH-001", ("path-traversal",), "load_prompt path traversal"),
    ("AAK-LANGCHAIN-002", ("path-traversal",), "load_prompt without allow_dangerous_paths review"),
    ("AAK-LANGCHAIN-003", ("deserialisation",), "LangChain deserialisation of untrusted data"),
    ("AAK-SSRF-*", ("ssrf",), "unvalidated outbound HTTP, loopback/metadata reachable, no allow-list"),
    ("AAK-MCP-SSRF-001", ("ssrf",), "tool handler fetches a caller-supplied URL without allow-list"),
    ("AAK-MCP-DEST-UNVALIDATED-001", ("ssrf",), "configured destination reaches a fetch with no guard"),
    ("AAK-LANGCHAIN-SSRF-REDIR-001", ("ssrf",), "redirects followed past the allow-list"),
    ("AAK-LMDEPLOY-VL-SSRF-001", ("ssrf",), "image loader fetches user URLs"),
    ("AAK-CREWAI-CVE-2026-2286-001", ("ssrf",), "CrewAI RAG/website tool SSRF"),
    ("AAK-MCP-009", ("ssrf",), "MCP server URL points at an internal address"),
    ("AAK-IDE-TASK-004", (), "VS Code task file unparsable"),
    ("AAK-IDE-TASK-*", ("command-injection",), "VS Code tasks that auto-run or reach a shell with interpolation"),
    ("AAK-MCP-008", ("command-injection",), "MCP headersHelper runs arbitrary commands"),
    ("AAK-SANDBOX-DENYLIST-001", ("command-injection",), "name deny-list as a Python eval sandbox"),
    ("AAK-APPROVAL-PARSER-DESYNC-001", ("command-injection",), "command-safety parser and shell disagree"),
    ("AAK-ROUTINE-002", ("command-injection",), "routine schedule interpolates unsanitised input"),
    ("AAK-MCP-TUNNEL-001", ("ssrf",), "tunnel proxy with its SSRF defence disabled"),
    ("AAK-CREWAI-CVE-2026-2275-001", ("command-injection",), "CrewAI code interpreter in unsafe mode"),
    ("AAK-CREWAI-CHAIN-2026-04-001", ("command-injection",), "CrewAI exploit chain reachable"),
    # Flows out, composition, untrusted content.
    ("AAK-TOXICFLOW-001", ("exfiltration",), "sensitive source paired with an external sink"),
    ("AAK-COMPOSE-001", ("untrusted-content", "exfiltration"), "untrusted input reaches egress across components"),
    ("AAK-PRTITLE-IPI-001", ("untrusted-content",), "PR/issue title flows into an LLM without a sanitiser"),
    ("AAK-TIKTOK-AGENT-HIJACK-001", ("untrusted-content",), "social agent auto-replies without a human gate"),
    ("AAK-HOOK-001", ("exfiltration",), "hook runs a network-capable command"),
    ("AAK-HOOK-002", ("exfiltration",), "hook exfiltrates environment variables"),
    ("AAK-HOOK-003", ("excessive-permissions",), "hook writes outside the project"),
    ("AAK-HOOK-006", ("excessive-permissions",), "hook runs with elevated privileges"),
    ("AAK-HOOK-005", ("exfiltration",), "hook uses base64 (payload hiding, typically for exfiltration)"),
    ("AAK-HOOK-008", ("exfiltration",), "hook with an obfuscated payload"),
    ("AAK-HOOK-*", (), "hook count / runs on events / references sources: inventory, no flaw"),
    ("AAK-TRUST-002", ("exfiltration",), "ANTHROPIC_BASE_URL overridden: traffic and key go elsewhere"),
    ("AAK-TRUST-005", ("exfiltration",), "custom provider base URL"),
    ("AAK-TRUST-008", ("exfiltration",), "proxy or CA override in project settings"),
    ("AAK-TRUST-*", ("excessive-permissions",), "all project MCP servers enabled, wildcard allows, no deny rules"),
    # Permissions.
    ("AAK-MCP-010", ("excessive-permissions",), "MCP server given the whole filesystem"),
    ("AAK-MCP-SANDBOX-SELFDISABLE-001", ("excessive-permissions",), "model-settable sandbox-disable parameter"),
    ("AAK-ROUTINE-001", ("excessive-permissions",), "routine grants broader permissions"),
    ("AAK-MARKETPLACE-002", ("excessive-permissions",), "plugin permission set grants broad access"),
    ("AAK-OAUTH-SCOPE-001", ("excessive-permissions",), "OAuth client granted broad scopes"),
    ("AAK-AGENT-COMPOSE-001", ("excessive-permissions",), "composed skills exceed what any one requested"),
    ("AAK-COMPOSE-002", ("excessive-permissions",), "skills share an undeclared writable path"),
    ("AAK-COMPOSE-003", ("excessive-permissions",), "a skill's code exercises more than it declares"),
    ("AAK-AGENT-SHARED-RES-AUTHZ-001", ("excessive-permissions",), "mutating shared-resource tool without per-actor authz"),
    ("AAK-MCP-TOOLGATE-ASYMMETRY-001", ("excessive-permissions",), "tool gate in tools/list but not tools/call"),
    ("AAK-CREWAI-CVE-2026-2287-001", ("excessive-permissions",), "code sandbox silently falls back to the host"),
    ("AAK-MCP-ZCODE-CVE-2026-88755-001", ("excessive-permissions",), "workspace MCP servers connected unreviewed"),
    # Secrets and sensitive data.
    ("AAK-SECRET-*", ("secrets",), "API keys, tokens, private keys, secrets in MCP env blocks, .env files"),
    ("AAK-MCP-003", ("secrets",), "MCP server environment exposes secrets"),
    ("AAK-MCP-TUNNEL-003", ("secrets",), "tunnel credentials hardcoded"),
    ("AAK-MCP-ENV-PLACEHOLDER-EXFIL-001", ("secrets", "exfiltration"), "user config resolves process.env secrets"),
    ("AAK-SPLUNK-*", ("secrets",), "tokens written to logs"),
    ("AAK-INDIA-PII-*", ("sensitive-data",), "personal identifiers in source or config"),
    ("AAK-TASKS-002", ("sensitive-data",), "MCP tasks keep credentials after completion"),
    ("AAK-MCP-014", ("secrets",), "auth token in a URL query parameter (as mcpscan MCP030)"),
    ("AAK-TRANSPORT-004", ("secrets",), "session token in a URL query parameter"),
    ("AAK-OAUTH-003", ("secrets",), "OAuth token passed through between tenants (as mcpscan MCP029)"),
    # Provenance.
    ("AAK-SUPPLY-*", ("supply-chain",), "unpinned MCP packages, vulnerable lockfile entries, install scripts"),
    ("AAK-MARKETPLACE-005", (), "marketplace manifest unreadable"),
    ("AAK-MARKETPLACE-*", ("supply-chain",), "unsigned marketplace, typosquats, mutable git refs"),
    ("AAK-GHA-IMMUTABLE-001", ("supply-chain",), "third-party action not pinned by SHA"),
    ("AAK-MCP-005", ("supply-chain",), "npx/uvx fetch and run remote packages"),
    ("AAK-MCP-007", ("supply-chain",), "MCP server args without version pinning"),
    ("AAK-MCP-MARKETPLACE-CONFIG-FETCH-001", ("supply-chain",), "server config fetched from a URL and spawned"),
    ("AAK-MCP-CARD-003", ("supply-chain",), "server card without signature/provenance"),
    ("AAK-TRANSPORT-001", ("supply-chain",), "cleartext MCP transport (ours: provenance.plain-http-remote-mcp)"),
    ("AAK-TRANSPORT-002", ("supply-chain",), "TLS validation disabled"),
    ("AAK-MCP-017", ("supply-chain",), "MCP server over plain HTTP"),
    ("AAK-A2A-004", ("supply-chain",), "A2A endpoint over plain HTTP"),
    ("AAK-SEC-MD-001", (), "no SECURITY.md: hygiene"),
    ("AAK-MCP-LINEAGE-STAINLESS-001", (), "informational lineage"),
)
# Any other agent-audit-kit rule: by the category the tool itself gives it (its JSON `category` field). Its
# CVE/version-pin rules are filed under supply-chain and mean exactly that (a known-vulnerable package).
AAK_CATEGORY_FALLBACK = {"supply-chain": ("supply-chain",), "secret-exposure": ("secrets",),
                         "tool-poisoning": ("tool-poisoning",)}


def rule_categories(rows: tuple[Row, ...], rule: str) -> tuple[str, ...] | None:
    for pattern, categories, _why in rows:
        if rule == pattern or (pattern.endswith("*") and rule.startswith(pattern[:-1])):
            return categories
    return None


# MCP003 has three variants, told apart by the finding's title; a base64/obfuscated payload may be either.
MCP003_BY_TITLE = (("exfiltrate", ("exfiltration",)), ("remote payload", ("supply-chain",)))


def mcpscan_categories(finding: dict) -> tuple[str, ...]:
    rule = str(finding.get("rule_id", ""))
    title = str(finding.get("title", "")).lower()
    if rule == "MCP012" and "hardcoded" not in title:
        return ()  # "no authentication" variant: not a corpus category
    if rule == "MCP003":
        return next((cats for words, cats in MCP003_BY_TITLE if words in title), ("exfiltration", "supply-chain"))
    return rule_categories(MCPSCAN_RULES, rule) or ()


def aak_categories(finding: dict) -> tuple[str, ...]:
    mapped = rule_categories(AAK_RULES, str(finding.get("ruleId", "")))
    if mapped is not None:
        return mapped
    return AAK_CATEGORY_FALLBACK.get(str(finding.get("category", "")), ())


# --- running the scanners --------------------------------------------------------------------------

@dataclass(frozen=True)
class Peer:
    key: str  # "peer" / "peer2" in the last line
    package: str  # PyPI name
    command: str  # console script in the venv
    argv: Callable[[Path], list[str]]
    findings: Callable[[dict], list[dict]]
    categories: Callable[[dict], tuple[str, ...]]

    @property
    def venv(self) -> Path:
        return PEERS_DIR / self.package

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / self.command


PEERS = (
    Peer(key="peer", package="mcpscan-cli", command="mcpscan", argv=lambda case: [str(case), "--json", "--no-color"],
         findings=lambda doc: list(doc.get("findings") or []), categories=mcpscan_categories),
    Peer(key="peer2", package="agent-audit-kit", command="agent-audit-kit",
         argv=lambda case: ["scan", str(case), "--format", "json", "--severity", "info"],
         findings=lambda doc: list(doc.get("findings") or []), categories=aak_categories),
)


def ensure_installed(peer: Peer) -> str:
    """The peer's venv under var/bench-peers (created and installed once); returns its version line."""
    if not peer.executable.exists():
        peer.venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["python3", "-m", "venv", str(peer.venv)], check=True)
        subprocess.run([str(peer.venv / "bin" / "pip"), "install", "-q", peer.package], check=True)
    shown = subprocess.run([str(peer.venv / "bin" / "pip"), "show", peer.package], capture_output=True, text=True)
    version = next((line.split(":", 1)[1].strip() for line in shown.stdout.splitlines()
                    if line.startswith("Version:")), "?")
    return f"{peer.package} {version}"


def _offline_prefix() -> list[str]:
    """``unshare -rn``: a fresh network namespace with no interfaces, so a peer cannot reach the network."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    return []


OFFLINE = _offline_prefix()


def run_peer(peer: Peer, case: Case) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix=f"assay-bench-{peer.key}-") as scratch:
        copy = Path(scratch) / case.name
        shutil.copytree(case.path, copy, symlinks=True)
        home = Path(scratch) / "home"
        home.mkdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8",
               "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            done = subprocess.run([*OFFLINE, str(peer.executable), *peer.argv(copy)], capture_output=True,
                                  text=True, env=env, cwd=scratch, timeout=PEER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return result_of([], error="timeout")
        try:
            document = json.loads(done.stdout)
        except json.JSONDecodeError:
            return result_of([], error=f"exit {done.returncode}: {done.stderr.strip()[-160:]}")
    return result_of((peer.categories(f), str(f.get("severity", ""))) for f in peer.findings(document))


def _timed(fn: Callable[..., CaseResult], *args: object) -> tuple[CaseResult, float]:
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def run_ours(case: Case, backend: str) -> CaseResult:
    """The platform's own entry: sandboxed unpack + analysis of the case directory."""
    try:
        analysis = triage_analyse(sources=[source_for_path(case.path)], backend=backend)
    except (TriageInputError, TriagePlatformError) as exc:  # reported with the results, counted as nothing found
        return result_of([], error=str(exc)[-160:])
    return result_of_ours(analysis.findings)


# --- report ----------------------------------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{value:.2f}"


def print_table(scores: dict[str, Score]) -> None:
    names = list(scores)
    print(f"{'category':24} {'n':>3} " + " ".join(f"{name:>16}" for name in names))
    for category in CATEGORIES:
        totals = [s.per_category.get(category, (0, 0))[1] for s in scores.values()]
        if not any(totals):
            continue
        cells = []
        for s in scores.values():
            hit, total = s.per_category.get(category, (0, 0))
            cells.append(f"{_pct(s.recall(category))} ({hit}/{total})".rjust(16))
        print(f"{category:24} {totals[0]:>3} " + " ".join(cells))
    print(f"{'macro recall':28} " + " ".join(f"{s.macro_recall:>16.2f}" for s in scores.values()))
    print(f"{'case recall':28} " + " ".join(
        f"{f'{s.case_recall:.2f} ({s.vulnerable_hit}/{s.vulnerable})':>16}" for s in scores.values()))
    print(f"{'fp cases':28} " + " ".join(f"{f'{len(s.fp_cases)}/{s.benign}':>16}" for s in scores.values()))


def _spread(items: list[Case], count: int) -> list[Case]:
    if count >= len(items):
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def pick_quick(cases: list[Case]) -> list[Case]:
    """An even spread over the sorted cases, keeping the corpus's share of benign ones (at least a third)."""
    if len(cases) <= QUICK_BUDGET:
        return cases
    benign = [c for c in cases if c.benign]
    vulnerable = [c for c in cases if not c.benign]
    benign_count = min(len(benign), max(QUICK_BUDGET // 3, round(QUICK_BUDGET * len(benign) / len(cases))))
    picked = _spread(benign, benign_count) + _spread(vulnerable, QUICK_BUDGET - benign_count)
    return sorted(picked, key=lambda c: c.name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help=f"an even spread of {QUICK_BUDGET} cases")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="corpus directory (default: %(default)s)")
    args = parser.parse_args()
    started = time.perf_counter()

    cases = load_cases(args.corpus)
    if args.cases:
        wanted = set(args.cases.split(","))
        cases = [c for c in cases if c.name in wanted]
    if args.quick:
        cases = pick_quick(cases)
    backend = backend_resolve(configured_backend())
    versions = [ensure_installed(peer) for peer in PEERS]
    print(f"corpus: {len(cases)} cases ({sum(c.benign for c in cases)} benign); ours via sandbox={backend}; "
          f"peers: {', '.join(versions)}; peer network: {'none (unshare -rn)' if OFFLINE else 'not isolated'}")

    results: dict[str, dict[str, CaseResult]] = {"ours": {}, **{p.package: {} for p in PEERS}}
    seconds: dict[str, float] = {name: 0.0 for name in results}
    try:
        # A sandboxed run mostly waits on the sandbox's start, so more workers than cores still pays.
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            jobs = {("ours", case.name): pool.submit(_timed, run_ours, case, backend) for case in cases}
            for peer in PEERS:
                jobs.update({(peer.package, case.name): pool.submit(_timed, run_peer, peer, case) for case in cases})
            for (name, case_name), job in sorted(jobs.items()):
                results[name][case_name], spent = job.result()
                seconds[name] += spent
    finally:
        shutil.rmtree(_DATA, ignore_errors=True)

    scores = {name: score(cases, per_case) for name, per_case in results.items()}
    print_table(scores)
    for name, per_case in results.items():
        for case_name, result in sorted(per_case.items()):
            if result.error:
                print(f"error: {name} on {case_name}: {result.error}")
    ours = scores["ours"]
    for case_name, missing in sorted(ours.misses.items()):
        print(f"ours missed: {case_name}: {', '.join(missing)}")
    for case_name in ours.fp_cases:
        print(f"ours false positive: {case_name}")
    for peer in PEERS:
        print(f"{peer.package} false positives: {', '.join(scores[peer.package].fp_cases) or 'none'}")
    per_scanner = ", ".join(f"{name} {spent:.1f} s" for name, spent in seconds.items())
    print(f"elapsed {time.perf_counter() - started:.1f} s (summed per-case time: {per_scanner})")
    line = (f"bench_triage_quality: macro_recall={ours.macro_recall:.2f} case_recall={ours.case_recall:.2f} "
            f"fp_cases={len(ours.fp_cases)}")
    for peer in PEERS:
        s = scores[peer.package]
        line += (f" {peer.key}_macro_recall={s.macro_recall:.2f} {peer.key}_case_recall={s.case_recall:.2f} "
                 f"{peer.key}_fp_cases={len(s.fp_cases)}")
    line += f" cases={len(cases)} benign={sum(c.benign for c in cases)}"
    print(line)


if __name__ == "__main__":
    main()
