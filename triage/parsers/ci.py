"""GitHub Actions workflows, and which of their steps run an AI agent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.parsers.base import SourceFile, as_dict, as_list, as_str

AGENT_ACTIONS = re.compile(
    r"^(anthropics/claude-code(-base)?-action|openai/codex-action|google-github-actions/run-gemini-cli|"
    r"[\w.-]+/(aider|opencode|goose|cline|openhands)[\w.-]*-action)(@|$)", re.I)
AGENT_CLI = re.compile(r"(^|[\s;&|(])(claude\s+(-p|--print)\b|codex\s+exec\b|gemini\s+(-p|--prompt)\b|aider\b.*--yes|"
                       r"opencode\s+run\b|goose\s+run\b|openhands\b)", re.I | re.M)
# Conditions that limit a job to trusted people or same-repository branches (forks cannot reach it).
TRUSTED_ONLY_CONDITION = re.compile(
    r"author_association|github\.actor\s*==|github\.event\.sender\.login\s*==|github\.triggering_actor\s*==|"
    r"head\.repo\.full_name\s*==\s*github\.repository|head\.repo\.fork\s*==\s*false|!\s*github\.event\."
    r"pull_request\.head\.repo\.fork")
UNTRUSTED_EVENTS = {"issues": "issue", "issue_comment": "issue", "pull_request_target": "pr-text",
                    "pull_request": "pr-text", "pull_request_review_comment": "pr-text",
                    "pull_request_review": "pr-text", "discussion": "issue", "discussion_comment": "issue"}


# Event fields anyone who opens an issue, comments, forks or names a branch writes (GitHub Security Lab's list of
# untrusted inputs), as ``${{ }}`` expressions.
OUTSIDER_FIELD = re.compile(
    r"\$\{\{[^}]*?\b(github\.event\.(?:issue\.(?:title|body)|pull_request\.(?:title|body|head\.(?:ref|label|"
    r"repo\.default_branch))|comment\.body|review\.body|review_comment\.body|discussion\.(?:title|body)|"
    r"pages\.[\w*\[\]]+\.page_name|commits\.[\w*\[\]]+\.(?:message|author\.(?:name|email))|"
    r"head_commit\.(?:message|author\.(?:name|email))|workflow_run\.(?:head_branch|display_title|"
    r"head_commit\.(?:message|author\.(?:name|email))))|github\.head_ref)\b[^}]*\}\}")
# Of those, the ones whose author need not be the actor who triggered the run: a maintainer's comment, label or
# reopen runs the job, but the issue or pull request text, branch name and commits are the outsider's.
_FOREIGN_FIELD = re.compile(r"github\.event\.(issue|pull_request|discussion)\.|github\.head_ref|commits|head_commit")


def foreign_text_in_prompt(step: "WorkflowStep") -> list[str]:
    """Outsider-written fields the step hands its agent (inputs, env, run) that an actor check does not vouch for."""
    texts = [str(v) for v in step.with_.values()] + [str(v) for v in step.env.values()] + [step.run]
    return sorted({m.group(1) for t in texts for m in OUTSIDER_FIELD.finditer(t) if _FOREIGN_FIELD.search(m.group(1))})


@dataclass(frozen=True)
class AgentAction:
    """What an agent action does on its own about who may trigger it, read from its documented inputs."""

    pattern: re.Pattern[str]
    # The action itself refuses to run for actors without write access to the repository (before the agent sees
    # any text), so an issue or comment from an outsider never reaches it.
    requires_write_access: bool
    # Inputs that widen who may trigger it: (input name, values that widen). An empty tuple: any non-empty value.
    widening_inputs: tuple[tuple[str, tuple[str, ...]], ...] = ()


AGENT_ACTION_TRUST = (
    # claude-code-action checks the actor's write permission in its prepare step for every entity event; bots
    # are not permission-checked, so allowing every bot ("*") lets anyone with a GitHub App in.
    AgentAction(re.compile(r"^anthropics/claude-code-action(@|$)", re.I), True,
                (("allowed_non_write_users", ()), ("allowed_bots", ("*",)))),
    # codex-action runs a write-access check first; allow-users lists others (or "*").
    AgentAction(re.compile(r"^openai/codex-action(@|$)", re.I), True, (("allow-users", ()),)),
)


def _input_set(value: object, widening: tuple[str, ...]) -> bool:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    text = str(value).strip() if value is not None and value is not False else ""
    if not text or text.lower() in ("false", "none", "''", '""'):
        return False
    if not widening:
        return True
    return any(part.strip() in widening for part in re.split(r"[,\s]+", text))


def action_trust(step: WorkflowStep) -> AgentAction | None:
    for action in AGENT_ACTION_TRUST:
        if action.pattern.search(step.uses):
            return action
    return None


def widened_inputs(step: WorkflowStep) -> list[str]:
    """The inputs of a write-access-checking agent action that let others trigger it, as ``name: value``."""
    action = action_trust(step)
    if action is None:
        return []
    return [f"{name}: {step.with_[name]}" for name, values in action.widening_inputs
            if name in step.with_ and _input_set(step.with_[name], values)]


def trusted_triggers_only(step: WorkflowStep) -> bool:
    """True when outsiders cannot start this agent step: a job/step condition limits it to trusted authors, or the
    action checks the actor's write access itself and the workflow does not widen that."""
    if foreign_text_in_prompt(step):
        return False  # the check is on who triggered the run, not on who wrote the text the agent is given
    if TRUSTED_ONLY_CONDITION.search(step.condition):
        return True
    action = action_trust(step)
    return bool(action and action.requires_write_access and not widened_inputs(step))


