"""Abuse case rows: ``abuse_cases`` into ``Case``, read by column name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commerce.trust.schema import abuse_cases

OPEN_STATES = ("open", "appealed")
CASE_COLUMNS = tuple(abuse_cases.c)


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    member_id: int
    rule: str
    subject: str
    outcome: str
    reason: str
    evidence: dict[str, Any]
    status: str  # open | appealed | upheld | released
    appeal: str | None
    seq: int
    created_ms: int
    updated_ms: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES


def case_of(row: Mapping[str, Any]) -> Case:
    appeal = row["appeal"]
    return Case(
        int(row["id"]),
        int(row["member_id"]),
        str(row["rule"]),
        str(row["subject"]),
        str(row["outcome"]),
        str(row["reason"]),
        json.loads(row["evidence"]),
        str(row["status"]),
        None if appeal is None else str(appeal),
        int(row["seq"]),
        int(row["created_ms"]),
        int(row["updated_ms"]),
    )
