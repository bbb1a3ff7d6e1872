"""Provenance: code, servers, images and models fetched at run time without a pin or a verified origin."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from triage.checks import confirmation
from triage.checks.registry import AnalysisContext, Hit, check
from triage.parsers.base import as_dict, as_list, as_str
from triage.parsers.containers import compose_services
from triage.parsers.packages import is_pinned_requirement, package_dependencies, requirement_lines

_NPX = re.compile(r"\b(npx|bunx|pnpm\s+dlx|yarn\s+dlx)\s+((?:-[-\w]+\s+)*)(@?[\w./-]+(?:@[\w.^~*-]+)?)")
_UVX = re.compile(r"\b(uvx|pipx\s+run)\s+((?:-[-\w]+\s+)*)([\w.\[\]-]+(?:==[\w.]+|@[\w.]+)?)")


def unpinned_package(command: str) -> str | None:
    """The package spec a launcher fetches without an exact version, or None."""
    match = _NPX.search(command)
    if match:
        spec = match.group(3)
        name, _, version = spec[1:].partition("@") if spec.startswith("@") else spec.partition("@")
        if not version or version in ("latest", "next", "*") or version[0] in "^~>":
            return spec
        return None
    match = _UVX.search(command)
    if match:
        spec = match.group(3)
        if "==" not in spec and "@" not in spec:
            return spec
    return None


@check("provenance.unpinned-mcp-package", title="An MCP server or agent tool is fetched unpinned at launch",
       severity="medium", categories=("provenance",),
       remediation="Pin an exact version (npx -y pkg@1.2.3, uvx pkg==1.2.3) or a lock-filed local install, and "
                   "review upgrades.",
       rationale="npx -y pkg@latest runs whatever was published last, with the agent's credentials.")
def unpinned_mcp_package(context: AnalysisContext) -> Iterator[Hit]:
    for server in context.system.mcp_servers:
        spec = unpinned_package(server.command)
        if spec:
            yield Hit(server.path, server.line, f"{server.name}: {server.command}",
                      severity="high" if spec.endswith("@latest") else None)
    for file, data in context.system.package_jsons:
        for name, script in sorted(as_dict(data.get("scripts")).items()):
            if isinstance(script, str) and re.search(r"mcp|agent|claude|codex", script, re.I) and unpinned_package(script):
                yield Hit(file.path, file.line_of(f'"{name}"'), f"script {name}: {script}")
    for server in as_list((context.system.manifest or {}).get("mcp_servers")):
        server = as_dict(server)
        if server.get("pinned") is False or unpinned_package(as_str(server.get("command"))):
            yield Hit(context.system.manifest_path, context.system.manifest_line(f'"{server.get("name")}"'),
                      f"mcp_servers[{server.get('name')}]: {as_str(server.get('command')) or 'pinned: false'}")


def _image_unpinned(image: str) -> bool:
    image = image.strip()
    if not image or "@sha256:" in image or image.lower() == "scratch" or image.startswith("$"):
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


@check("provenance.unpinned-image", title="A container image is unpinned (no tag or :latest)",
       severity="medium", categories=("provenance",),
       remediation="Pin images by digest (image@sha256:…) or at least an immutable version tag.",
       rationale="An unpinned image changes under you; a compromised tag ships straight into the agent's runtime.")
def unpinned_image(context: AnalysisContext) -> Iterator[Hit]:
    for file, instructions in context.system.dockerfiles:
        stages = set()
        for instruction in instructions:
            if instruction.keyword != "FROM":
                continue
            parts = [p for p in instruction.args.split() if not p.startswith("--")]
            if not parts:
                continue
            if len(parts) >= 3 and parts[1].lower() == "as":
                stages.add(parts[2])
            if parts[0] not in stages and _image_unpinned(parts[0]):
                yield Hit(file.path, instruction.line, f"FROM {instruction.args}")
    for file, data in context.system.compose_files:
        for name, service in compose_services(data).items():
            image = as_str(service.get("image"))
            if image and _image_unpinned(image):
                yield Hit(file.path, file.line_of(image), f"service {name}: image {image}")


_PIPE_TO_SHELL = re.compile(
    r"\b(curl|wget|iwr|Invoke-WebRequest)\b[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b|"
    r"\b(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(python3?|node|perl|ruby)\b|"
    r"(ba)?sh\s+(-c\s+)?[\"']?\$\((curl|wget)\b|\biex\s*\(?\s*(iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b", re.I)


@check("provenance.curl-pipe-shell", title="Code is downloaded and executed in one step",
       severity="medium", categories=("provenance",),
       remediation="Download a pinned release, verify its checksum or signature, then run it; never pipe to a shell.",
       rationale="Whoever controls the URL (or the network path) controls what runs.")
def curl_pipe_shell(context: AnalysisContext) -> Iterator[Hit]:
    for path, line, text, how in context.system.command_sources():
        if _PIPE_TO_SHELL.search(text):
            # in a hook it runs on every agent event, with the developer's credentials
            yield Hit(path, line, f"{how}: {text}", severity="high" if how in ("hook", "mcp-command") else None)
    for file in context.system.instructions:
        # an instruction file (or skill, or slash command) telling the agent to run it: the agent runs it for them
        for number, line in enumerate(file.lines, start=1):
            match = _PIPE_TO_SHELL.search(line)
            if match and not confirmation.negated(line[:match.start()]):
                yield Hit(file.path, number, f"instructions: {line.strip()}")


@check("provenance.trust-remote-code", title="A model is loaded with trust_remote_code=True",
       severity="high", categories=("provenance",),
       remediation="Drop trust_remote_code or pin a reviewed revision (revision='<commit sha>') of a vetted repo.",
       rationale="It executes Python shipped inside the model repository.")
def trust_remote_code(context: AnalysisContext) -> Iterator[Hit]:
    for module in context.system.python_modules:
        for risk in module.risks:
            if risk.kind == "trust-remote-code":
                yield Hit(module.path, risk.line, risk.detail)


def _plain_http_remote(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    host = parts.hostname
    if host in ("localhost",) or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


@check("provenance.plain-http-remote-mcp", title="A remote MCP server is reached over plain HTTP",
       severity="high", categories=("provenance", "exfiltration"),
       remediation="Use https:// with authentication (OAuth or a bearer token from an environment variable).",
       rationale="Anyone on the path can read the traffic and replace tool descriptions and results.")
def plain_http_remote_mcp(context: AnalysisContext) -> Iterator[Hit]:
    for server in context.system.mcp_servers:
        if server.url and _plain_http_remote(server.url):
            auth = any(k.lower() in ("authorization", "x-api-key") for k in server.headers)
            yield Hit(server.path, server.line, f"{server.name}: {server.url}{'' if auth else ' (no auth header)'}")
    for server in as_list((context.system.manifest or {}).get("mcp_servers")):
        url = as_str(as_dict(server).get("url"))
        if url and _plain_http_remote(url):
            yield Hit(context.system.manifest_path, context.system.manifest_line(url), f"mcp_servers[{as_dict(server).get('name')}]: {url}")


@check("provenance.unverified-model", title="A model comes from an unpinned or unverified source",
       severity="medium", categories=("provenance",),
       remediation="Pin model revisions (revision=<commit>), record checksums, and prefer hosted APIs or vetted "
                   "registries; declare source and pinning in the manifest.",
       rationale="An unpinned hub model can be replaced by its publisher or a compromised account.")
def unverified_model(context: AnalysisContext) -> Iterator[Hit]:
    for module in context.system.python_modules:
        for risk in module.risks:
            if risk.kind == "unpinned-model":
                yield Hit(module.path, risk.line, risk.detail)
    for model in as_list((context.system.manifest or {}).get("models")):
        model = as_dict(model)
        if model.get("source") in ("unknown", "local-weights") and model.get("pinned") is not True:
            yield Hit(context.system.manifest_path, context.system.manifest_line(f'"{model.get("name")}"'),
                      f"model {model.get('provider')}/{model.get('name')}: source {model.get('source')}, not pinned")


@check("provenance.unsafe-model-load", title="Model or data files are deserialised with pickle",
       severity="high", categories=("provenance",),
       remediation="Load safetensors, or torch.load(..., weights_only=True); never unpickle files from outside.",
       rationale="Unpickling runs arbitrary code embedded in the file.")
def unsafe_model_load(context: AnalysisContext) -> Iterator[Hit]:
    for module in context.system.python_modules:
        for risk in module.risks:
            if risk.kind == "unsafe-deserialise":
                yield Hit(module.path, risk.line, risk.detail)


_SHA = re.compile(r"@[0-9a-f]{40}$")
_VERSION_TAG = re.compile(r"^v?\d+(\.\d+){0,2}([-+][\w.]+)?$")
_GITHUB_REPO = re.compile(r"(?:github\.com[/:]|^github:|^)([\w.-]+/[\w.-]+?)(?:\.git)?/?$", re.I)
_REPOSITORY_CONDITION = re.compile(r"github\.repository\s*==\s*['\"]([\w.-]+/[\w.-]+)['\"]")


def _repository_name(value: object) -> str:
    """owner/name from a package.json ``repository`` (string or {url}), lower-cased; "" when it names none."""
    url = as_str(as_dict(value).get("url")) if isinstance(value, dict) else as_str(value)
    match = _GITHUB_REPO.search(url.strip())
    return match.group(1).lower() if match else ""


def own_action_repositories(context: AnalysisContext) -> frozenset[str]:
    """Who this tree is, when the tree is an action (a root action.yml/action.yaml), from what the tree states
    about itself: "owner/name" from the root package.json ``repository`` field and from workflow conditions that
    pin a job to one repository (``github.repository == 'owner/name'``); a bare "name" from the root package.json
    or pyproject name (an npm scope dropped), which an action's repository is named after. README text, badges
    and the action's display name are not used: anyone can copy them."""
    files = context.system.files
    if "action.yml" not in files and "action.yaml" not in files:
        return frozenset()
    names: set[str] = set()
    for file, data in context.system.package_jsons:
        if file.path == "package.json":
            names.add(_repository_name(data.get("repository")))
            names.add(as_str(data.get("name")).rsplit("/", 1)[-1].lower())
    for file, data in context.system.pyprojects:
        if file.path == "pyproject.toml":
            names.add(as_str(as_dict(data.get("project")).get("name")).lower())
    for workflow in context.system.workflows:
        for step in workflow.steps:
            names.update(m.lower() for m in _REPOSITORY_CONDITION.findall(step.condition))
    return frozenset(n for n in names if n)


