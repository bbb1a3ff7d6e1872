"""The generated 500-file agent repository the triage benchmark times (about 100 Python modules, half of them
FastMCP servers, and 100 TypeScript MCP servers, beside configs, docs and prompts). No side effects on import:
unit tests use it too (tests/unit/triage_checks/test_parallel_parse.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

WORDS = ("agent tool shell read write fetch issue ticket deploy token repo branch push review approve deny "
         "allow network egress sandbox secret model prompt context memory plan step result error retry").split()


# --- the generated repository ----------------------------------------------------------------------

def _python_module(rng: random.Random, index: int) -> str:
    served = index % 2 == 0  # half the modules are FastMCP servers, so the tool model and its dataflow run on them
    lines = ["import json", "import subprocess", "", "import requests", ""]
    if served:
        lines += ["from mcp.server.fastmcp import FastMCP", "", f'mcp = FastMCP("bench-{index}")', ""]
    for fn in range(8):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{index}_{fn}"
        if served:
            lines.append("@mcp.tool()")
        lines += [f"def {name}(payload: dict) -> str:",
                  f'    """{" ".join(rng.choices(WORDS, k=12))}."""',
                  f"    data = json.dumps(payload)"]
        if fn % 4 == 0:
            lines.append(f'    subprocess.run(["git", "{rng.choice(["status", "diff", "log"])}"], check=True)')
        if fn % 5 == 0:
            lines.append(f'    requests.post("https://api.example.invalid/{name}", data=data, timeout=10)')
        lines += ["    return data", ""]
    return "\n".join(lines) + "\n"


def _typescript_module(rng: random.Random, index: int) -> str:
    """An MCP server module in the TypeScript SDK's shape: tools with zod schemas whose handlers read, fetch and
    run fixed programs, so the JS/TS tool model and its dataflow do real work on every file."""
    lines = ['import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";',
             'import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";',
             'import { execFile } from "node:child_process";', 'import { promises as fs } from "node:fs";',
             'import path from "node:path";', 'import { z } from "zod";', "",
             f'const ROOT = path.resolve(process.env.ROOT ?? "/srv/data{index}");',
             f'const server = new McpServer({{ name: "bench-{index}", version: "1.0.{index % 9}" }});', ""]
    for fn in range(6):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{index}_{fn}"
        lines += [f'server.tool("{name}", "{" ".join(rng.choices(WORDS, k=12))}.",',
                  "  { target: z.string(), limit: z.number().optional() },",
                  "  async ({ target, limit }) => {",
                  "    const full = path.resolve(ROOT, target);",
                  '    if (!full.startsWith(ROOT + path.sep)) throw new Error("outside the root");']
        if fn % 3 == 0:
            lines.append('    const text = await fs.readFile(full, "utf8");')
        elif fn % 3 == 1:
            lines.append(f'    const text = await new Promise<string>((ok) => execFile("git", ["{rng.choice(["log", "diff", "status"])}", "--", full], (_e, out) => ok(String(out))));')
        else:
            lines.append(f'    const text = await (await fetch("https://api.example.invalid/{name}?n=" + encodeURIComponent(String(limit ?? 10)))).text();')
        lines += ['    return { content: [{ type: "text", text: text.slice(0, limit ?? 1000) }] };', "  });", ""]
    lines += ["await server.connect(new StdioServerTransport());"]
    return "\n".join(lines) + "\n"


def generate_repository(root: Path, files: int = 500, seed: int = 7) -> Path:
    rng = random.Random(seed)
    written = 0

    def put(path: str, text: str) -> None:
        nonlocal written
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written += 1

    put(".claude/settings.json", json.dumps({"permissions": {"allow": ["Read", "Bash(*)", "WebFetch"],
                                                             "deny": ["Read(./.env)"]}}, indent=2))
    put(".mcp.json", json.dumps({"mcpServers": {"tickets": {"command": "python", "args": ["-m", "tickets_mcp"]}}}))
    put(".codex/config.toml", 'approval_policy = "on-request"\nsandbox_mode = "workspace-write"\n')
    put("AGENTS.md", "# Agents\n\n" + " ".join(rng.choices(WORDS, k=200)) + "\n")
    put("CLAUDE.md", "# Project notes\n\n" + " ".join(rng.choices(WORDS, k=200)) + "\n")
    put("Dockerfile", "FROM python:3.12-slim@sha256:" + "a" * 64 + "\nCOPY . /app\nUSER 1000\n")
    put(".github/workflows/agent.yml", yaml.safe_dump({
        "on": {"issues": {"types": ["opened"]}}, "permissions": "write-all",
        "jobs": {"triage": {"runs-on": "ubuntu-latest", "steps": [{"uses": "actions/checkout@v4"}]}}}))
    # About 100 Python and 100 TypeScript modules in 500 files, beside configs, docs and prompts.
    kinds = ["py", "ts", "json", "md", "py", "ts", "yaml", "toml", "json", "md"]
    index = 0
    while written < files:
        kind = kinds[index % len(kinds)]
        package = f"pkg{index % 25}"
        if kind == "py":
            put(f"src/{package}/module_{index}.py", _python_module(rng, index))
        elif kind == "ts":
            put(f"servers/{package}/server_{index}.ts", _typescript_module(rng, index))
        elif kind == "json":
            put(f"config/{package}/tool_{index}.json", json.dumps(
                {"name": f"tool{index}", "description": " ".join(rng.choices(WORDS, k=20)),
                 "parameters": {w: {"type": "string"} for w in rng.sample(WORDS, 5)}}, indent=2))
        elif kind == "md":
            put(f"docs/{package}/note_{index}.md", "\n\n".join(" ".join(rng.choices(WORDS, k=60)) for _ in range(5)))
        elif kind == "yaml":
            put(f"prompts/{package}/prompt_{index}.yaml", yaml.safe_dump(
                {"name": f"prompt{index}", "template": " ".join(rng.choices(WORDS, k=40)), "tools": rng.sample(WORDS, 3)}))
        else:
            put(f"settings/{package}/s_{index}.toml", f'name = "s{index}"\nretries = {index % 5}\n')
        index += 1
    return root
