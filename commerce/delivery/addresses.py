"""A member's address book: up to five places goods can go, each with a label (집, 딸네 집), the 동/호수
line, who receives there (the member themself unless changed) and, for a shared location, where it is.

Addresses are personal data: they stay in this table, the ledger only ever carries ``ref`` (a salted
hash), and an order's copy of its address (``fulfilment``) is shown only to the order's shop and courier.
An address is refused before it is saved when it is empty, longer than 200 characters, has no letters
(only punctuation), or names no district (시/군/구) a shop could serve.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from commerce import schema, validate
from commerce.delivery import districts
from commerce.delivery.errors import AddressBookFull, InvalidAddress, UnknownAddress
from commerce.delivery.rows import ADDRESS_COLUMNS, Address
from commerce.errors import InvalidInput
from commerce.members import service as members
from commerce.services import Services
from commerce.statements import Query, param
from ledger.storage.unit_of_work import UnitOfWork

MAX_ADDRESSES = 5
MAX_TEXT = 200
MAX_DETAIL = 100
_book = schema.addresses
_ADDRESS = select(*(_book.c[name] for name in ADDRESS_COLUMNS))
# The one used last first: it is preselected at the next order.
BOOK = Query(
    _ADDRESS.where(_book.c.member_id == param("m")).order_by(
        func.coalesce(_book.c.used_ms, 0).desc(), _book.c.id.desc()
    )
)
OWN = Query(_ADDRESS.where(_book.c.id == param("a"), _book.c.member_id == param("m")))
COUNT = Query(select(func.count().label("n")).select_from(_book).where(_book.c.member_id == param("m")))


def check_text(text: object) -> tuple[str, str]:
    """The clean address and its region, or ``InvalidAddress`` saying what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidAddress("the address is empty", field="address", reason="empty")
    try:
        clean = validate.text(text, "address", max_len=MAX_TEXT)
    except InvalidInput as exc:
        reason = "too_long" if "longer" in str(exc) else "no_letters"
        raise InvalidAddress(f"the address is not usable: {exc}", field="address", reason=reason) from None
    if not any(ch.isalnum() for ch in clean):
        raise InvalidAddress("the address has no letters or numbers", field="address", reason="no_letters")
    region = districts.region_of(clean)
    if region is None:
        raise InvalidAddress("the address names no 시/군/구", field="address", reason="no_district")
    return clean, region


def split_typed(typed: str) -> tuple[str, str]:
    """An address typed in one message: the street on the first line, the 동/호수 on a second one if any."""
    lines = [line.strip() for line in typed.strip().splitlines() if line.strip()]
    if len(lines) > 1:
        return lines[0], " ".join(lines[1:])
    return (lines[0] if lines else ""), ""


async def list_for(uow: UnitOfWork, member_id: int) -> list[Address]:
    """The member's addresses, the one used last first (it is preselected at the next order)."""
    return [Address.from_row(row) for row in await BOOK.fetch(uow, {"m": member_id})]


async def get_own(uow: UnitOfWork, member_id: int, address_id: int) -> Address:
    rows = await OWN.fetch(uow, {"a": address_id, "m": member_id})
    if not rows:
        raise UnknownAddress(f"member {member_id} has no address {address_id}", address=address_id)
    return Address.from_row(rows[0])


