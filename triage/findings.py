"""What a check reports. Shared by the check catalogue, the policy, the pipeline and ``triage_path``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}  # 0 = most severe
CATEGORIES = ("private_data", "untrusted_input", "exfiltration", "irreversible_action", "privilege_scope",
              "provenance", "secrets")


@dataclass(frozen=True, order=True)
class Finding:
    """One finding, in the exact shape of CONTRACT.md's ``findings[]`` entries."""

    check: str  # stable id, "<family>.<name>"
    title: str
    severity: str
    categories: tuple[str, ...]
    path: str  # posix path inside the triaged root ("" when the finding is about the whole system)
    line: int | None
    evidence: str  # short, secrets masked
    remediation: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {self.severity!r}")
        unknown = set(self.categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}")

    def sort_key(self) -> tuple:
        return (SEVERITY_RANK[self.severity], self.check, self.path, self.line or 0, self.evidence)

    def as_contract_dict(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        data["categories"] = list(self.categories)
        return data
