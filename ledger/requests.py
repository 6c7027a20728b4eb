"""What a service asks the ledger to record, and what the ledger answers.

A ``Request`` names the actor by their custodial key's label; a ``SignedAction`` comes signed by a
member who holds their own key. ``Ledger.record`` answers each with a ``Recorded``; ``Ledger.prepare``
answers with a ``Prepared``: the ``Recorded`` answers and the writes that make them true, for the caller
to run in its own unit of work together with rows of its own that name the new entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.canonical import canonical_json
from ledger.model import AccountSpec, Transfer
from ledger.storage.ops import Op


@dataclass(frozen=True, slots=True)
class Request:
    """What a service asks the ledger to record. ``actor`` is the custodial key's label."""

    actor: str
    kind: str
    body: Mapping[str, Any] = field(default_factory=dict)
    transfers: Sequence[Transfer] = ()
    accounts: Sequence[AccountSpec] = ()
    countersign: bool = False
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SignedAction:
    """An action signed outside the key store (a member holding their own key)."""

    action_bytes: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class Recorded:
    seq: int
    leaf_hash: bytes
    kind: str
    existing: bool = False


@dataclass(frozen=True, slots=True)
class Prepared:
    """An append decided and not yet written: ``recorded`` answers it, ``ops`` write it.

    The caller runs ``ops`` in the unit of work it prepared them in, first in one batch with its own
    statements (which may name the new sequence numbers): an order and the entry that proves it, in one
    round trip. They must run before anything else asks the ledger in that unit of work, which would
    otherwise find the ledger as it was before them. ``ops`` is empty when every request was a retry.
    """

    recorded: list[Recorded]
    ops: list[Op]


def request_hash(req: Request) -> bytes:
    """What an idempotency key stands for: a retry with the same key must ask for exactly this."""
    return hashlib.sha256(
        canonical_json(
            {
                "accounts": [a.to_json() for a in req.accounts],
                "actor": req.actor,
                "body": dict(req.body),
                "kind": req.kind,
                "transfers": [t.to_json() for t in req.transfers],
            }
        )
    ).digest()