def is_workflow(path: str) -> bool:
    return ".github/workflows/" in path and path.endswith((".yml", ".yaml"))


@dataclass
class WorkflowStep:
    path: str
    line: int | None
    job: str
    uses: str
    run: str
    with_: dict
    env: dict
    condition: str  # job `if` and step `if`, joined


@dataclass
class Workflow:
    file: SourceFile
    triggers: tuple[str, ...]
    workflow_permissions: object
    jobs: dict[str, dict]
    steps: list[WorkflowStep] = field(default_factory=list)

    def job_permissions(self, job: str) -> object:
        job_data = as_dict(self.jobs.get(job))
        return job_data["permissions"] if "permissions" in job_data else self.workflow_permissions

    def job_write_scopes(self, job: str) -> frozenset[str] | None:
        """The token scopes this job may write with; None when no permissions block applies (the repository
        default token, which may be read-write)."""
        permissions = self.job_permissions(job)
        if permissions is None:
            return None
        if permissions == "write-all":
            return frozenset({"*"})
        return frozenset(str(scope) for scope, level in sorted(as_dict(permissions).items(), key=str)
                         if level == "write")

    def job_timeout(self, job: str) -> bool:
        return "timeout-minutes" in as_dict(self.jobs.get(job))

    @property
    def agent_steps(self) -> list[WorkflowStep]:
        return [s for s in self.steps if is_agent_step(s)]

    @property
    def untrusted_triggers(self) -> list[str]:
        return [t for t in self.triggers if t in UNTRUSTED_EVENTS]


_ALLOWED_FLAG = re.compile(r"--allowed-?[tT]ools[= ]+(\"[^\"]*\"|'[^']*'|\S+)")
BLANKET_SHELL = re.compile(r"(^|[\s,\"'])Bash(\(\*\))?($|[\s,\"'])")


def allowed_tools(step: WorkflowStep) -> str:
    """The tools a CI agent step pre-approves: the action's allowed_tools input and --allowedTools flags (never the
    --disallowedTools list)."""
    parts = [as_str(step.with_.get(key)) for key in ("allowed_tools", "allowed-tools")]
    text = " ".join(str(v) for v in step.with_.values()) + " " + step.run
    parts += _ALLOWED_FLAG.findall(text)
    return " ".join(p for p in parts if p).strip()


_SLASH_COMMAND = re.compile(r"^\s*/([\w:-]+)")
_CLAUDE_ACTION = re.compile(r"^anthropics/claude-code-action(@|$)", re.I)


def slash_command(step: WorkflowStep) -> str:
    """The slash command a CI agent step runs as its prompt (``prompt: "/triage-issue ..."``), or ""."""
    prompt = as_str(step.with_.get("prompt") or step.with_.get("direct_prompt"))
    match = _SLASH_COMMAND.match(prompt)
    return match.group(1) if match else ""


def tag_mode(step: WorkflowStep) -> bool:
    """claude-code-action answering a mention rather than running a fixed prompt: it then gives the agent its own
    tools to update a progress comment and commit to a branch, with the job's token."""
    if not _CLAUDE_ACTION.search(step.uses):
        return False
    mode = as_str(step.with_.get("mode")).strip().lower()
    return mode == "tag" or (not mode and not step.with_.get("prompt"))


def is_agent_step(step: WorkflowStep) -> bool:
    return bool(AGENT_ACTIONS.search(step.uses) or (step.run and AGENT_CLI.search(step.run)))


def parse_workflow(data: object, file: SourceFile) -> Workflow | None:
    data = as_dict(data)
    if not data:
        return None
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` key as True
    if isinstance(on, str):
        triggers = (on,)
    elif isinstance(on, list):
        triggers = tuple(str(t) for t in on)
    else:
        triggers = tuple(str(t) for t in as_dict(on))
    jobs = {str(k): as_dict(v) for k, v in as_dict(data.get("jobs")).items()}
    workflow = Workflow(file, tuple(sorted(triggers)), data.get("permissions"), jobs)
    for job_name, job in sorted(jobs.items()):
        for step in as_list(job.get("steps")):
            step = as_dict(step)
            uses, run = as_str(step.get("uses")), as_str(step.get("run"))
            anchor = uses or (run.strip().splitlines() or [""])[0][:60] or as_str(step.get("name"))
            condition = " && ".join(c for c in (as_str(job.get("if")), as_str(step.get("if"))) if c)
            workflow.steps.append(WorkflowStep(
                file.path, file.line_of(anchor), job_name, uses, run,
                {str(k): v for k, v in as_dict(step.get("with")).items()},
                {str(k): v for k, v in as_dict(step.get("env")).items()} | as_dict(job.get("env")), condition))
    return workflow
