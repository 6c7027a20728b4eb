"""What the member's and the operator's screens read of abuse cases, and the checks other services make
before acting for a member: are their rewards withheld, may they open a claim."""

from __future__ import annotations

from sqlalchemy import bindparam, case, select

from commerce.statements import Statement
from commerce.trust.errors import ClaimsNeedApproval, UnknownCase
from commerce.trust.rows import CASE_COLUMNS, OPEN_STATES, Case, case_of
from commerce.trust.schema import abuse_cases as cases
from ledger.storage.unit_of_work import UnitOfWork

_OPEN = cases.c.status.in_(OPEN_STATES)
_CASE = Statement.of(select(*CASE_COLUMNS).where(cases.c.id == bindparam("id")))
_NOTICES = Statement.of(
    select(*CASE_COLUMNS).where(cases.c.member_id == bindparam("m"), _OPEN).order_by(cases.c.id.desc())
)
_MEMBER_CASES = Statement.of(
    select(*CASE_COLUMNS)
    .where(cases.c.member_id == bindparam("m"))
    .order_by(case((_OPEN, 0), else_=1), cases.c.id.desc())
    .limit(bindparam("n"))
)
_ANY_CASE = Statement.of(select(cases.c.id).where(cases.c.member_id == bindparam("m")).limit(1))
_OPEN_CASES = Statement.of(
    select(*CASE_COLUMNS)
    .where(_OPEN)
    .order_by(case((cases.c.status == "appealed", 0), else_=1), cases.c.id)
    .limit(bindparam("n"))
)
_OPEN_WITH_OUTCOME = Statement.of(
    select(*CASE_COLUMNS)
    .where(cases.c.member_id == bindparam("m"), cases.c.outcome == bindparam("o"), _OPEN)
    .order_by(cases.c.id)
    .limit(1)
)


async def get(uow: UnitOfWork, case_id: int) -> Case:
    rows = await uow.fetch(_CASE.sql, {"id": case_id})
    if not rows:
        raise UnknownCase(f"no abuse case {case_id}", case=case_id)
    return case_of(_CASE.named(rows[0]))


async def notices(uow: UnitOfWork, member_id: int) -> list[Case]:
    """The member's open cases, newest first: each says why (``reason``) and may be appealed."""
    rows = await uow.fetch(_NOTICES.sql, {"m": member_id})
    return [case_of(_NOTICES.named(r)) for r in rows]


async def member_cases(uow: UnitOfWork, member_id: int, *, limit: int = 5) -> list[Case]:
    """The member's cases, the open (and appealed) ones first, newest first: their "내 기록 알림" screen."""
    rows = await uow.fetch(_MEMBER_CASES.sql, {"m": member_id, "n": limit})
    return [case_of(_MEMBER_CASES.named(r)) for r in rows]


async def has_cases(uow: UnitOfWork, member_id: int) -> bool:
    """Whether the member has any case at all (the wallet shows its way to the cases only then)."""
    return bool(await uow.fetch(_ANY_CASE.sql, {"m": member_id}))


async def open_cases(uow: UnitOfWork, *, limit: int = 50) -> list[Case]:
    """What an operator has to look at, appealed first."""
    rows = await uow.fetch(_OPEN_CASES.sql, {"n": limit})
    return [case_of(_OPEN_CASES.named(r)) for r in rows]


async def _open_with(uow: UnitOfWork, member_id: int, outcome: str) -> Case | None:
    rows = await uow.fetch(_OPEN_WITH_OUTCOME.sql, {"m": member_id, "o": outcome})
    return case_of(_OPEN_WITH_OUTCOME.named(rows[0])) if rows else None


async def rewards_withheld(uow: UnitOfWork, member_id: int) -> Case | None:
    """The open case that withholds this member's rewards, if any (payers ask before paying)."""
    return await _open_with(uow, member_id, "withhold_reward")


async def require_claims_allowed(uow: UnitOfWork, member_id: int) -> None:
    """Refuse a new claim while the member's claims need an operator's approval (they call the office)."""
    found = await _open_with(uow, member_id, "claims_need_approval")
    if found is not None:
        raise ClaimsNeedApproval(found.reason, case=found.id)
