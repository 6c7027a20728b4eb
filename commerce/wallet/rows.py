"""Top-ups, bank accounts and cash-outs as they are stored (``commerce.schema``): frozen dataclasses, one
mapper per table, each reading its row by column name."""

from __future__ import annotations

from dataclasses import dataclass, fields

from commerce.statements import Named


@dataclass(frozen=True, slots=True)
class Topup:
    id: str  # the gateway order id (or office-<receipt>)
    member_id: int
    amount: int
    method: str  # office | gateway
    status: str  # requested | confirmed | failed
    payment_key: str | None
    seq: int | None  # the cash.topup entry, once confirmed

    @classmethod
    def from_row(cls, row: Named) -> Topup:
        return cls(**{name: row[name] for name in TOPUP_COLUMNS})


@dataclass(frozen=True, slots=True)
class BankAccount:
    id: int
    member_id: int
    bank_code: str
    account_masked: str  # "****-5678": enough for a chat to say which account
    holder: str

    @classmethod
    def from_row(cls, row: Named) -> BankAccount:
        """From a row of ``BANK_ACCOUNT_COLUMNS``: the number itself never leaves this mapper."""
        return cls(row["id"], row["member_id"], row["bank_code"], mask(row["account_no"]), row["holder"])


def mask(account_no: str) -> str:
    digits = account_no.replace("-", "")
    return "****-" + digits[-4:]


@dataclass(frozen=True, slots=True)
class Cashout:
    id: int
    member_id: int
    bank_account_id: int
    amount: int
    status: str  # pending | paid | failed
    transfer_id: str  # the pending ledger transfer holding the BTL
    seq: int  # the cash.cashout entry
    reason: str | None

    @classmethod
    def from_row(cls, row: Named) -> Cashout:
        return cls(**{name: row[name] for name in CASHOUT_COLUMNS})


TOPUP_COLUMNS = tuple(f.name for f in fields(Topup))
BANK_ACCOUNT_COLUMNS = ("id", "member_id", "bank_code", "account_no", "holder")
CASHOUT_COLUMNS = tuple(f.name for f in fields(Cashout))