def _action_repository(uses: str) -> str:
    return "/".join(uses.split("@", 1)[0].split("/")[:2]).lower()


@check("provenance.unpinned-action", title="A workflow that runs an agent uses third-party actions by tag",
       severity="medium", categories=("provenance",),
       remediation="Pin every third-party action to a full commit SHA (uses: owner/action@<40-hex> # v1.2.3).",
       rationale="Tags are mutable; a compromised action runs with the agent job's token and secrets.")
def unpinned_action(context: AnalysisContext) -> Iterator[Hit]:
    own = own_action_repositories(context)
    for workflow in context.system.workflows:
        if not workflow.agent_steps:
            continue
        for step in workflow.steps:
            uses = step.uses
            if not uses or uses.startswith(("./", "docker://")) or uses.split("/")[0] in ("actions", "github"):
                continue
            repository = _action_repository(uses)
            if _SHA.search(uses) or repository in own or repository.rpartition("/")[2] in own:
                continue  # pinned, or the action testing itself from its own repository
            ref = uses.rpartition("@")[2] if "@" in uses else ""
            # a release tag is moved only by its publisher and rarely; a branch moves with every push
            yield Hit(step.path, step.line, f"uses: {uses}", severity="low" if _VERSION_TAG.match(ref) else None)


@check("provenance.unpinned-plugin-source", title="A plugin marketplace installs plugins from an unpinned source",
       severity="medium", categories=("provenance",),
       remediation='Pin each remote plugin source to a commit ("sha": "<40-hex>") or vendor the plugin into the '
                   "marketplace repository; review each update before moving the pin.",
       rationale="A plugin brings hooks, MCP servers and commands that run with the user's rights; without a pinned "
                 "commit, whoever can push to its repository changes what every installer runs.")
