"""Members: one person, one member, one custodial key — reachable from Telegram, Kakao and the web.

A member appears at first contact on any channel (``register``) with a key and two wallets (BTL and
BNM) opened on the ledger in the member's own signed ``member.join``. A verified phone links channel
identities, so the same person on the other messenger continues as the same member: when a freshly
registered member verifies a phone that another member already holds, the identity moves to that
member and the fresh one is marked merged (only while it has done nothing else).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, case, literal, select

from commerce import validate
from commerce.errors import InvalidInput, NotAllowed
from commerce.members.errors import CodeExpired, CodeRequestedRecently, PhoneCodeLimit, PhoneInUse, UnknownMember
from commerce.members.rows import MEMBER_BY_ID, MEMBER_COLUMNS, Member, member_of
from commerce.schema import member_identities, phone_codes
from commerce.schema import members as members_table
from commerce.services import Services
from commerce.statements import Statement
from ledger import reads
from ledger.model import AccountSpec
from ledger.requests import Request
from ledger.storage.ops import read, write
from ledger.storage.unit_of_work import UnitOfWork

ROLES = ("shopper", "producer", "courier", "operator")
CHANNELS = ("telegram", "kakao", "web")


def key_label(member_id: int) -> str:
    return f"member:{member_id}"


def wallet(member_id: int, token: str = "BTL") -> str:  # noqa: S107 - a token is BTL or BNM
    return f"wallet:{member_id}:{token.lower()}"


async def get(uow: UnitOfWork, member_id: int) -> Member:
    rows = await uow.fetch(MEMBER_BY_ID.sql, {"id": member_id})
    if not rows:
        raise UnknownMember(f"no member {member_id}", member=member_id)
    member = member_of(MEMBER_BY_ID.named(rows[0]))
    if member.status == "merged" and member.merged_into is not None:
        return await get(uow, member.merged_into)
    return member


async def require_role(uow: UnitOfWork, member_id: int, role: str) -> Member:
    member = await get(uow, member_id)
    if not member.has(role):
        raise NotAllowed(f"this needs the {role} role", member=member_id, role=role)
    return member


_BY_IDENTITY = Statement.of(
    select(*MEMBER_COLUMNS)
    .select_from(member_identities.join(members_table, members_table.c.id == member_identities.c.member_id))
    .where(member_identities.c.channel == bindparam("c"), member_identities.c.external_id == bindparam("e"))
)
_WITH_ROLE = Statement.of(
    select(*MEMBER_COLUMNS)
    .where(members_table.c.status == "active", (literal(",") + members_table.c.roles + ",").like(bindparam("pattern")))
    .order_by(case((members_table.c.region == bindparam("r"), 0), else_=1), members_table.c.id)
    .limit(bindparam("limit"))
)


async def by_identity(uow: UnitOfWork, channel: str, external_id: str) -> Member | None:
    """The member behind a channel identity, in one round trip (every chat message starts here)."""
    rows = await uow.fetch(_BY_IDENTITY.sql, {"c": channel, "e": external_id})
    if not rows:
        return None
    member = member_of(_BY_IDENTITY.named(rows[0]))
    return await get(uow, member.id) if member.status == "merged" else member


async def with_role(uow: UnitOfWork, role: str, *, region: str | None = None, limit: int = 20) -> list[Member]:
    """Active members who hold ``role``, those of ``region`` first (couriers a producer can call on)."""
    if role not in ROLES:
        raise InvalidInput(f"roles must be among {ROLES}", field="role")
    rows = await uow.fetch(_WITH_ROLE.sql, {"pattern": f"%,{role},%", "r": region, "limit": limit})
    return [member_of(_WITH_ROLE.named(r)) for r in rows]


async def by_phone(uow: UnitOfWork, phone: str) -> Member | None:
    rows = await uow.fetch("SELECT id FROM members WHERE phone = :p AND status = 'active'", {"p": phone})
    return await get(uow, int(rows[0][0])) if rows else None


async def register(
    market: Services,
    uow: UnitOfWork,
    *,
    channel: str,
    external_id: str,
    display_name: str,
    lang: str = "ko",
    roles: tuple[str, ...] = ("shopper",),
) -> Member:
    """The member behind a channel identity, registering them at first contact (idempotent)."""
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}", field="channel")
    external_id = validate.text(external_id, "external_id", max_len=128)
    existing = await by_identity(uow, channel, external_id)
    if existing is not None:
        return existing
    name = validate.text(display_name, "display_name", max_len=64)
    if lang not in ("ko", "en"):
        raise InvalidInput("language must be ko or en", field="lang")
    if not set(roles) <= set(ROLES):
        raise InvalidInput(f"roles must be among {ROLES}", field="roles")
    now = market.clock()
    rows = await uow.fetch(
        "INSERT INTO members (display_name, roles, lang, bnm_share_pref, status, created_ms) "
        "VALUES (:name, :roles, :lang, 0, 'active', :now) RETURNING id",
        {"name": name, "roles": ",".join(roles), "lang": lang, "now": now},
    )
    member_id = int(rows[0][0])
    key = await market.keys.create(uow, key_label(member_id))
    await market.ledger.record(
        uow,
        Request(
            actor=key.label,
            kind="member.join",
            body={"member": member_id, "roles": sorted(roles)},
            accounts=[
                AccountSpec(wallet(member_id, "BTL"), "BTL", key.public_key),
                AccountSpec(wallet(member_id, "BNM"), "BNM", key.public_key),
            ],
        ),
    )
    await uow.execute(
        "INSERT INTO member_identities (channel, external_id, member_id, created_ms) VALUES (:c, :e, :m, :now)",
        {"c": channel, "e": external_id, "m": member_id, "now": now},
    )
    return await get(uow, member_id)


async def verified_phone(market: Services, uow: UnitOfWork, member_id: int, raw_phone: str) -> Member:
    """Attach a phone the channel itself vouched for (Telegram's contact button with the user's own id)."""
    return await _attach_phone(market, uow, member_id, validate.phone(raw_phone))


RESEND_AFTER_MS = 60_000  # one new code a minute: with 5 tries a code, guessing 10⁶ codes is hopeless
HOUR_MS = 3_600_000  # the window of the per-number limit (``MarketRules.phone_codes_per_hour``)


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """The outcome of entering a code. A wrong code is an outcome, not an exception: the attempt must
    be committed (an exception would roll the count back and allow guessing without limit)."""

    ok: bool
    member: Member | None
    attempts_left: int


async def request_phone_code(market: Services, uow: UnitOfWork, member_id: int, raw_phone: str) -> str:
    """A 6-digit code to send by SMS (Kakao/web sign-up); only its hash is stored.

    Two floods are refused: one member asking again within a minute (``CodeRequestedRecently``), and
    more than ``rules.phone_codes_per_hour`` codes to one number within the hour, whichever members ask
    (``PhoneCodeLimit``) — so nobody can text-bomb a stranger's phone through us. ``commerce.members.identity``
    sends the code.
    """
    await get(uow, member_id)
    phone = validate.phone(raw_phone)
    now = market.clock()
    ttl = market.rules.phone_code_ttl_s * 1000
    rows = await uow.fetch("SELECT expires_ms FROM phone_codes WHERE member_id = :m", {"m": member_id})
    if rows and int(rows[0][0]) - ttl + RESEND_AFTER_MS > now:
        wait_s = (int(rows[0][0]) - ttl + RESEND_AFTER_MS - now + 999) // 1000
        raise CodeRequestedRecently(f"a code was just sent; a new one can be asked for in {wait_s}s", wait_s=wait_s)
    await _count_send(market, uow, member_id, await market.personal_ref(uow, "phone", phone), now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    await uow.execute(
        "INSERT INTO phone_codes (member_id, phone, code_hash, expires_ms, attempts) "
        "VALUES (:m, :p, :h, :exp, 0) ON CONFLICT (member_id) DO UPDATE SET phone = excluded.phone, "
        "code_hash = excluded.code_hash, expires_ms = excluded.expires_ms, attempts = 0",
        {
            "m": member_id,
            "p": phone,
            "h": await market.personal_ref(uow, "phone-code", phone + code),
            "exp": now + ttl,
        },
    )
    return code


async def forget_code_sends(uow: UnitOfWork, now_ms: int) -> int:
    """Forget the code sends the hourly limit no longer looks at, for every number (a number asked for
    again is tidied then anyway): they only said which member asked codes for which (hashed) number, when."""
    gone = await uow.fetch(
        "DELETE FROM phone_code_sends WHERE sent_ms <= :since RETURNING phone_hash", {"since": now_ms - HOUR_MS}
    )
    return len(gone)


async def _count_send(market: Services, uow: UnitOfWork, member_id: int, phone_hash: str, now: int) -> None:
    """Count one more code to this number, or refuse with the wait until the hour's oldest one ages out."""
    if uow.dialect == "postgresql":  # one asker per number at a time: concurrent askers cannot both pass
        await uow.fetch("SELECT pg_advisory_xact_lock(hashtextextended(:h, 0))", {"h": phone_hash})
    since = now - HOUR_MS
    _gone, recent = await uow.batch(
        [
            write(
                "DELETE FROM phone_code_sends WHERE phone_hash = :h AND sent_ms <= :since",
                {"h": phone_hash, "since": since},
            ),
            read(
                "SELECT sent_ms FROM phone_code_sends WHERE phone_hash = :h AND sent_ms > :since ORDER BY sent_ms",
                {"h": phone_hash, "since": since},
            ),
        ]
    )
    limit = market.rules.phone_codes_per_hour
    if len(recent) >= limit:
        wait_s = max(1, (int(recent[-limit][0]) + HOUR_MS - now + 999) // 1000)
        raise PhoneCodeLimit(f"{limit} codes went to this number within the hour; wait {wait_s}s", wait_s=wait_s)
    await uow.execute(
        "INSERT INTO phone_code_sends (phone_hash, member_id, sent_ms) VALUES (:h, :m, :now)",
        {"h": phone_hash, "m": member_id, "now": now},
    )


_PHONE_CODE = Statement.of(
    select(phone_codes.c.phone, phone_codes.c.code_hash, phone_codes.c.expires_ms, phone_codes.c.attempts).where(
        phone_codes.c.member_id == bindparam("m")
    )
)


async def confirm_phone_code(market: Services, uow: UnitOfWork, member_id: int, code: str) -> CodeCheck:
    """Check a code; the caller commits either way (a wrong try is counted, five end the code)."""
    rows = await uow.fetch(_PHONE_CODE.sql, {"m": member_id})
    if not rows:
        raise CodeExpired("no code was requested; ask for a new one", member=member_id)
    sent = _PHONE_CODE.named(rows[0])
    phone, attempts = str(sent["phone"]), int(sent["attempts"])
    limit = market.rules.phone_code_attempts
    if int(sent["expires_ms"]) < market.clock() or attempts >= limit:
        raise CodeExpired("that code has expired; ask for a new one", member=member_id)
    expected = await market.personal_ref(uow, "phone-code", phone + str(code).strip())
    if not hmac.compare_digest(expected, str(sent["code_hash"])):
        # Counted atomically, so concurrent guesses cannot share one attempt.
        counted = await uow.fetch(
            "UPDATE phone_codes SET attempts = attempts + 1 WHERE member_id = :m RETURNING attempts", {"m": member_id}
        )
        return CodeCheck(False, None, max(0, limit - int(counted[0][0])))
    await uow.execute("DELETE FROM phone_codes WHERE member_id = :m", {"m": member_id})
    return CodeCheck(True, await _attach_phone(market, uow, member_id, phone), limit - attempts)


async def _attach_phone(market: Services, uow: UnitOfWork, member_id: int, phone: str) -> Member:
    member = await get(uow, member_id)
    if member.phone == phone:
        return member
    holder = await by_phone(uow, phone)
    phone_hash = await market.personal_ref(uow, "phone", phone)
    if holder is not None and holder.id != member.id:
        return await _merge_into(market, uow, member, holder)
    await uow.execute(
        "UPDATE members SET phone = :p, phone_hash = :h WHERE id = :m", {"p": phone, "h": phone_hash, "m": member.id}
    )
    await market.ledger.record(
        uow,
        Request(actor=member.key_label, kind="member.phone_verified", body={"member": member.id, "phone": phone_hash}),
    )
    return await get(uow, member.id)


async def _merge_into(market: Services, uow: UnitOfWork, fresh: Member, holder: Member) -> Member:
    """Link a fresh member's channel identity to the member who already holds the phone."""
    activity = await uow.batch(
        [
            read("SELECT COUNT(*) FROM orders WHERE buyer_id = :m", {"m": fresh.id}),
            read("SELECT COUNT(*) FROM shops WHERE owner_id = :m", {"m": fresh.id}),
            reads.turnover_op([wallet(fresh.id, "BTL"), wallet(fresh.id, "BNM")]),
        ]
    )
    if any(int(rows[0][0]) for rows in activity):
        raise PhoneInUse(
            "this phone belongs to another member and this account already has activity; "
            "please ask the market office to merge them",
            member=fresh.id,
        )
    await uow.batch(
        [
            write(
                "UPDATE member_identities SET member_id = :to WHERE member_id = :frm",
                {"to": holder.id, "frm": fresh.id},
            ),
            write(
                "UPDATE members SET status = 'merged', merged_into = :to WHERE id = :frm",
                {"to": holder.id, "frm": fresh.id},
            ),
        ]
    )
    await market.ledger.record(
        uow,
        Request(actor="system:operator", kind="member.link", body={"member": holder.id, "merged": fresh.id}),
    )
    return holder


async def grant_role(market: Services, uow: UnitOfWork, operator_id: int, member_id: int, role: str) -> Member:
    operator = await require_role(uow, operator_id, "operator")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {ROLES}", field="role")
    member = await get(uow, member_id)
    if member.has(role):
        return member
    await uow.execute(
        "UPDATE members SET roles = :r WHERE id = :m", {"r": ",".join(sorted(member.roles | {role})), "m": member.id}
    )
    await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="member.role_granted",
            body={"member": member.id, "role": role, "by": operator.id},
        ),
    )
    return await get(uow, member.id)


