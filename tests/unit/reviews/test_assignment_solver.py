"""The min-cost-flow assignment: never a conflicted pair, optimal against brute force on small cases."""

from __future__ import annotations

import itertools
import json
import random
from datetime import datetime, timezone

import pytest
from django.core.management import call_command

from reviews.assignment import plan_objective, solve, solve_greedy
from reviews.conflicts import CaseProfile, ReviewerProfile, VendorTie, conflicts_for

NOW = datetime(2026, 11, 23, tzinfo=timezone.utc)
ORGS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella"]
TAGS = ["mcp", "prompt-injection", "sandboxing", "secrets", "ci"]
VENDORS = ["OpenAI", "Anthropic", "Google", "Stripe"]
MODELS = ["gpt-4o", "claude-sonnet-4", "gemini-2.5-pro", "llama-3"]


def random_scenario(rng: random.Random, n_reviewers: int, n_cases: int):  # noqa: ANN201
    reviewers = [ReviewerProfile(
        id=f"r{i}", organisation=rng.choice(ORGS), email=f"r{i}@{rng.choice(ORGS).lower()}.example",
        vendor_ties=tuple(VendorTie(name=v) for v in rng.sample(VENDORS, rng.randint(0, 1))),
        expertise=frozenset(rng.sample(TAGS, rng.randint(0, 3))), capacity=rng.randint(0, 2))
        for i in range(n_reviewers)]
    cases = [CaseProfile(
        id=f"c{j}", builder_organisation=rng.choice(ORGS), builder_email=f"b{j}@{rng.choice(ORGS).lower()}.example",
        models=tuple(rng.sample(MODELS, 1)), expertise_needed=frozenset(rng.sample(TAGS, rng.randint(1, 2))),
        competitors=tuple(rng.sample(ORGS, rng.randint(0, 1))), reviewers_needed=rng.randint(1, 2))
        for j in range(n_cases)]
    return reviewers, cases


def brute_force_best(reviewers, cases) -> tuple[int, int]:  # noqa: ANN001
    """(seats filled, objective) of the best feasible plan, by enumeration."""
    by_r = {r.id: r for r in reviewers}
    by_c = {c.id: c for c in cases}
    options = []
    for case in cases:
        eligible = [r.id for r in reviewers if not conflicts_for(r, case, now=NOW) and r.capacity > 0]
        subsets = [combo for k in range(min(case.reviewers_needed, len(eligible)) + 1)
                   for combo in itertools.combinations(eligible, k)]
        options.append(subsets)
    best = (-1, -(10**9))
    for choice in itertools.product(*options):
        load: dict[str, int] = {}
        for combo in choice:
            for rid in combo:
                load[rid] = load.get(rid, 0) + 1
        if any(load[rid] > by_r[rid].capacity for rid in load):
            continue
        assignments = {case.id: list(combo) for case, combo in zip(cases, choice, strict=True) if combo}
        seats = sum(len(combo) for combo in choice)
        best = max(best, (seats, plan_objective(assignments, by_r, by_c)))
    return best


@pytest.mark.parametrize("seed", range(25))
def test_solver_matches_brute_force_on_small_scenarios(seed: int):
    reviewers, cases = random_scenario(random.Random(seed), n_reviewers=4, n_cases=3)
    plan = solve(reviewers, cases, now=NOW)
    seats = sum(len(v) for v in plan.assignments.values())
    assert (seats, plan.objective) == brute_force_best(reviewers, cases)


@pytest.mark.parametrize("seed", range(5))
def test_no_conflicted_pair_is_ever_assigned_and_capacity_holds(seed: int):
    reviewers, cases = random_scenario(random.Random(1000 + seed), n_reviewers=30, n_cases=40)
    plan = solve(reviewers, cases, now=NOW)
    conflicted = {(c.case, c.reviewer) for c in plan.conflicts}
    load: dict[str, int] = {}
    by_r = {r.id: r for r in reviewers}
    by_c = {c.id: c for c in cases}
    for case_id, reviewer_ids in plan.assignments.items():
        assert len(reviewer_ids) <= by_c[case_id].reviewers_needed
        for rid in reviewer_ids:
            assert (case_id, rid) not in conflicted
            assert not conflicts_for(by_r[rid], by_c[case_id], now=NOW)
            load[rid] = load.get(rid, 0) + 1
    assert all(load[rid] <= by_r[rid].capacity for rid in load)
    greedy = solve_greedy(reviewers, cases, now=NOW)
    assert sum(map(len, plan.assignments.values())) >= sum(map(len, greedy.assignments.values()))


def test_load_is_spread_when_expertise_is_equal():
    reviewers = [ReviewerProfile(id="a", capacity=3), ReviewerProfile(id="b", capacity=3)]
    cases = [CaseProfile(id=f"c{i}") for i in range(4)]
    plan = solve(reviewers, cases, now=NOW)
    loads = sorted(sum(rid in ids for ids in plan.assignments.values()) for rid in ("a", "b"))
    assert loads == [2, 2]


def test_plan_assignment_command_outputs_contract_json(tmp_path, capsys):  # noqa: ANN001
    scenario = {
        "now": "2026-11-23T00:00:00Z",
        "reviewers": [
            {"id": "r1", "organisation": "Northwind", "email": "a@northwind.example", "vendor_ties": ["OpenAI"],
             "expertise": ["mcp"], "declared_conflicts": [], "capacity": 1},
            {"id": "r2", "organisation": "Indie", "email": "b@gmail.com", "vendor_ties": [], "expertise": ["mcp"],
             "declared_conflicts": [], "capacity": 1}],
        "cases": [{"id": "c1", "builder": {"organisation": "Acme", "email": "x@acme.example"},
                   "components": {"models": ["gpt-4o"], "tools": []}, "expertise_needed": ["mcp"],
                   "competitors": [], "reviewers_needed": 2}],
    }
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    call_command("plan_assignment", str(path))
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "assignments": {"c1": ["r2"]},
        "conflicts": [{"case": "c1", "reviewer": "r1", "rule": "vendor_interest"}],
        "unassigned": [{"case": "c1", "missing": 1,
                        "reason": "only 1 eligible reviewer(s) for 2 seat(s); 1 conflicted"}],
    }


@pytest.mark.parametrize("content", ["not json", '{"reviewers": []}', '{"reviewers": [{"id": 3}], "cases": []}',
                                     '{"reviewers": [{"id": "a"}, {"id": "a"}], "cases": []}'])
def test_plan_assignment_rejects_malformed_input_with_exit_2(tmp_path, capsys, content: str):  # noqa: ANN001
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SystemExit) as exit_info:
        call_command("plan_assignment", str(path))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("plan_assignment: malformed scenario:")
