"""C2SP tlog-checkpoint and tlog-cosignature: what a checkpoint says, and a witness's cosignature of it.

- c2sp.org/tlog-checkpoint: the note text ``<origin>\\n<size>\\n<base64 root>\\n`` [extension lines],
  signed as a c2sp.org/signed-note (``ledger.note``) by the log's key.
- c2sp.org/tlog-cosignature: a witness's note signature with alg 0x04 whose payload is
  ``u64 timestamp || Ed25519 signature`` over ``"cosignature/v1\\ntime <t>\\n" + checkpoint text``.

Every failure is a ``VerificationError`` whose message says what was wrong.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import VerificationError
from ledger.merkle import HASH_SIZE
from ledger.note import (
    ALG_COSIGNATURE_V1,
    CONTROL_CHARACTERS,
    COSIGNATURE_HEADER,
    SIGNATURE_PREFIX,
    SIGNATURE_SIZE,
    Signer,
    Verifier,
    check_cosignature,
    check_key,
    check_name,
    check_text,
    decode_base64,
    index_keys,
    key_id,
    split_note,
)

__all__ = ["MAX_TREE_SIZE", "Checkpoint", "cosign", "parse_decimal", "verify_cosignatures"]

MAX_TREE_SIZE = 2**63 - 1


def parse_decimal(text: str, what: str, limit: int) -> int:
    """A decimal number as the C2SP formats write one: ASCII digits, no leading zero, at most ``limit``."""
    # isdigit() alone would admit non-ASCII digits such as '٣'.
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0"):
        raise VerificationError(f"{what} {text!r} is not a decimal number without leading zeros")
    if len(text) > 19 or int(text) > limit:
        raise VerificationError(f"{what} {text} is larger than {limit}")
    return int(text)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tlog-checkpoint: the log's origin, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, line in (("origin", self.origin), *(("extension line", e) for e in self.extensions)):
            if not line or "\n" in line or CONTROL_CHARACTERS.search(line):
                raise VerificationError(f"checkpoint {what} {line!r} must be one non-empty line")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise VerificationError(f"checkpoint size must be an integer in 0..2**63-1, found {self.size!r}")
        if len(self.root_hash) != HASH_SIZE:
            raise VerificationError(f"checkpoint root hash must be {HASH_SIZE} bytes, found {len(self.root_hash)}")

    def to_text(self) -> str:
        """The note text: ``<origin>\\n<size>\\n<base64 root>\\n`` then any extension lines."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        tail = "".join(line + "\n" for line in self.extensions)
        return f"{self.origin}\n{self.size}\n{root}\n{tail}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint's note text (not the signed note: see ``open_note``)."""
        if not text.endswith("\n"):
            raise VerificationError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise VerificationError(f"checkpoint needs at least 3 lines, found {len(lines)}")
        origin, size, root, *extensions = lines
        return cls(
            origin,
            parse_decimal(size, "checkpoint size", MAX_TREE_SIZE),
            decode_base64(root, "checkpoint root hash"),
            tuple(extensions),
        )


def cosign(checkpoint_text: str, signer: Signer, timestamp: int) -> str:
    """A witness's cosignature/v1 line (with its newline) for ``checkpoint_text`` at ``timestamp``.

    Append it to the checkpoint's signed note. ``timestamp`` is in Unix seconds.
    """
    Checkpoint.parse(checkpoint_text)
    message = check_text(checkpoint_text)
    if type(timestamp) is not int or not 0 <= timestamp < 2**64:
        raise VerificationError(f"cosignature timestamp must be a u64, found {timestamp!r}")
    name = signer.name
    public_key = signer.public_key
    check_name(name)
    check_key(public_key, ALG_COSIGNATURE_V1)
    signature = signer.sign(COSIGNATURE_HEADER % timestamp + message)
    if len(signature) != SIGNATURE_SIZE:
        raise VerificationError(f"signer {name} returned {len(signature)} bytes, not a signature")
    payload = key_id(name, public_key, ALG_COSIGNATURE_V1) + timestamp.to_bytes(8, "big") + signature
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(payload).decode('ascii')}\n"


def verify_cosignatures(note: str, cosigners: Sequence[Verifier]) -> dict[str, int]:
    """``{cosigner name: timestamp}`` for the cosignatures in ``note`` by the given witness keys.

    Lines by other keys are ignored; a line by a listed witness that does not verify raises. The
    caller decides how many cosignatures it needs.
    """
    for v in cosigners:
        if v.alg != ALG_COSIGNATURE_V1:
            raise VerificationError(f"{v.name} is not a cosignature/v1 key: expected alg 0x04, found {v.alg:#04x}")
    _, message, signatures = split_note(note)
    known = index_keys(cosigners)
    times: dict[str, int] = {}
    for sig in signatures:
        witness = known.get((sig.name, sig.key_id))
        if witness is None:
            continue
        timestamp = check_cosignature(witness, message, sig)
        times[witness.name] = max(timestamp, times.get(witness.name, timestamp))
    return times
