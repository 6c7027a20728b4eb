"""Phone-verified members for tests: paying, cashing out and trading BNM need a verified phone.

``verify_phone`` gives a member a phone the way Telegram's contact button does (the channel vouched
for it), through the real service: a unique number per member unless one is given.
"""

from __future__ import annotations

from chestnut.bootstrap import App
from commerce.delivery import addresses
from commerce.members import service as members
from commerce.members.rows import Member
from ledger.storage.unit_of_work import UnitOfWork
from tests.support.chat import ChatUser


def phone_of(member_id: int) -> str:
    """A test number no two members share (010-9xxx-xxxx, kept clear of the numbers tests type)."""
    return f"0109{member_id:07d}"


HOME = "경기 수원시 팔달구 매산로 1"  # inside the test shops' area (수원시)


async def verify(
    app: App, uow: UnitOfWork, member_id: int, phone: str | None = None, *, address: bool = True
) -> Member:
    """Inside the caller's unit of work: a member ready to pay, as the chat makes one before the first
    payment — a verified phone and (unless ``address=False``) a saved home address in 수원시."""
    member = await members.verified_phone(app.services, uow, member_id, phone or phone_of(member_id))
    if address and not await addresses.list_for(uow, member.id):
        await addresses.add(app.services, uow, member.id, label="집", text=HOME, detail="101동 1203호")
    return member


async def verify_phone(app: App, member_id: int, phone: str | None = None) -> Member:
    """In a unit of work of its own, committed."""
    async with app.db.unit_of_work() as uow:
        member = await verify(app, uow, member_id, phone)
        await uow.commit()
    return member


async def verify_user(app: App, user: ChatUser, phone: str | None = None) -> Member:
    """A chat user's member (registered by their first message), phone-verified."""
    async with app.db.snapshot() as snap:
        found = await members.by_identity(snap, user.channel, user.user_id)
    if found is None:
        await user.send("/start")
        async with app.db.snapshot() as snap:
            found = await members.by_identity(snap, user.channel, user.user_id)
    assert found is not None
    return await verify_phone(app, found.id, phone)
