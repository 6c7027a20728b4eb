"""RFC 9162 / RFC 6962 Merkle tree over SHA-256: hashing, the incremental frontier, proofs.

Hashes: a leaf is ``SHA256(0x00 || data)``, an interior node ``SHA256(0x01 || left || right)``, the
empty tree ``SHA256("")`` (RFC 6962 §2.1). For n > 1 leaves with k the largest power of two below n,
``MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))``.

Stored nodes. A *perfect node* (level l, index j) is the root of the perfect subtree over leaves
``[j·2^l, (j+1)·2^l)``; level 0 is the leaf hashes themselves. The frontier hands back each perfect
node the moment an append completes it, so the store only ever holds immutable hashes. Every subtree
a proof needs is either such a node or a *right edge* ``D[lo:hi]`` whose binary decomposition is a
run of perfect nodes (all aligned, see ``range_root``), so a proof is built from stored nodes alone:
``inclusion_nodes``/``consistency_nodes`` list them (one database query), then ``inclusion_proof``/
``consistency_proof`` assemble the RFC 9162 §2.1.3 / §2.1.4 proofs.

Errors. Asking for a proof that cannot exist (index ≥ size, old > new, a node missing from the store)
raises ``ProofError``; a proof or stored state that does not check out raises ``VerificationError``,
whose message says what was expected and what was found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from ledger.errors import ProofError, VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "GetNode",
    "NodeId",
    "completed_by",
    "consistency_nodes",
    "consistency_proof",
    "inclusion_nodes",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "range_root",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""(level, index) of a perfect node: it covers leaves [index·2^level, (index+1)·2^level)."""

