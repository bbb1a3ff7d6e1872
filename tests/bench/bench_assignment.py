"""Reviewer assignment: OR-Tools min-cost flow vs a greedy baseline, same scenario, one run.

Usage: .venv/bin/python tests/bench/bench_assignment.py [--quick]
Last line: bench_assignment: solve_s= objective_vs_greedy= ...
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assay.settings")

from reviews.assignment import solve, solve_greedy  # noqa: E402
from reviews.conflicts import CaseProfile, ReviewerProfile, VendorTie  # noqa: E402

ORGS = [f"Org{i}" for i in range(40)]
VENDORS = ["OpenAI", "Anthropic", "Google", "Meta", "Mistral", "Stripe", "GitHub", "Atlassian"]
MODELS = ["gpt-4o", "o3", "claude-sonnet-4", "claude-opus-4", "gemini-2.5-pro", "llama-3.3", "mistral-large"]
TOOLS = ["github-mcp", "stripe-mcp", "atlassian-jira", "slack-bot", "postgres-mcp", "browser"]
TAGS = ["mcp", "prompt-injection", "sandboxing", "secrets", "ci", "payments", "memory", "egress", "rag", "hooks"]


def scenario(rng: random.Random, n_reviewers: int, n_cases: int):  # noqa: ANN201
    reviewers = []
    for i in range(n_reviewers):
        org = rng.choice(ORGS)
        reviewers.append(ReviewerProfile(
            id=f"r{i}", organisation=org, email=f"r{i}@{org.lower()}.example",
            vendor_ties=tuple(VendorTie(name=v) for v in rng.sample(VENDORS, rng.choice([0, 0, 1, 1, 2]))),
            expertise=frozenset(rng.sample(TAGS, rng.randint(1, 4))), capacity=rng.randint(1, 5),
            declared_conflicts=tuple(rng.sample(ORGS, rng.choice([0, 0, 1])))))
    cases = []
    for j in range(n_cases):
        org = rng.choice(ORGS)
        cases.append(CaseProfile(
            id=f"c{j}", builder_organisation=org, builder_email=f"b{j}@{org.lower()}.example",
            models=tuple(rng.sample(MODELS, rng.randint(1, 2))), tools=tuple(rng.sample(TOOLS, rng.randint(0, 3))),
            expertise_needed=frozenset(rng.sample(TAGS, rng.randint(1, 3))),
            competitors=tuple(rng.sample(ORGS, rng.choice([0, 1, 2]))), reviewers_needed=rng.choice([1, 2, 2, 3])))
    return reviewers, cases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    reviewers, cases = scenario(random.Random(42), 100, 200)
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    ours_times, greedy_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        plan = solve(reviewers, cases, now=now)
        ours_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        greedy = solve_greedy(reviewers, cases, now=now)
        greedy_times.append(time.perf_counter() - start)
    seats_ours = sum(map(len, plan.assignments.values()))
    seats_greedy = sum(map(len, greedy.assignments.values()))
    seats_needed = sum(c.reviewers_needed for c in cases)
    print(f"scenario: {len(cases)} cases x {len(reviewers)} reviewers, {len(plan.conflicts)} conflicts found")
    print(f"min-cost flow: median {statistics.median(ours_times):.3f}s, seats {seats_ours}/{seats_needed}, "
          f"objective {plan.objective}")
    print(f"greedy:        median {statistics.median(greedy_times):.3f}s, seats {seats_greedy}/{seats_needed}, "
          f"objective {greedy.objective}")
    ratio = plan.objective / greedy.objective if greedy.objective else float("inf")
    print(f"bench_assignment: solve_s={statistics.median(ours_times):.3f} objective_vs_greedy={ratio:.3f} "
          f"seats_ours={seats_ours} seats_greedy={seats_greedy} greedy_s={statistics.median(greedy_times):.3f}")


if __name__ == "__main__":
    main()
