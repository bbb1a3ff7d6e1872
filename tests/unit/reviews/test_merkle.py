"""Merkle proofs: every inclusion and consistency proof verifies; any tampering fails."""

from __future__ import annotations

import hashlib

import pytest

from reviews.merkle import (
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root_hash, verify_consistency, verify_inclusion,
)


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"entry-{i}".encode()) for i in range(n)]


def recursive_mth(hashes: list[bytes]) -> bytes:
    """RFC 6962's recursive definition, as an independent reference."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(recursive_mth(hashes[:k]), recursive_mth(hashes[k:]))


def test_known_small_roots():
    assert root_hash([]) == hashlib.sha256(b"").digest()
    a, b, c = leaves(3)
    assert root_hash([a]) == a
    assert root_hash([a, b, c]) == node_hash(node_hash(a, b), c)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31])
def test_root_matches_the_recursive_definition(n: int):
    assert root_hash(leaves(n)) == recursive_mth(leaves(n))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 21])
def test_every_inclusion_proof_verifies_and_tampering_fails(n: int):
    tree = leaves(n)
    root = root_hash(tree)
    for i in range(n):
        proof = inclusion_proof(i, tree)
        assert verify_inclusion(index=i, tree_size=n, leaf=tree[i], proof=proof, root=root)
        assert not verify_inclusion(index=i, tree_size=n, leaf=leaf_hash(b"forged"), proof=proof, root=root)
        if proof:
            bad = [bytes(32)] + proof[1:]
            assert not verify_inclusion(index=i, tree_size=n, leaf=tree[i], proof=bad, root=root)
        if n > 1:
            assert not verify_inclusion(index=(i + 1) % n, tree_size=n, leaf=tree[i], proof=proof, root=root)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8, 9, 12, 16, 17])
def test_every_consistency_proof_verifies(n: int):
    tree = leaves(n)
    for m in range(1, n + 1):
        proof = consistency_proof(m, tree)
        assert verify_consistency(old_size=m, new_size=n, old_root=root_hash(tree[:m]), new_root=root_hash(tree),
                                  proof=proof)


def test_a_rewritten_history_fails_consistency():
    tree = leaves(10)
    rewritten = list(tree)
    rewritten[3] = leaf_hash(b"quietly changed")
    proof = consistency_proof(6, rewritten)
    assert not verify_consistency(old_size=6, new_size=10, old_root=root_hash(tree[:6]),
                                  new_root=root_hash(rewritten), proof=proof)
