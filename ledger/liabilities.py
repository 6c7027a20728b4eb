"""Proof of liabilities: a Merkle sum tree over the members' balances at a checkpoint (formats §11).

Why: the ledger proves every entry, but a member also wants to know that the total the cooperative
publishes as "owed to members" really includes *their* balance. Each member wallet (an account with an
owner key) is a leaf ``(SHA256(salt || account id), balance)``; a parent is
``(SHA256(Lh || Lsum || Rh || Rsum), Lsum + Rsum)`` with the sums as 8-byte big-endian integers, so a
parent commits to both child sums and no sum can be negative. The tree splits like RFC 9162's (the
largest power of two below n on the left), leaves in the order of their hashes. The root's sum is the
total owed in that token.

The salt of a leaf is private to its member (a deterministic signature by the explorer's key over the
checkpoint size and the account id): others see only hashes and sums, and a leaf cannot be linked to
the same account at another checkpoint. A balance is the account's *posted* balance after the first
``size`` entries (held money still belongs to its payer until the hold is posted), replayed from the
ledger's transfers — the same figure ``chestnut ledger verify`` checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import UnitOfWork

MAX_SUM = 2**63 - 1


class LiabilityError(ChestnutError):
    code = "liability_proof_invalid"


@dataclass(frozen=True, slots=True)
class Node:
    hash: bytes
    total: int


@dataclass(frozen=True, slots=True)
class Step:
    """One sibling on the way up: its hash and sum, and whether it sits on the left."""

    hash: bytes
    total: int
    left: bool


@dataclass(frozen=True, slots=True)
class Leaf:
    account: str
    salt: bytes
    balance: int
    hash: bytes  # SHA256(salt || account)


@dataclass(frozen=True, slots=True)
class SumTree:
    token: str
    size: int  # the checkpoint (ledger size) it is taken at
    leaves: tuple[Leaf, ...]  # in tree order
    root: Node

    def index_of(self, account: str) -> int | None:
        for i, leaf in enumerate(self.leaves):
            if leaf.account == account:
                return i
        return None

    def proof(self, index: int) -> list[Step]:
        nodes = [Node(leaf.hash, leaf.balance) for leaf in self.leaves]
        return _path(index, nodes)


def _u64(n: int) -> bytes:
    if not 0 <= n <= MAX_SUM:
        raise LiabilityError(f"a sum must be between 0 and {MAX_SUM}, got {n}")
    return n.to_bytes(8, "big")


def parent(left: Node, right: Node) -> Node:
    digest = hashlib.sha256(left.hash + _u64(left.total) + right.hash + _u64(right.total)).digest()
    return Node(digest, left.total + right.total)


def leaf_hash(salt: bytes, account: str) -> bytes:
    return hashlib.sha256(salt + account.encode()).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_of(nodes: Sequence[Node]) -> Node:
    if not nodes:
        return Node(hashlib.sha256(b"").digest(), 0)
    if len(nodes) == 1:
        return nodes[0]
    k = _split(len(nodes))
    return parent(root_of(nodes[:k]), root_of(nodes[k:]))


def _path(index: int, nodes: Sequence[Node]) -> list[Step]:
    if len(nodes) <= 1:
        return []
    k = _split(len(nodes))
    if index < k:
        right = root_of(nodes[k:])
        return [*_path(index, nodes[:k]), Step(right.hash, right.total, left=False)]
    left = root_of(nodes[:k])
    return [*_path(index - k, nodes[k:]), Step(left.hash, left.total, left=True)]


def verify(leaf: Node, path: Sequence[Step], root: Node) -> None:
    """Fold the path up from the leaf; raise unless it reaches exactly ``root`` (hash and sum)."""
    node = leaf
    for step in path:
        sibling = Node(step.hash, step.total)
        node = parent(sibling, node) if step.left else parent(node, sibling)
    if node != root:
        raise LiabilityError("this balance is not inside the published root")


async def balances_at(uow: UnitOfWork, token: str, size: int) -> dict[str, int]:
    """Posted balance of every owned (member) account of ``token`` after the first ``size`` entries."""
    rows = await uow.fetch(
        "SELECT a.id, "
        "COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit = a.id AND t.seq < :n "
        "AND t.type IN ('single', 'post')), 0) - "
        "COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit = a.id AND t.seq < :n "
        "AND t.type IN ('single', 'post')), 0) "
        "FROM ledger_accounts a WHERE a.owner IS NOT NULL AND a.token = :token AND a.opened_seq < :n",
        {"token": token, "n": size},
    )
    return {str(account): int(balance) for account, balance in rows}


def build(token: str, size: int, balances: dict[str, int], salt_of: Callable[[str], bytes]) -> SumTree:
    leaves = []
    for account, balance in balances.items():
        if balance < 0:
            raise LiabilityError(f"member account {account} is below zero at size {size}", account=account)
        salt = salt_of(account)
        leaves.append(Leaf(account, salt, balance, leaf_hash(salt, account)))
    leaves.sort(key=lambda leaf: leaf.hash)
    root = root_of([Node(leaf.hash, leaf.balance) for leaf in leaves])
    return SumTree(token, size, tuple(leaves), root)
