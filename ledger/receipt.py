"""C2SP tlog-proof@v1: a receipt carrying an entry's index, its inclusion proof (RFC 9162) and the
(co)signed checkpoint it is proved against, checkable offline by anyone.

Every failure is a ``VerificationError`` whose message says what was wrong.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, parse_decimal, verify_cosignatures
from ledger.errors import VerificationError
from ledger.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from ledger.note import ALG_ED25519, Verifier, decode_base64, open_note, split_note

__all__ = ["RECEIPT_HEADER", "Receipt", "format_receipt", "parse_receipt", "verify_receipt"]

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
# A tree smaller than 2**63 leaves has an inclusion path of at most 63 hashes.
_MAX_PROOF_HASHES = 63


@dataclass(frozen=True, slots=True)
class Receipt:
    """A parsed tlog-proof: unauthenticated extra data, entry index, inclusion hashes, signed note."""

    extra: bytes | None
    index: int
    hashes: tuple[bytes, ...]
    note: str


def format_receipt(index: int, inclusion: Sequence[bytes], checkpoint_note: str, extra: bytes | None = None) -> str:
    """A c2sp.org/tlog-proof@v1 text: header, [extra], index, proof hashes, blank line, the note.

    ``checkpoint_note`` is the signed checkpoint (with any cosignatures) verbatim, and ``inclusion``
    must be the proof for exactly that checkpoint's tree size.
    """
    if type(index) is not int or not 0 <= index <= MAX_TREE_SIZE:
        raise VerificationError(f"receipt index must be in 0..2**63-1, found {index!r}")
    if len(inclusion) > _MAX_PROOF_HASHES:
        raise VerificationError(f"inclusion proof has {len(inclusion)} hashes, at most 63 possible")
    for h in inclusion:
        if len(h) != HASH_SIZE:
            raise VerificationError(f"every proof hash must be {HASH_SIZE} bytes, found {len(h)}")
    split_note(checkpoint_note)
    parts = [RECEIPT_HEADER, "\n"]
    if extra is not None:
        parts += ["extra ", base64.b64encode(extra).decode("ascii"), "\n"]
    parts += ["index ", str(index), "\n"]
    for h in inclusion:
        parts += [base64.b64encode(h).decode("ascii"), "\n"]
    parts += ["\n", checkpoint_note]
    return "".join(parts)


def parse_receipt(text: str) -> Receipt:
    """Parse a tlog-proof@v1 text; checks its shape only (``verify_receipt`` checks its truth)."""
    head, blank, note = text.partition("\n\n")
    if not blank or not note:
        raise VerificationError("receipt has no blank line followed by a checkpoint")
    lines = head.split("\n")
    if lines[0] != RECEIPT_HEADER:
        raise VerificationError(f"receipt must start with {RECEIPT_HEADER!r}, found {lines[0][:40]!r}")
    at = 1
    extra = None
    if at < len(lines) and lines[at].startswith("extra "):
        extra = decode_base64(lines[at][6:], "receipt extra data")
        at += 1
    if at >= len(lines) or not lines[at].startswith("index "):
        raise VerificationError("receipt has no 'index <n>' line")
    index = parse_decimal(lines[at][6:], "receipt index", MAX_TREE_SIZE)
    proof_lines = lines[at + 1 :]
    if len(proof_lines) > _MAX_PROOF_HASHES:
        raise VerificationError(f"receipt has {len(proof_lines)} proof hashes, at most 63 possible")
    hashes: list[bytes] = []
    for number, line in enumerate(proof_lines, 1):
        h = decode_base64(line, f"receipt proof hash {number}")
        if len(h) != HASH_SIZE:
            raise VerificationError(f"receipt proof hash {number} is {len(h)} bytes, expected {HASH_SIZE}")
        hashes.append(h)
    return Receipt(extra, index, tuple(hashes), note)


def verify_receipt(
    receipt: str,
    entry: bytes,
    log_key: Verifier,
    cosigners: Sequence[Verifier] = (),
    min_cosigners: int = 0,
) -> Checkpoint:
    """Check that ``entry`` is in the log, as the receipt claims, and return the checkpoint it is in.

    Checks the log's signature on the checkpoint, every cosignature by a listed witness (at least
    ``min_cosigners`` of them present and valid), and the inclusion of ``SHA256(0x00 || entry)`` at
    the receipt's index under the checkpoint's root. The extra data is not authenticated.
    """
    if log_key.alg != ALG_ED25519:
        raise VerificationError(f"log key {log_key.name} must be an Ed25519 note key (alg 0x01)")
    parsed = parse_receipt(receipt)
    opened = open_note(parsed.note, [log_key])
    checkpoint = Checkpoint.parse(opened.text)
    if cosigners or min_cosigners:
        times = verify_cosignatures(parsed.note, cosigners)
        if len(times) < min_cosigners:
            raise VerificationError(
                f"checkpoint has {len(times)} valid cosignatures by trusted witnesses, "
                f"expected at least {min_cosigners}",
                expected=min_cosigners,
                found=len(times),
            )
    verify_inclusion(leaf_hash(entry), parsed.index, checkpoint.size, parsed.hashes, checkpoint.root_hash)
    return checkpoint
