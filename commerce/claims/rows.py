"""Claim rows: ``claims`` into ``Claim``, read by column name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commerce.orders.settlement import OPEN_CLAIM_STATES
from commerce.schema import claims

CLAIM_COLUMNS = tuple(claims.c)


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    order_id: int
    member_id: int  # the buyer
    kind: str
    text: str
    status: str  # open | answered | escalated | resolved | rejected
    resolution: str | None
    refund_amount: int  # proposed (refund_partial) while open; what the buyer got back once resolved
    answer: str | None
    seq: int  # the entry behind the current status; each claim entry names its ``prev``
    created_ms: int
    updated_ms: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CLAIM_STATES


def claim_of(row: Mapping[str, Any]) -> Claim:
    resolution, answer = row["resolution"], row["answer"]
    return Claim(
        int(row["id"]),
        int(row["order_id"]),
        int(row["member_id"]),
        str(row["kind"]),
        str(row["text"]),
        str(row["status"]),
        None if resolution is None else str(resolution),
        int(row["refund_amount"]),
        None if answer is None else str(answer),
        int(row["seq"]),
        int(row["created_ms"]),
        int(row["updated_ms"]),
    )
