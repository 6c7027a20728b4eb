"""The one table of reward settings: what each contribution earns, the emission budget, and the rules
of recommendations and brokering — with defaults here, overridden row by row by an operator.

Every change is an operator-signed ``reward.setting`` entry, so anyone can see on the ledger what the
cooperative decided and when; the table only keeps the current values for the services to read.
"""

from __future__ import annotations

from collections.abc import Mapping

from commerce import validate
from commerce.errors import InvalidInput
from commerce.members import service as members
from commerce.services import Services
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork

# key → (default, highest allowed). BNM amounts in units (1 BNM = 1,000 units).
DEFAULTS: Mapping[str, tuple[int, int]] = {
    "courier_delivery_units": (500, 10**9),  # per delivered order, to its courier
    "review_units": (200, 10**9),  # per verified review (a buyer's review of a delivered line)
    "checkpoint_cosign_units": (50, 10**9),  # per checkpoint a replica operator cosigned
    "first_order_units": (1_000, 10**9),  # to a new member for the first order that settles
    "emission_budget_units": (1_000_000, 10**12),  # all contribution rewards of one month (Korea time)
    "broker_bp": (200, 2_000),  # a credited comment's author: share of the goods' value (≤ 20 %)
    "referral_window_days": (14, 365),  # a purchase within this long of the last share pays the recommender
    "fresh_account_minutes": (30, 10_080),  # recommending or brokering this soon after joining is held
    "shared_phone_accounts": (3, 100),  # a phone behind this many accounts raises a signal
}


async def current(uow: UnitOfWork) -> dict[str, int]:
    """Every setting's value now: the operator's where set, the default otherwise."""
    values = {key: default for key, (default, _high) in DEFAULTS.items()}
    for key, value in await uow.fetch("SELECT key, value FROM reward_settings"):
        if key in values:
            values[str(key)] = int(value)
    return values


async def value(uow: UnitOfWork, key: str) -> int:
    if key not in DEFAULTS:
        raise InvalidInput(f"no reward setting {key!r}", field="key")
    rows = await uow.fetch("SELECT value FROM reward_settings WHERE key = :k", {"k": key})
    return int(rows[0][0]) if rows else DEFAULTS[key][0]


async def change(market: Services, uow: UnitOfWork, operator_id: int, key: str, new_value: int) -> int:
    """An operator sets one value (ledgered); returns the entry's sequence number."""
    operator = await members.require_role(uow, operator_id, "operator")
    if key not in DEFAULTS:
        raise InvalidInput(f"no reward setting {key!r}; one of {sorted(DEFAULTS)}", field="key")
    checked = validate.whole_number(new_value, key, low=0, high=DEFAULTS[key][1])
    recorded = await market.ledger.record(
        uow,
        Request(
            actor="system:operator",
            kind="reward.setting",
            body={"key": key, "value": checked, "by": operator.id},
        ),
    )
    await uow.execute(
        "INSERT INTO reward_settings (key, value, updated_ms, seq) VALUES (:k, :v, :now, :seq) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms, seq = excluded.seq",
        {"k": key, "v": checked, "now": market.clock(), "seq": recorded.seq},
    )
    return recorded.seq
