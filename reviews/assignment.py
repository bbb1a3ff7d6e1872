"""Reviewer assignment as a min-cost max-flow problem (OR-Tools).

source → case (capacity = reviewers needed) → reviewer (capacity 1, only if
not conflicted; cost rewards expertise match) → sink (capacity = the
reviewer's capacity, as unit arcs of rising cost so load spreads).
Max flow first (as many seats filled as possible), then least cost.
The same solver backs the coordinator page and ``manage.py plan_assignment``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from ortools.graph.python import min_cost_flow

from reviews.conflicts import CaseProfile, Conflict, ConflictPolicy, ReviewerProfile, conflicts_for

MATCH_WEIGHT = 100  # per expertise tag matched
LOAD_WEIGHT = 1  # per extra case already on a reviewer (k-th case costs k-1)


@dataclass
class Plan:
    assignments: dict[str, list[str]]
    conflicts: list[Conflict]
    unassigned: list[dict]
    objective: int = 0
    meta: dict = field(default_factory=dict)

    def as_contract_dict(self) -> dict:
        return {
            "assignments": {case: sorted(reviewers) for case, reviewers in sorted(self.assignments.items())},
            "conflicts": [{"case": c.case, "reviewer": c.reviewer, "rule": c.rule}
                          for c in sorted(self.conflicts, key=lambda c: (c.case, c.reviewer, c.rule))],
            "unassigned": sorted(self.unassigned, key=lambda u: u["case"]),
        }


def match_score(reviewer: ReviewerProfile, case: CaseProfile) -> int:
    return len(reviewer.expertise & case.expertise_needed)


def plan_objective(assignments: dict[str, list[str]], reviewers: dict[str, ReviewerProfile],
                   cases: dict[str, CaseProfile]) -> int:
    """Higher is better: expertise matched, minus a convex load penalty (spreads work)."""
    value = 0
    load: dict[str, int] = defaultdict(int)
    for case_id, reviewer_ids in assignments.items():
        for reviewer_id in reviewer_ids:
            value += MATCH_WEIGHT * match_score(reviewers[reviewer_id], cases[case_id])
            value -= LOAD_WEIGHT * load[reviewer_id]
            load[reviewer_id] += 1
    return value


def eligibility(reviewers: list[ReviewerProfile], cases: list[CaseProfile], *, now: datetime,
                policy: ConflictPolicy | None = None,
                dismissed: dict[tuple[str, str], frozenset[str]] | None = None,
                ) -> tuple[dict[str, list[str]], list[Conflict]]:
    """For each case, the reviewers who may be assigned; and every conflict found."""
    dismissed = dismissed or {}
    eligible: dict[str, list[str]] = {}
    conflicts: list[Conflict] = []
    for case in cases:
        eligible[case.id] = []
        for reviewer in reviewers:
            found = conflicts_for(reviewer, case, now=now, policy=policy,
                                  dismissed=dismissed.get((case.id, reviewer.id), frozenset()))
            if found:
                conflicts.extend(found)
            elif reviewer.capacity > 0:
                eligible[case.id].append(reviewer.id)
    return eligible, conflicts


def solve(reviewers: list[ReviewerProfile], cases: list[CaseProfile], *, now: datetime,
          policy: ConflictPolicy | None = None,
          dismissed: dict[tuple[str, str], frozenset[str]] | None = None) -> Plan:
    by_reviewer = {r.id: r for r in reviewers}
    by_case = {c.id: c for c in cases}
    if len(by_reviewer) != len(reviewers) or len(by_case) != len(cases):
        raise ValueError("reviewer and case ids must be unique")
    eligible, conflicts = eligibility(reviewers, cases, now=now, policy=policy, dismissed=dismissed)

    flow = min_cost_flow.SimpleMinCostFlow()
    source, sink = 0, 1
    case_node = {c.id: 2 + i for i, c in enumerate(cases)}
    reviewer_node = {r.id: 2 + len(cases) + i for i, r in enumerate(reviewers)}
    max_match = max((len(c.expertise_needed) for c in cases), default=0)
    pair_arcs: list[tuple[int, str, str]] = []
    for case in cases:
        if case.reviewers_needed > 0:
            flow.add_arc_with_capacity_and_unit_cost(source, case_node[case.id], case.reviewers_needed, 0)
        for reviewer_id in eligible[case.id]:
            # Costs must be non-negative integers: pay for expertise *not* matched.
            cost = MATCH_WEIGHT * (max_match - match_score(by_reviewer[reviewer_id], case))
            arc = flow.add_arc_with_capacity_and_unit_cost(case_node[case.id], reviewer_node[reviewer_id], 1, cost)
            pair_arcs.append((arc, case.id, reviewer_id))
    for reviewer in reviewers:
        for k in range(reviewer.capacity):
            flow.add_arc_with_capacity_and_unit_cost(reviewer_node[reviewer.id], sink, 1, LOAD_WEIGHT * k)

    assignments: dict[str, list[str]] = {c.id: [] for c in cases}
    if pair_arcs:
        seats = sum(max(c.reviewers_needed, 0) for c in cases)
        flow.set_node_supply(source, seats)
        flow.set_node_supply(sink, -seats)
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"assignment solver failed with status {status}")
        for arc, case_id, reviewer_id in pair_arcs:
            if flow.flow(arc) > 0:
                assignments[case_id].append(reviewer_id)

    unassigned = []
    conflicted_by_case: dict[str, set[str]] = defaultdict(set)
    for conflict in conflicts:
        conflicted_by_case[conflict.case].add(conflict.reviewer)
    for case in cases:
        missing = case.reviewers_needed - len(assignments[case.id])
        if missing > 0:
            n_conflicted = len(conflicted_by_case[case.id])
            n_eligible = len(eligible[case.id])
            if n_eligible < case.reviewers_needed:
                reason = (f"only {n_eligible} eligible reviewer(s) for {case.reviewers_needed} seat(s); "
                          f"{n_conflicted} conflicted")
            else:
                reason = "eligible reviewers are at capacity"
            unassigned.append({"case": case.id, "missing": missing, "reason": reason})
    assignments = {case: sorted(ids) for case, ids in assignments.items() if ids}
    return Plan(assignments=assignments, conflicts=conflicts, unassigned=unassigned,
                objective=plan_objective(assignments, by_reviewer, by_case))


def solve_greedy(reviewers: list[ReviewerProfile], cases: list[CaseProfile], *, now: datetime) -> Plan:
    """Baseline for benchmarks: each case in turn takes its best-matching eligible reviewers with room."""
    by_reviewer = {r.id: r for r in reviewers}
    by_case = {c.id: c for c in cases}
    eligible, conflicts = eligibility(reviewers, cases, now=now)
    room = {r.id: r.capacity for r in reviewers}
    assignments: dict[str, list[str]] = {}
    for case in cases:
        ranked = sorted(eligible[case.id], key=lambda rid: (-match_score(by_reviewer[rid], case), rid))
        chosen = [rid for rid in ranked if room[rid] > 0][: case.reviewers_needed]
        for rid in chosen:
            room[rid] -= 1
        if chosen:
            assignments[case.id] = sorted(chosen)
    unassigned = [{"case": c.id, "missing": c.reviewers_needed - len(assignments.get(c.id, [])), "reason": "greedy"}
                  for c in cases if len(assignments.get(c.id, [])) < c.reviewers_needed]
    return Plan(assignments=assignments, conflicts=conflicts, unassigned=unassigned,
                objective=plan_objective(assignments, by_reviewer, by_case))
