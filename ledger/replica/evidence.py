"""Fork evidence: two checkpoints signed by the ledger key that no single append-only history can have.

A log must never sign two checkpoints that are inconsistent with each other (c2sp.org/tlog-checkpoint).
The evidence a replica keeps — and ``chestnut replica audit`` prints — is checkable by anyone holding
the ledger's verifier key, with no trust in the replica:

- *same size, two roots*: two signed notes for size n with different root hashes; or
- *a rewritten prefix*: a signed note for size m (root a) and one for size n > m (root b), plus the root
  a' ≠ a of the first m entries of tree b and an RFC 9162 consistency proof that verifies from (m, a')
  to (n, b). A consistency proof pins the old root (it is folded out of the proof hashes, or for m a
  power of two is a node of tree b), so tree b's first m entries are not the ones tree a was signed over.

The evidence is canonical JSON::

    {"format": "chestnut.coop/fork-evidence/v1", "ledger_key": <verifier key>, "older": <signed note>,
     "newer": <signed note>, "prefix_root": <b64 or null>, "proof": [<b64>, ...], "found_by": <name>,
     "context": <what the replica was doing>}
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint
from ledger.errors import ChestnutError, VerificationError
from ledger.merkle import verify_consistency
from ledger.note import Verifier, open_note, parse_verifier_key

FORMAT = "chestnut.coop/fork-evidence/v1"


@dataclass(frozen=True, slots=True)
class Evidence:
    ledger_key: str
    older: str
    newer: str
    prefix_root: bytes | None = None
    proof: tuple[bytes, ...] = ()
    found_by: str = ""
    context: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "ledger_key": self.ledger_key,
            "older": self.older,
            "newer": self.newer,
            "prefix_root": None if self.prefix_root is None else base64.b64encode(self.prefix_root).decode(),
            "proof": [base64.b64encode(h).decode() for h in self.proof],
            "found_by": self.found_by,
            "context": self.context,
        }

    def encode(self) -> str:
        return canonical_json(self.to_json()).decode()

    @classmethod
    def from_json(cls, obj: Any) -> Evidence:
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise VerificationError(f"not fork evidence: expected format {FORMAT!r}")
        try:
            prefix = obj.get("prefix_root")
            return cls(
                ledger_key=str(obj["ledger_key"]),
                older=str(obj["older"]),
                newer=str(obj["newer"]),
                prefix_root=None if prefix is None else base64.b64decode(prefix, validate=True),
                proof=tuple(base64.b64decode(h, validate=True) for h in obj.get("proof", [])),
                found_by=str(obj.get("found_by", "")),
                context=str(obj.get("context", "")),
            )
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise VerificationError("fork evidence is missing a field or holds one that is not base64") from None

    @classmethod
    def decode(cls, text: str) -> Evidence:
        try:
            return cls.from_json(json.loads(text))
        except ValueError:
            raise VerificationError("fork evidence is not JSON") from None


def _opened(note: str, key: Verifier, which: str) -> Checkpoint:
    try:
        return Checkpoint.parse(open_note(note, [key]).text)
    except ChestnutError as exc:
        raise VerificationError(f"the {which} checkpoint does not verify: {exc.message}") from None


def verify_evidence(evidence: Evidence, trusted_key: Verifier | None = None) -> str:
    """Check that the evidence proves the ledger key signed inconsistent checkpoints; say how, in one line.

    ``trusted_key`` is the verifier key the caller trusts; without it the key written in the evidence is
    used (then check it is the ledger's, e.g. against ``/ledger/key`` or the genesis entry).
    """
    key = trusted_key or parse_verifier_key(evidence.ledger_key)
    a = _opened(evidence.older, key, "older")
    b = _opened(evidence.newer, key, "newer")
    if a.origin != b.origin:
        raise VerificationError(f"the checkpoints are of two logs ({a.origin!r}, {b.origin!r})")
    if a.size > b.size:
        raise VerificationError(f"the older checkpoint has size {a.size}, larger than the newer one's {b.size}")
    if a.size == b.size:
        if a.root_hash == b.root_hash:
            raise VerificationError(f"both checkpoints of size {a.size} have the same root: no fork shown")
        return f"{a.origin} signed two different roots for the same size {a.size}"
    if evidence.prefix_root is None:
        raise VerificationError("evidence for checkpoints of different sizes needs the prefix root and a proof")
    if evidence.prefix_root == a.root_hash:
        raise VerificationError(f"the prefix root equals the older checkpoint's root: size {a.size} is consistent")
    verify_consistency(a.size, b.size, evidence.prefix_root, b.root_hash, list(evidence.proof))
    return (
        f"{a.origin} signed size {a.size} with root {base64.b64encode(a.root_hash).decode()} and size {b.size} "
        f"whose first {a.size} entries have root {base64.b64encode(evidence.prefix_root).decode()}: "
        "history was rewritten or forked"
    )
