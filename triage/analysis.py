"""Static analysis of an agent system: parse every file, build the capability graph, run the check catalogue.

Pure Python and deterministic: nothing under ``root`` is executed or imported, links are never followed, and
the findings come back sorted by ``Finding.sort_key()``. Runs inside the sandbox (see triage/sandbox.py).
"""

from __future__ import annotations

from pathlib import Path

from triage.checks import AnalysisContext, all_checks
from triage.findings import Finding
from triage.graph import CapabilityGraph, build_graph
from triage.parsers import ParsedSystem, parse_root, parse_tree
from triage.parsers.base import Tree

__all__ = ["analyse", "analyse_system", "analyse_tree", "analyse_tree_with_inventory"]


def analyse_system(system: ParsedSystem) -> tuple[list[Finding], CapabilityGraph]:
    graph = build_graph(system)
    context = AnalysisContext(system, graph)
    findings = [finding for check in all_checks() for finding in check.findings(context)]
    return sorted(findings, key=Finding.sort_key), graph


def analyse(root: Path, *, manifest: dict | None = None) -> list[Finding]:
    """Every finding for the tree at ``root`` (already safely unpacked) and the submitted manifest, if any."""
    findings, _graph = analyse_system(parse_root(Path(root), manifest=manifest))
    return findings


def analyse_tree(tree: Tree, *, manifest: dict | None = None, parallel: bool = False) -> list[Finding]:
    """Every finding for an already loaded tree (see :func:`triage.parsers.base.tree_from_memory`).
    ``parallel`` parses code on two cores (the sandbox's entry asks for it; elsewhere forking is not safe)."""
    findings, _graph = analyse_system(parse_tree(tree, manifest=manifest, parallel=parallel))
    return findings


def analyse_tree_with_inventory(tree: Tree, *, manifest: dict | None = None, parallel: bool = False,
                                files: list[str] | tuple[str, ...] = ()) -> tuple[list[Finding], list[dict]]:
    """:func:`analyse_tree`, and the component inventory (triage.components) of the same parse and graph."""
    from triage.components import inventory_of

    system = parse_tree(tree, manifest=manifest, parallel=parallel)
    findings, graph = analyse_system(system)
    return findings, inventory_of(system, graph, files)
