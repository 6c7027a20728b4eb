"""Member rows: the ``members`` table read by column name into ``Member``.

``MEMBER_COLUMNS`` is what a ``Member`` holds; every statement that makes one selects them (on its own,
or joined) and ``member_of`` reads its row by name. ``MEMBER_BY_ID`` is the read other services put in
their own batch (a placement, a checkout) to have the member with the rest of their decision's reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from commerce.schema import members
from commerce.statements import Statement

MEMBER_COLUMNS = (
    members.c.id,
    members.c.display_name,
    members.c.phone,
    members.c.roles,
    members.c.lang,
    members.c.bnm_share_pref,
    members.c.status,
    members.c.merged_into,
    members.c.region,
)


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    display_name: str
    phone: str | None
    roles: frozenset[str]
    lang: str
    bnm_share_pref: int
    status: str
    merged_into: int | None
    region: str | None

    @property
    def key_label(self) -> str:
        """The label of the member's custodial key (``commerce.members.service.key_label``)."""
        return f"member:{self.id}"

    def has(self, role: str) -> bool:
        return role in self.roles


def member_of(row: Mapping[str, Any]) -> Member:
    merged, phone, region = row["merged_into"], row["phone"], row["region"]
    return Member(
        int(row["id"]),
        str(row["display_name"]),
        None if phone is None else str(phone),
        frozenset(r for r in str(row["roles"]).split(",") if r),
        str(row["lang"]),
        int(row["bnm_share_pref"]),
        str(row["status"]),
        None if merged is None else int(merged),
        None if region is None else str(region),
    )


MEMBER_BY_ID = Statement.of(select(*MEMBER_COLUMNS).where(members.c.id == bindparam("id")))