def unpinned_plugin_source(context: AnalysisContext) -> Iterator[Hit]:
    for entry in context.system.marketplace_entries:
        pinning = entry.pinning
        if pinning == "commit" or entry.origin == "unknown":
            continue
        at = f"@{entry.pin}" if entry.pin else " (no ref or sha)"
        # a release tag is moved only by its publisher; a branch or nothing follows every push
        yield Hit(entry.path, entry.line, f"plugin {entry.name}: {entry.origin} {entry.location}{at}",
                  severity="low" if pinning == "version-tag" else None)


@check("provenance.unpinned-dependencies", title="Agent dependencies are not pinned",
       severity="low", categories=("provenance",),
       remediation="Pin exact versions with a lock file (package-lock.json, uv.lock, pip-compile with hashes).",
       rationale="Floating ranges pull new code into the agent on every install.")
def unpinned_dependencies(context: AnalysisContext) -> Iterator[Hit]:
    for file, data in context.system.package_jsons:
        for name, spec in package_dependencies(data).items():
            if spec.strip() in ("", "*", "latest", "x", "next") or spec.startswith(("http:", "git+http:")):
                yield Hit(file.path, file.line_of(f'"{name}"'), f'"{name}": "{spec}"')
    for file in context.system.requirements:
        for line, requirement in requirement_lines(file.text):
            if not is_pinned_requirement(requirement):
                yield Hit(file.path, line, requirement)


@check("provenance.runtime-code-download", title="A tool runs code it downloads at run time",
       severity="high", categories=("provenance", "privilege_scope"),
       remediation="Ship plugins and extensions as pinned, reviewed dependencies (a lockfile with integrity hashes); "
                   "if code must be fetched, pin its version and verify a checksum or signature before loading it, "
                   "and never on the model's request.",
       rationale="Whoever controls the download (the index, the URL, the network path) decides what runs inside the "
                 "server, with its credentials, and can change it at any time.")
def runtime_code_download(context: AnalysisContext) -> Iterator[Hit]:
    from triage.checks.tools import code_tools  # the tool model's listing; imported late as tools imports graph

    for tool, _server in code_tools(context.system):
        for flow in sorted(tool.flows, key=lambda f: (f.line, f.call, f.render())):
            if flow.sink in ("code-exec", "shell") and flow.source.startswith("fetched:"):
                yield Hit(tool.path, flow.line, f"{tool.kind} {tool.name}: {flow.render()}",
                          extra={"tool": tool.name})
                break
