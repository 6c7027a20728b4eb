"""Identity levels: how well the cooperative knows a member, and what each level allows.

=============  ==============================================================  =============================
level          how a member reaches it                                          what it allows (at least)
=============  ==============================================================  =============================
unverified     first contact on any channel                                     browse, cart, ask, top up
phone          a phone of their own: Telegram's contact share of the sender's   pay for orders, cash out,
               own number, or a one-time code sent by SMS (Kakao, web chat)     trade BNM, start ad campaigns
operator       the market office saw them (ID card, business number) and gave   sell (an approved shop),
               them a role: producers (``shops.verify_shop``), couriers and     deliver, run the office
               operators (``members.grant_role``)
=============  ==============================================================  =============================

Each level includes the ones below: the office's check in person is stronger than a phone. The level
is computed one way (``level_of``, from the member row: its phone and its roles) and checked one way
(``require``, raising ``IdentityRequired`` with the level needed), in the services — a chat only
phrases the refusal. Selling also needs the shop itself approved (``catalog.add_product`` and orders
refuse a shop the office has not verified: ``ShopNotVerified``).

A code goes out through ``send_phone_code``: by SMS when an ``SmsSender`` is configured, else handed
back for development and test chats to show (``reveal``); production without an SMS sender refuses
before anything is written (``SmsNotConfigured``) and the chat offers Telegram's contact button or the
market office instead, where an operator who saw the member's handset records the phone
(``phone_checked_at_office``).
"""

from __future__ import annotations

from enum import IntEnum

from commerce import validate
from commerce.members import service as members
from commerce.members.errors import IdentityRequired, SmsNotConfigured
from commerce.members.rows import Member
from commerce.services import Services
from ledger.storage.unit_of_work import UnitOfWork


class Level(IntEnum):
    UNVERIFIED = 0
    PHONE = 1
    OPERATOR = 2

    @property
    def code(self) -> str:
        """The stable word for programs and catalogues: unverified | phone | operator."""
        return self.name.lower()


UNVERIFIED, PHONE, OPERATOR = Level.UNVERIFIED, Level.PHONE, Level.OPERATOR
OPERATOR_ROLES = frozenset({"producer", "courier", "operator"})  # only an operator grants these


def level_of(member: Member) -> Level:
    if member.roles & OPERATOR_ROLES:
        return OPERATOR
    if member.phone:
        return PHONE
    return UNVERIFIED


def require(member: Member, needed: Level, *, action: str) -> Member:
    """The member, if their level is at least ``needed`` for ``action`` (pay, cashout, bnm_trade, …)."""
    have = level_of(member)
    if have < needed:
        raise IdentityRequired(
            f"{action} needs a {needed.code}-verified member; member {member.id} is {have.code}",
            member=member.id,
            needed=needed.code,
            have=have.code,
            action=action,
        )
    return member


# What the SMS says. Commerce's own words (not the chat's catalogue): it is the cooperative writing.
CODE_TEXTS = {
    "ko": "[밤나무장터] 인증번호 {code}\n{minutes}분 안에 적어 주세요. 다른 사람에게 알려 주지 마세요.",
    "en": "[Chestnut market] Your code is {code}.\nType it within {minutes} minutes. Never tell it to anyone.",
}


async def send_phone_code(
    market: Services, uow: UnitOfWork, member_id: int, raw_phone: str, *, reveal: bool = False
) -> str | None:
    """Ask for a code for ``raw_phone`` and text it; ``None`` once the SMS gateway has taken it.

    Without an SMS sender the code is returned when ``reveal`` (development and test chats show it),
    else ``SmsNotConfigured`` before anything is written. The SMS goes out before the caller commits:
    if sending fails (``commerce.members.sms`` errors) the code and its count roll back, so a failed send does
    not use up the number's hourly allowance.
    """
    if market.sms is None and not reveal:
        raise SmsNotConfigured("no SMS sender is configured: verify by Telegram or at the market office")
    member = await members.get(uow, member_id)
    code = await members.request_phone_code(market, uow, member.id, raw_phone)
    if market.sms is None:
        return code
    text = CODE_TEXTS.get(member.lang, CODE_TEXTS["ko"])
    await market.sms.send(
        validate.phone(raw_phone), text.format(code=code, minutes=market.rules.phone_code_ttl_s // 60)
    )
    return None


async def phone_checked_at_office(
    market: Services, uow: UnitOfWork, operator_id: int, member_id: int, raw_phone: str
) -> Member:
    """An operator saw the member's own handset at the counter: the phone counts as verified.

    The same linking as any verified phone (a number another member holds joins the two, or is refused
    with ``PhoneInUse`` once this account has activity).
    """
    await members.require_role(uow, operator_id, "operator")
    return await members.verified_phone(market, uow, member_id, raw_phone)