GetNode = Callable[[int, int], bytes]
"""Looks up the stored hash of perfect node (level, index); level 0 is a leaf hash."""

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """``SHA256(0x00 || data)``: the hash of one log entry."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA256(0x01 || left || right)``: the distinct prefix stops a node passing for a leaf."""
    return _sha256(b"\x01" + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (``EMPTY_ROOT`` for none)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # Pairing level by level and lifting an odd last node unchanged equals RFC 6962's
    # split-at-the-largest-power-of-two recursion, without recursion.
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return level[0]


def completed_by(level: int, index: int) -> int:
    """The index of the leaf whose append completed perfect node (level, index): its last leaf."""
    return ((index + 1) << level) - 1


class Frontier:
    """The incremental tree: the roots of the perfect subtrees that make up the tree, largest first.

    Size n has one stored hash per set bit of n, so the state is at most 64 hashes; appending is
    O(1) amortised hashes and ``root()`` is O(log n).
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf HASH (32 bytes, not the entry) and return the perfect nodes it completed.

        Each is ``(level, index, hash)`` with level ≥ 1, lowest level first; a caller that stores them
        can later build any proof with ``inclusion_proof``/``consistency_proof``.
        """
        if len(leaf) != HASH_SIZE:
            raise VerificationError(
                f"a leaf hash is {HASH_SIZE} bytes, found {len(leaf)} (pass leaf_hash(entry))",
                expected=HASH_SIZE,
                found=len(leaf),
            )
        stack = self._stack
        position = self._size
        completed: list[tuple[int, int, bytes]] = []
        h = leaf
        s = position
        level = 0
        while s & 1:
            h = node_hash(stack.pop(), h)
            s >>= 1
            level += 1
            completed.append((level, position >> level, h))
        stack.append(h)
        self._size = position + 1
        return completed

    def root(self) -> bytes:
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        r = stack[-1]
        for i in range(len(stack) - 2, -1, -1):
            r = node_hash(stack[i], r)
        return r

    def to_bytes(self) -> bytes:
        """The subtree roots concatenated, largest first (32 bytes × popcount(size))."""
        return b"".join(self._stack)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        if size < 0:
            raise VerificationError(f"tree size must be ≥ 0, found {size}", found=size)
        expected = HASH_SIZE * size.bit_count()
        if len(data) != expected:
            raise VerificationError(
                f"a frontier of size {size} is {expected} bytes, found {len(data)}",
                expected=expected,
                found=len(data),
            )
        frontier = cls()
        frontier._size = size
        frontier._stack = [data[i : i + HASH_SIZE] for i in range(0, expected, HASH_SIZE)]
        return frontier

    def copy(self) -> Frontier:
        twin = Frontier()
        twin._size = self._size
        twin._stack = self._stack.copy()
        return twin

    def __repr__(self) -> str:
        return f"Frontier(size={self._size}, root={self.root().hex()})"


# --- proof generation -----------------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly less than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _perfect_parts(lo: int, hi: int) -> list[NodeId]:
    """The perfect nodes making up D[lo:hi], largest first; requires the alignment of range_root."""
    parts: list[NodeId] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        parts.append((level, lo >> level))
        lo += 1 << level
    return parts


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees D[lo:hi] whose roots form PATH(index, D[0:size]), leaf side first."""
    if size <= 0 or not 0 <= index < size:
        raise ProofError(f"no inclusion proof for leaf {index} in a tree of size {size}", index=index, size=size)
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The subtrees whose roots form PROOF(old, D[0:new]) (RFC 6962 §2.1.2), leaf side first."""
    if not 0 <= old <= new:
        raise ProofError(
            f"no consistency proof from size {old} to size {new}: sizes must satisfy 0 ≤ old ≤ new",
            old=old,
            new=new,
        )
    ranges: list[tuple[int, int]] = []
    if old == 0 or old == new:
        return ranges
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        mid = lo + _split(hi - lo)
        if m <= mid - lo:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            m -= mid - lo
            lo = mid
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _nodes_for(ranges: list[tuple[int, int]]) -> list[NodeId]:
    nodes: list[NodeId] = []
    for lo, hi in ranges:
        nodes.extend(_perfect_parts(lo, hi))
    return nodes


def _fold(ranges: list[tuple[int, int]], get_node: GetNode) -> list[bytes]:
    return [_range_root(lo, hi, get_node) for lo, hi in ranges]


def inclusion_nodes(index: int, size: int) -> list[NodeId]:
    """Every perfect node ``inclusion_proof(index, size, …)`` reads, in the order it reads them."""
    return _nodes_for(_inclusion_ranges(index, size))


def consistency_nodes(old: int, new: int) -> list[NodeId]:
    """Every perfect node ``consistency_proof(old, new, …)`` reads, in the order it reads them."""
    return _nodes_for(_consistency_ranges(old, new))


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """The RFC 9162 §2.1.3.1 audit path for leaf ``index`` in the tree of exactly ``size`` leaves.

    Build it for the size of the checkpoint it is served with, never for "the current size".
    """
    return _fold(_inclusion_ranges(index, size), get_node)


def consistency_proof(old: int, new: int, get_node: GetNode) -> list[bytes]:
    """The RFC 9162 §2.1.4.1 proof that the tree of size ``old`` is a prefix of the one of size ``new``.

    Empty when ``old == new`` or ``old == 0`` (tlog-witness sends no proof lines from size 0).
    """
    return _fold(_consistency_ranges(old, new), get_node)


def range_root(lo: int, hi: int, get_node: GetNode) -> bytes:
    """MTH(D[lo:hi]) from stored perfect nodes.

    Precondition: 0 ≤ lo < hi and lo is a multiple of 2^L, the largest power of two ≤ hi - lo. Every
    subtree in an RFC 6962 proof satisfies it, and then D[lo:hi] splits into perfect aligned nodes of
    strictly decreasing size whose right-to-left fold is exactly the RFC's recursive MTH.
    """
    if not 0 <= lo < hi:
        raise ProofError(f"empty or negative range D[{lo}:{hi}]", lo=lo, hi=hi)
    width = 1 << ((hi - lo).bit_length() - 1)
    if lo % width:
        raise ProofError(f"D[{lo}:{hi}] is not aligned: {lo} is not a multiple of {width}", lo=lo, hi=hi)
    return _range_root(lo, hi, get_node)


def _range_root(lo: int, hi: int, get_node: GetNode) -> bytes:
    hashes = [_lookup(get_node, level, index) for level, index in _perfect_parts(lo, hi)]
    r = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        r = node_hash(hashes[i], r)
    return r


def _lookup(get_node: GetNode, level: int, index: int) -> bytes:
    try:
        h = get_node(level, index)
    except LookupError:  # KeyError from a dict, IndexError from a list
        raise ProofError(f"node (level {level}, index {index}) is not in the store") from None
    if len(h) != HASH_SIZE:
        raise ProofError(f"stored node (level {level}, index {index}) is {len(h)} bytes, expected {HASH_SIZE}")
    return h


# --- verification ---------------------------------------------------------------------------------


def _bad_length(what: str, h: bytes) -> VerificationError:
    return VerificationError(f"{what} must be {HASH_SIZE} bytes, found {len(h)}", expected=HASH_SIZE, found=len(h))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that the leaf HASH ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root``.

    RFC 9162 §2.1.3.2. Returns nothing, or raises ``VerificationError``.
    """
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} is not inside a tree of size {size}", index=index, size=size)
    if len(leaf) != HASH_SIZE:
        raise _bad_length("the leaf hash", leaf)
    if len(root) != HASH_SIZE:
        raise _bad_length("the root hash", root)
    fn = index
    sn = size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise VerificationError(
                f"inclusion proof has {len(proof)} hashes, more than a tree of size {size} needs",
                found=len(proof),
            )
        if len(p) != HASH_SIZE:
            raise _bad_length("every proof hash", p)
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                # fn is a left child on the right edge: climb the levels where it has no sibling.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"inclusion proof has {len(proof)} hashes, too few for leaf {index} of a tree of size {size}",
            found=len(proof),
        )
    if r != root:
        raise VerificationError(
            f"inclusion proof for leaf {index} of size {size} gives root {r.hex()}, expected {root.hex()}",
            expected=root.hex(),
            found=r.hex(),
        )


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree (old_size, old_root) is a prefix of the tree (new_size, new_root).

    RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; from size 0 anything is
    consistent but the proof must be empty (as tlog-witness requires). Raises ``VerificationError``.
    """
    if not 0 <= old_size <= new_size:
        raise VerificationError(
            f"sizes must satisfy 0 ≤ old ≤ new, found old {old_size} and new {new_size}",
            old=old_size,
            new=new_size,
        )
    if len(new_root) != HASH_SIZE:
        raise _bad_length("the new root", new_root)
    if old_size == 0 or old_size == new_size:
        if proof:
            raise VerificationError(
                f"consistency proof from size {old_size} to {new_size} must be empty, found {len(proof)} hashes",
                found=len(proof),
            )
        if old_size and old_root != new_root:
            raise VerificationError(
                f"trees of the same size {old_size} have different roots: {old_root.hex()} and {new_root.hex()}",
                expected=old_root.hex(),
                found=new_root.hex(),
            )
        return
    if len(old_root) != HASH_SIZE:
        raise _bad_length("the old root", old_root)
    if not proof:
        raise VerificationError(f"consistency proof from size {old_size} to {new_size} is empty")
    for p in proof:
        if len(p) != HASH_SIZE:
            raise _bad_length("every proof hash", p)

    fn = old_size - 1
    sn = new_size - 1
    # When old_size is a power of two the old tree is itself a node of the new one, so the proof
    # omits it and the verifier starts from the old root (RFC 9162 step 2).
    if (old_size & fn) == 0:
        fr = sr = old_root
        rest = proof
    else:
        fr = sr = proof[0]
        rest = proof[1:]
    while fn & 1:
        fn >>= 1
        sn >>= 1
    for c in rest:
        if sn == 0:
            raise VerificationError(
                f"consistency proof has {len(proof)} hashes, more than {old_size} → {new_size} needs",
                found=len(proof),
            )
        if fn & 1 or fn == sn:
            fr = _sha256(b"\x01" + c + fr).digest()
            sr = _sha256(b"\x01" + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"consistency proof has {len(proof)} hashes, too few for {old_size} → {new_size}",
            found=len(proof),
        )
    if fr != old_root:
        raise VerificationError(
            f"consistency proof gives old root {fr.hex()}, expected {old_root.hex()}",
            expected=old_root.hex(),
            found=fr.hex(),
        )
    if sr != new_root:
        raise VerificationError(
            f"consistency proof gives new root {sr.hex()}, expected {new_root.hex()}",
            expected=new_root.hex(),
            found=sr.hex(),
        )
