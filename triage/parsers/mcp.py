"""MCP server declarations, whichever client file they come from (Claude Code, Cursor, VS Code, Claude Desktop)."""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.parsers.base import SourceFile, as_dict, as_list, as_str

# path -> client. Claude Code reads .mcp.json; Cursor .cursor/mcp.json; VS Code .vscode/mcp.json ("servers");
# Cline cline_mcp_settings.json and Roo mcp_settings.json (alwaysAllow / autoApprove lists); Windsurf mcp_config.json.
MCP_CONFIG_CLIENTS = {
    "cline_mcp_settings.json": "cline",
    "mcp_settings.json": "roo",
    "mcp_config.json": "windsurf",
    ".mcp.json": "claude-code",
    ".cursor/mcp.json": "cursor",
    ".vscode/mcp.json": "vscode",
    "claude_desktop_config.json": "claude-desktop",
    "mcp.json": "generic",
    ".roo/mcp.json": "roo",
    ".gemini/settings.json": "gemini",
}


@dataclass
class McpServer:
    name: str
    client: str
    path: str
    line: int | None
    command: str = ""  # command and args joined by spaces
    url: str = ""
    transport: str = "stdio"
    env: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    auto_approve: tuple[str, ...] = ()  # tool names approved in advance; "*" = all
    disabled: bool = False

    @property
    def is_remote(self) -> bool:
        return bool(self.url)

    @property
    def descriptor(self) -> str:
        return " ".join(part for part in (self.name, self.command, self.url) if part)


def mcp_client_for(path: str) -> str | None:
    for suffix, client in MCP_CONFIG_CLIENTS.items():
        if path == suffix or path.endswith("/" + suffix):
            return client
    return None


def _stringify_map(value: object) -> dict[str, str]:
    return {str(k): (v if isinstance(v, str) else str(v)) for k, v in as_dict(value).items()}


def _approved_tools(entry: dict) -> tuple[str, ...]:
    """Tools a client runs without asking: Cline/Roo ``alwaysAllow`` and ``autoApprove`` lists (either or both),
    Gemini's ``trust: true``; "*" stands for every tool."""
    names: set[str] = set()
    for key in ("autoApprove", "alwaysAllow", "trust"):
        value = entry.get(key)
        if value is True:
            return ("*",)
        names.update(str(a) for a in as_list(value) if isinstance(a, str) and a.strip())
    return ("*",) if "*" in names else tuple(sorted(names))


def servers_from_config(data: object, *, client: str, file: SourceFile) -> list[McpServer]:
    data = as_dict(data)
    block = data.get("servers") if client == "vscode" else None
    block = as_dict(block or data.get("mcpServers") or data.get("servers") or data.get("mcp_servers"))
    servers = []
    for name, entry in sorted(block.items(), key=lambda kv: str(kv[0])):
        entry = as_dict(entry)
        if not entry:
            continue
        args = [a if isinstance(a, str) else str(a) for a in as_list(entry.get("args"))]
        command = " ".join([as_str(entry.get("command")), *args]).strip()
        url = as_str(entry.get("url") or entry.get("serverUrl") or entry.get("httpUrl"))
        auto_approve = _approved_tools(entry)
        servers.append(McpServer(
            name=str(name), client=client, path=file.path, line=file.line_of(f'"{name}"') or file.line_of(str(name)),
            command=command, url=url,
            transport=as_str(entry.get("type") or entry.get("transport")) or ("http" if url else "stdio"),
            env=_stringify_map(entry.get("env")), headers=_stringify_map(entry.get("headers")),
            auto_approve=auto_approve, disabled=entry.get("disabled") is True,
        ))
    return servers


def servers_from_codex(config: dict, *, file: SourceFile) -> list[McpServer]:
    servers = []
    for name, entry in sorted(as_dict(config.get("mcp_servers")).items()):
        entry = as_dict(entry)
        args = [a if isinstance(a, str) else str(a) for a in as_list(entry.get("args"))]
        url = as_str(entry.get("url"))
        headers = _stringify_map(entry.get("http_headers"))
        if entry.get("bearer_token_env_var"):
            headers.setdefault("Authorization", "${" + as_str(entry.get("bearer_token_env_var")) + "}")
        servers.append(McpServer(
            name=str(name), client="codex", path=file.path,
            line=file.line_of(f"mcp_servers.{name}") or file.line_of(str(name)),
            command=" ".join([as_str(entry.get("command")), *args]).strip(), url=url,
            transport="http" if url else "stdio", env=_stringify_map(entry.get("env")), headers=headers,
            disabled=entry.get("enabled") is False,
        ))
    return servers