async def _insert(
    market: Services,
    uow: UnitOfWork,
    member_id: int,
    *,
    label: str,
    text: str,
    detail: str,
    region: str,
    location: tuple[int, int] | None,
) -> Address:
    member = await members.get(uow, member_id)
    count = await COUNT.fetch(uow, {"m": member.id})
    if int(count[0]["n"]) >= MAX_ADDRESSES:
        raise AddressBookFull(f"at most {MAX_ADDRESSES} addresses", limit=MAX_ADDRESSES)
    clean_label = validate.text(label, "label", max_len=32)
    clean_detail = validate.text(detail, "detail", max_len=MAX_DETAIL, required=False)
    rows = await uow.fetch(
        "INSERT INTO addresses (member_id, label, text, detail, region, ref, lat_e6, lon_e6, used_ms) "
        "VALUES (:m, :l, :t, :d, :r, :ref, :lat, :lon, :now) RETURNING id",
        {
            "m": member.id,
            "l": clean_label,
            "t": text,
            "d": clean_detail or None,
            "r": region,
            "ref": await market.personal_ref(uow, "address", f"{text}\n{clean_detail}"),
            "lat": location[0] if location else None,
            "lon": location[1] if location else None,
            "now": market.clock(),  # a new address is the one the member means now
        },
    )
    return await get_own(uow, member.id, int(rows[0][0]))


async def add(market: Services, uow: UnitOfWork, member_id: int, *, label: str, text: str, detail: str = "") -> Address:
    """Save a typed address (after the member saw it read back in full)."""
    clean, region = check_text(text)
    return await _insert(market, uow, member_id, label=label, text=clean, detail=detail, region=region, location=None)


async def add_location(
    market: Services, uow: UnitOfWork, member_id: int, *, label: str, latitude: float, longitude: float, text: str
) -> Address:
    """Save a shared location: placed in its district (``districts.region_near``); ``text`` names it for
    people ("공유한 위치 (서울 마포구)"), the courier gets the exact point as a map link."""
    region = region_of_location(latitude, longitude)
    location = (round(latitude * 1e6), round(longitude * 1e6))
    clean = validate.text(text, "address", max_len=MAX_TEXT)
    return await _insert(market, uow, member_id, label=label, text=clean, detail="", region=region, location=location)


def region_of_location(latitude: float, longitude: float) -> str:
    region = districts.region_near(latitude, longitude)
    if region is None:
        raise InvalidAddress("no known district near that location", field="location", reason="unknown_place")
    return region


async def set_detail(uow: UnitOfWork, member_id: int, address_id: int, detail: str) -> Address:
    """The 동/호수 line, added to a saved address (a shared location has none at first)."""
    found = await get_own(uow, member_id, address_id)
    clean = validate.text(detail, "detail", max_len=MAX_DETAIL)
    await uow.execute("UPDATE addresses SET detail = :d WHERE id = :a", {"d": clean, "a": found.id})
    return await get_own(uow, member_id, found.id)


async def set_recipient(
    uow: UnitOfWork, member_id: int, address_id: int, *, name: str | None, phone: str | None
) -> Address:
    """Who receives at this address (a parent, say); both None: the member themself again."""
    found = await get_own(uow, member_id, address_id)
    clean_name = validate.text(name, "recipient_name", max_len=64) if name is not None else None
    clean_phone = validate.phone(phone) if phone is not None else None
    await uow.execute(
        "UPDATE addresses SET recipient_name = :n, recipient_phone = :p WHERE id = :a",
        {"n": clean_name, "p": clean_phone, "a": found.id},
    )
    return await get_own(uow, member_id, found.id)


async def remove(uow: UnitOfWork, member_id: int, address_id: int) -> None:
    found = await get_own(uow, member_id, address_id)
    await uow.execute("DELETE FROM addresses WHERE id = :a", {"a": found.id})
    await uow.execute("UPDATE cart_choices SET address_id = NULL WHERE address_id = :a", {"a": found.id})


def parse_recipient(typed: str) -> tuple[str, str]:
    """ "이영자 010-1234-5678" (either order, one message) → (name, phone); refuses what lacks either."""
    found = re.search(r"(\+?82[\s-]?)?0?1[016789][\s\-.]?\d{3,4}[\s\-.]?\d{4}", typed)
    if found is None:
        raise InvalidInput("a name and a mobile number, please", field="phone")
    phone = validate.phone(found.group(0))
    name = (typed[: found.start()] + " " + typed[found.end() :]).strip(" ,/")
    return validate.text(" ".join(name.split()), "recipient_name", max_len=64), phone