async def make_operator(market: Services, uow: UnitOfWork, member_id: int) -> Member:
    """Bootstrap the first operator (CLI / demo): the cooperative's own key signs the grant."""
    member = await get(uow, member_id)
    await uow.execute(
        "UPDATE members SET roles = :r WHERE id = :m",
        {"r": ",".join(sorted(member.roles | {"operator"})), "m": member.id},
    )
    await market.ledger.record(
        uow,
        Request(actor="system:operator", kind="member.role_granted", body={"member": member.id, "role": "operator"}),
    )
    return await get(uow, member.id)


async def set_preferences(
    uow: UnitOfWork,
    member_id: int,
    *,
    lang: str | None = None,
    bnm_share_pref: int | None = None,
    region: str | None = None,
) -> Member:
    member = await get(uow, member_id)
    if lang is not None and lang not in ("ko", "en"):
        raise InvalidInput("language must be ko or en", field="lang")
    share = (
        member.bnm_share_pref
        if bnm_share_pref is None
        else validate.whole_number(bnm_share_pref, "bnm_share_pref", low=0, high=100)
    )
    await uow.execute(
        "UPDATE members SET lang = :lang, bnm_share_pref = :share, region = :region WHERE id = :m",
        {
            "lang": lang or member.lang,
            "share": share,
            "region": validate.text(region, "region", max_len=64) if region is not None else member.region,
            "m": member.id,
        },
    )
    return await get(uow, member.id)
