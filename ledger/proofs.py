"""Proofs from the stored tree: RFC 9162 inclusion and consistency proofs, and tlog-proof receipts.

The tree is never rebuilt: each entry row keeps the perfect-subtree hashes it completed (``nodes``),
so a proof reads the few rows that completed the subtrees it needs, in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger import merkle, reads
from ledger.errors import ProofError
from ledger.receipt import format_receipt
from ledger.rows import reads_in
from ledger.storage.ops import Row
from ledger.storage.unit_of_work import UnitOfWork


async def _nodes(uow: UnitOfWork, needed: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Perfect-subtree hashes by (level, index), from the entry that completed each."""
    by_seq = {merkle.completed_by(level, index): (level, index) for level, index in needed}
    found: dict[tuple[int, int], bytes] = {}
    if not by_seq:
        return found
    rows: list[Row] = []
    for ops_rows in await uow.batch(
        reads_in("SELECT seq, leaf_hash, nodes FROM ledger_entries WHERE seq IN {in}", sorted(by_seq))
    ):
        rows.extend(ops_rows)
    for seq, leaf, nodes in rows:
        level, index = by_seq[int(seq)]
        data = bytes(leaf) if level == 0 else bytes(nodes)[(level - 1) * 32 : level * 32]
        found[(level, index)] = data
    return found


async def _check_size(uow: UnitOfWork, size: int) -> None:
    head = await reads.head(uow)
    if size > head.size:
        raise ProofError(f"the ledger has {head.size} entries, not {size}", size=head.size, asked=size)


async def inclusion_proof(uow: UnitOfWork, index: int, size: int) -> list[bytes]:
    if not 0 <= index < size:
        raise ProofError(f"entry {index} is not in a tree of size {size}", seq=index, size=size)
    await _check_size(uow, size)
    nodes = await _nodes(uow, merkle.inclusion_nodes(index, size))
    return merkle.inclusion_proof(index, size, lambda level, i: nodes[(level, i)])


async def consistency_proof(uow: UnitOfWork, old: int, new: int) -> list[bytes]:
    if not 0 <= old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}", old=old, new=new)
    await _check_size(uow, new)
    if old == 0 or old == new:
        return []
    nodes = await _nodes(uow, merkle.consistency_nodes(old, new))
    return merkle.consistency_proof(old, new, lambda level, i: nodes[(level, i)])


async def receipt(uow: UnitOfWork, seq: int) -> str:
    """A c2sp.org/tlog-proof@v1 receipt for entry ``seq`` against the latest checkpoint."""
    size, note = await reads.latest_checkpoint(uow)
    if seq < 0:
        raise ProofError("entry numbers start at 0", seq=seq)
    if seq >= size:
        raise ProofError(f"entry {seq} is not yet covered by a published checkpoint (size {size})", seq=seq, size=size)
    return format_receipt(seq, await inclusion_proof(uow, seq, size), note)
