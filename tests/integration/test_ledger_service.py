"""The ledger service on SQLite and PostgreSQL: accounts, transfers, two-phase, retries, refusals.

Every refusal is checked three ways: the exception type, its stable ``code`` and the figures in its
``data``; and that the database is *exactly* as before. For that last part the unit of work is
committed even after the refusal (see ``refused``): the service must raise before it writes anything,
so even a caller that commits anyway finds nothing of the refused call — a stronger check than
letting the unit of work roll back.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from nacl.signing import SigningKey

from chestnut.bootstrap import App
from ledger import merkle, reads
from ledger.book import AccountState
from ledger.canonical import canonical_json
from ledger.errors import (
    AccountExists,
    BadSignature,
    ChestnutError,
    EntryTooLarge,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAmount,
    MalformedAction,
    PendingTransferError,
    ProofError,
    SequenceReplay,
    TokenMismatch,
    TransferExists,
    Unauthorized,
    UnknownAccount,
    UnknownKey,
)
from ledger.model import (
    ACTION_PREFIX,
    MAX_AMOUNT,
    AccountSpec,
    Action,
    Transfer,
    b64,
    split_entry,
)
from ledger.note import Verifier
from ledger.receipt import verify_receipt
from ledger.requests import Recorded, Request, SignedAction
from ledger.storage.unit_of_work import UnitOfWork
from ledger.verify import verify_ledger

OP = "system:operator"
M1, M2, M3 = "member:1", "member:2", "member:3"
W1B, W1N = "wallet:m1:btl", "wallet:m1:bnm"
W2B, W2N = "wallet:m2:btl", "wallet:m2:bnm"
W3B = "wallet:m3:btl"
ESCROW = "escrow:order:1"
CASH, TREASURY = "reserve:cash", "treasury:bnm"

# ------------------------------------------------------------------------------------------ helpers

_TABLES = {
    "head": "SELECT id, size, last_hash, frontier, rules FROM ledger_head ORDER BY id",
    "entries": "SELECT seq, leaf_hash, entry, kind, actor, nodes FROM ledger_entries ORDER BY seq",
    "accounts": "SELECT id, token, flags, owner, debits_posted, credits_posted, debits_pending, "
    "credits_pending, opened_seq FROM ledger_accounts ORDER BY id",
    "transfers": "SELECT id, seq, type, debit, credit, token, amount, pending_id, state, timeout_ms, actor "
    "FROM ledger_transfers ORDER BY id",
    "actors": "SELECT public_key, last_seq FROM ledger_actors ORDER BY public_key",
    "idempotency": "SELECT key, request_hash, seq FROM ledger_idempotency ORDER BY key",
    "keys": "SELECT public_key, label, sealed, master_key_id FROM ledger_keys ORDER BY label",
    "checkpoints": "SELECT size, root, note FROM ledger_checkpoints ORDER BY size",
}


def _plain(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytes | memoryview | bytearray) else value


async def dump(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every ledger table, in a fresh snapshot, as plain comparable rows."""
    async with app.db.snapshot() as snap:
        return {name: [tuple(_plain(v) for v in row) for row in await snap.fetch(sql)] for name, sql in _TABLES.items()}


async def refused(
    app: App, call: Callable[[UnitOfWork], Awaitable[Any]], exc_type: type[ChestnutError], code: str
) -> ChestnutError:
    """Run ``call`` expecting a refusal of ``exc_type``/``code``; prove the database did not change."""
    before = await dump(app)
    async with app.db.unit_of_work() as uow:
        with pytest.raises(exc_type) as info:
            await call(uow)
        # Commit anyway: a refusal comes before any write, so even this leaves nothing behind.
        await uow.commit()
    assert info.value.code == code, info.value
    assert info.value.message
    after = await dump(app)
    assert after == before
    return info.value


async def rec(app: App, request: Request) -> Recorded:
    async with app.db.unit_of_work() as uow:
        recorded = await app.ledger.record(uow, request)
        await uow.commit()
    return recorded


async def acct(app: App, account_id: str) -> AccountState:
    async with app.db.snapshot() as snap:
        return await app.ledger.account(snap, account_id)


async def balances(app: App, *ids: str) -> dict[str, int]:
    return {i: (await acct(app, i)).balance for i in ids}


async def head_size(app: App) -> int:
    async with app.db.snapshot() as snap:
        return (await app.ledger.head(snap)).size


async def assert_verifies(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, (report.first_bad_seq, report.problem)


async def assert_books_balance(app: App) -> None:
    """Per token all balances sum to zero and no non-issuer account is below zero."""
    async with app.db.snapshot() as snap:
        rows = await snap.fetch(
            "SELECT id, token, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts"
        )
    sums: dict[str, int] = {}
    for account_id, token, dp, cp, dpe, _cpe in rows:
        sums[token] = sums.get(token, 0) + int(cp) - int(dp)
        if account_id not in (CASH, TREASURY):
            assert int(cp) - int(dp) >= 0, account_id
            assert int(cp) - int(dp) - int(dpe) >= 0, account_id
    assert sums == {"BTL": 0, "BNM": 0}


@dataclass
class World:
    k1: bytes
    k2: bytes
    k3: bytes


async def make_world(app: App) -> World:
    """Three members; member 1 opens its own wallets, the operator opens member 2's and an escrow.

    Member 1 gets 10,000 BTL and 5,000 BNM units; nobody else has anything.
    """
    async with app.db.unit_of_work() as uow:
        k1 = await app.keys.create(uow, M1)
        k2 = await app.keys.create(uow, M2)
        k3 = await app.keys.create(uow, M3)
        await uow.commit()
    await rec(
        app,
        Request(
            actor=M1,
            kind="wallet.open",
            accounts=[AccountSpec(W1B, "BTL", k1.public_key), AccountSpec(W1N, "BNM", k1.public_key)],
        ),
    )
    await rec(
        app,
        Request(
            actor=OP,
            kind="wallet.open",
            accounts=[
                AccountSpec(W2B, "BTL", k2.public_key),
                AccountSpec(W2N, "BNM", k2.public_key),
                AccountSpec(W3B, "BTL", k3.public_key),
                AccountSpec(ESCROW, "BTL"),
            ],
        ),
    )
    await rec(
        app,
        Request(
            actor=OP,
            kind="wallet.topup",
            transfers=[
                Transfer("mint-1", CASH, W1B, 10_000, "BTL"),
                Transfer("mint-2", TREASURY, W1N, 5_000, "BNM"),
            ],
        ),
    )
    return World(k1.public_key, k2.public_key, k3.public_key)


def pay(tid: str, debit: str, credit: str, amount: int, unit: str = "BTL", **kw: Any) -> Transfer:
    return Transfer(tid, debit, credit, amount, unit, **kw)


def record_call(app: App, request: Request) -> Callable[[UnitOfWork], Awaitable[Recorded]]:
    async def call(uow: UnitOfWork) -> Recorded:
        return await app.ledger.record(uow, request)

    return call


def submit_call(app: App, signed: SignedAction) -> Callable[[UnitOfWork], Awaitable[Recorded]]:
    async def call(uow: UnitOfWork) -> Recorded:
        return await app.ledger.submit(uow, signed)

    return call


def sign(sk: SigningKey, data: bytes) -> SignedAction:
    return SignedAction(data, bytes(sk.sign(ACTION_PREFIX + data).signature))


def action_obj(sk: SigningKey, seq: int, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "accounts": [],
        "actor": b64(bytes(sk.verify_key)),
        "body": {},
        "kind": "wallet.self",
        "seq": seq,
        "time": 1_700_000_000_000,
        "transfers": [],
        "v": 1,
    }
    obj.update(fields)
    return obj


# ------------------------------------------------------------------------------------ opening accounts


async def test_open_member_owned_and_operator_owned_accounts(app: App) -> None:
    w = await make_world(app)
    w1 = await acct(app, W1B)
    assert (w1.token, w1.owner, w1.flags & 1) == ("BTL", w.k1, 1)
    w2 = await acct(app, W2N)
    assert (w2.token, w2.owner) == ("BNM", w.k2)  # opened by the operator, owned by member 2
    escrow = await acct(app, ESCROW)
    assert (escrow.token, escrow.owner, escrow.balance, escrow.available) == ("BTL", None, 0, 0)
    cash = await acct(app, CASH)
    assert cash.flags & 1 == 0  # the issuer may go negative
    assert cash.balance == -10_000
    assert await balances(app, W1B, W1N, TREASURY) == {W1B: 10_000, W1N: 5_000, TREASURY: -5_000}
    await assert_books_balance(app)
    await assert_verifies(app)


async def test_member_may_not_open_an_unowned_account(app: App) -> None:
    await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor=M1, kind="wallet.open", accounts=[AccountSpec("escrow:order:9", "BTL")])),
        Unauthorized,
        "unauthorized_debit",
    )
    assert exc.data["account"] == "escrow:order:9"


async def test_member_may_not_open_a_wallet_owned_by_someone_else(app: App) -> None:
    w = await make_world(app)
    await refused(
        app,
        record_call(app, Request(actor=M1, kind="wallet.open", accounts=[AccountSpec("wallet:x:btl", "BTL", w.k2)])),
        Unauthorized,
        "unauthorized_debit",
    )


async def test_opening_an_existing_account_is_refused(app: App) -> None:
    w = await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor=M1, kind="wallet.open", accounts=[AccountSpec(W1B, "BTL", w.k1)])),
        AccountExists,
        "account_exists",
    )
    assert exc.data == {"account": W1B}


# ------------------------------------------------------------------------------------ moving money


async def test_mint_payment_and_cash_out_balances_exact(app: App) -> None:
    await make_world(app)
    paid = await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 2_500)]))
    assert not paid.existing
    assert await balances(app, W1B, W2B, CASH) == {W1B: 7_500, W2B: 2_500, CASH: -10_000}
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-2", W1N, W2N, 1_234, "BNM")]))
    assert await balances(app, W1N, W2N, TREASURY) == {W1N: 3_766, W2N: 1_234, TREASURY: -5_000}
    # Cash-out: the member pays the reserve back; BTL in circulation shrinks by exactly that.
    await rec(app, Request(actor=M2, kind="wallet.cashout", transfers=[pay("out-1", W2B, CASH, 1_000)]))
    cash = await acct(app, CASH)
    assert (cash.debits_posted, cash.credits_posted) == (10_000, 1_000)
    assert await balances(app, W1B, W2B) == {W1B: 7_500, W2B: 1_500}
    # Paying every last unit is allowed; a wallet may reach exactly zero.
    await rec(app, Request(actor=M2, kind="shop.pay", transfers=[pay("p-3", W2B, W1B, 1_500)]))
    assert await balances(app, W1B, W2B) == {W1B: 9_000, W2B: 0}
    await assert_books_balance(app)
    await assert_verifies(app)


async def test_pending_then_full_post(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    w1, escrow = await acct(app, W1B), await acct(app, ESCROW)
    assert (w1.balance, w1.available, w1.debits_pending) == (10_000, 7_000, 3_000)
    assert (escrow.balance, escrow.credits_pending) == (0, 3_000)
    await rec(
        app,
        Request(
            actor=OP, kind="order.settle", transfers=[pay("s-1", W1B, ESCROW, 3_000, type="post", pending_id="h-1")]
        ),
    )
    w1, escrow = await acct(app, W1B), await acct(app, ESCROW)
    assert (w1.balance, w1.available, w1.debits_pending, w1.debits_posted) == (7_000, 7_000, 0, 3_000)
    assert (escrow.balance, escrow.credits_pending, escrow.credits_posted) == (3_000, 0, 3_000)
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT state FROM ledger_transfers WHERE id = 'h-1'")
    assert rows == [("posted",)]
    await assert_books_balance(app)
    await assert_verifies(app)


async def test_pending_then_partial_post_releases_the_rest(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    # The maker itself may post its own pending transfer.
    await rec(
        app,
        Request(
            actor=M1, kind="order.accept", transfers=[pay("s-1", W1B, ESCROW, 1_200, type="post", pending_id="h-1")]
        ),
    )
    w1, escrow = await acct(app, W1B), await acct(app, ESCROW)
    assert (w1.balance, w1.available, w1.debits_pending) == (8_800, 8_800, 0)
    assert (escrow.balance, escrow.credits_pending) == (1_200, 0)
    await assert_books_balance(app)
    await assert_verifies(app)


async def test_pending_then_void_restores_everything(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    await rec(
        app,
        Request(
            actor=OP, kind="order.cancel", transfers=[pay("v-1", W1B, ESCROW, 3_000, type="void", pending_id="h-1")]
        ),
    )
    w1, escrow = await acct(app, W1B), await acct(app, ESCROW)
    assert (w1.balance, w1.available, w1.debits_pending, w1.debits_posted) == (10_000, 10_000, 0, 0)
    assert (escrow.balance, escrow.credits_pending, escrow.credits_posted) == (0, 0, 0)
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT state FROM ledger_transfers WHERE id = 'h-1'")
    assert rows == [("voided",)]
    await assert_verifies(app)


@pytest.mark.parametrize(
    ("first", "second"),
    [("post", "post"), ("post", "void"), ("void", "void"), ("void", "post")],
)
async def test_a_pending_transfer_resolves_at_most_once(app: App, first: str, second: str) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    await rec(
        app,
        Request(actor=OP, kind="order.step", transfers=[pay("r-1", W1B, ESCROW, 3_000, type=first, pending_id="h-1")]),
    )
    exc = await refused(
        app,
        record_call(
            app,
            Request(
                actor=OP, kind="order.step", transfers=[pay("r-2", W1B, ESCROW, 3_000, type=second, pending_id="h-1")]
            ),
        ),
        PendingTransferError,
        "pending_transfer_invalid",
    )
    assert exc.data == {"pending_id": "h-1"}
    assert ("posted" if first == "post" else "voided") in exc.message


async def test_posting_more_than_pending_is_refused(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    exc = await refused(
        app,
        record_call(
            app,
            Request(
                actor=OP, kind="order.settle", transfers=[pay("s-1", W1B, ESCROW, 3_001, type="post", pending_id="h-1")]
            ),
        ),
        PendingTransferError,
        "pending_transfer_invalid",
    )
    assert exc.data == {"pending_id": "h-1", "pending_amount": 3_000}


async def test_void_of_a_different_amount_post_of_other_accounts_or_unknown_pending_refused(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 10)]))
    bad = [
        pay("v-1", W1B, ESCROW, 2_999, type="void", pending_id="h-1"),  # a void releases the whole amount
        pay("s-1", W1B, W2B, 3_000, type="post", pending_id="h-1"),  # must repeat the accounts
        pay("s-2", W1B, ESCROW, 3_000, type="post", pending_id="nope"),  # unknown pending
        pay("s-3", W1B, W2B, 10, type="post", pending_id="p-1"),  # a single transfer is not pending
    ]
    for transfer in bad:
        await refused(
            app,
            record_call(app, Request(actor=OP, kind="order.settle", transfers=[transfer])),
            PendingTransferError,
            "pending_transfer_invalid",
        )
    assert (await acct(app, W1B)).debits_pending == 3_000


async def test_only_the_maker_or_the_operator_may_resolve_a_pending_transfer(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 3_000, type="pending")]))
    await refused(
        app,
        record_call(
            app,
            Request(
                actor=M3, kind="order.settle", transfers=[pay("s-1", W1B, ESCROW, 3_000, type="post", pending_id="h-1")]
            ),
        ),
        Unauthorized,
        "unauthorized_debit",
    )


# ------------------------------------------------------------------------------------ retries


async def test_retry_with_same_fields_answers_the_first_result_and_changes_nothing(app: App) -> None:
    await make_world(app)
    request = Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 2_500)])
    first = await rec(app, request)
    before = await dump(app)
    for _ in range(2):
        again = await rec(app, request)
        assert again.existing is True
        assert again.seq == first.seq
        assert again.leaf_hash == first.leaf_hash  # the first result, not a blank
        assert await dump(app) == before
    # A retry of a post is answered the same way.
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 100, type="pending")]))
    post = Request(
        actor=OP, kind="order.settle", transfers=[pay("s-1", W1B, ESCROW, 100, type="post", pending_id="h-1")]
    )
    posted = await rec(app, post)
    before = await dump(app)
    retried = await rec(app, post)
    assert (retried.existing, retried.seq, retried.leaf_hash) == (True, posted.seq, posted.leaf_hash)
    assert await dump(app) == before
    assert await balances(app, W1B, W2B, ESCROW) == {W1B: 7_400, W2B: 2_500, ESCROW: 100}


@pytest.mark.parametrize(
    "changed",
    [
        pay("p-1", W1B, W2B, 2_501),  # amount
        pay("p-1", W1B, W3B, 2_500),  # credit account
        pay("p-1", W1N, W2N, 2_500, "BNM"),  # accounts and token
        pay("p-1", W1B, W2B, 2_500, type="pending"),  # type
    ],
    ids=["amount", "credit", "token", "type"],
)
async def test_same_transfer_id_with_other_fields_is_refused(app: App, changed: Transfer) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 2_500)]))
    exc = await refused(
        app,
        record_call(app, Request(actor=M1, kind="shop.pay", transfers=[changed])),
        TransferExists,
        "transfer_id_conflict",
    )
    assert isinstance(exc, TransferExists)
    assert exc.data == {"transfers": ["p-1"]}


async def test_a_request_mixing_a_used_id_and_a_new_one_is_refused(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 2_500)]))
    exc = await refused(
        app,
        record_call(
            app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 2_500), pay("p-2", W1B, W2B, 1)])
        ),
        TransferExists,
        "transfer_id_conflict",
    )
    assert exc.data == {"transfers": ["p-1"]}


async def test_idempotency_key_same_request_is_answered_other_request_is_refused(app: App) -> None:
    await make_world(app)
    callback = Request(
        actor=OP,
        kind="wallet.topup",
        body={"gateway": "pg", "ref": "cb-1"},
        transfers=[pay("pg-1", CASH, W2B, 500)],
        idempotency_key="pg:cb-1",
    )
    first = await rec(app, callback)
    before = await dump(app)
    again = await rec(app, callback)
    assert (again.existing, again.seq, again.leaf_hash) == (True, first.seq, first.leaf_hash)
    assert await dump(app) == before
    other = Request(
        actor=OP,
        kind="wallet.topup",
        body={"gateway": "pg", "ref": "cb-1"},
        transfers=[pay("pg-2", CASH, W2B, 5_000)],
        idempotency_key="pg:cb-1",
    )
    exc = await refused(app, record_call(app, other), IdempotencyConflict, "idempotency_conflict")
    assert exc.data == {"key": "pg:cb-1"}
    assert await balances(app, W2B) == {W2B: 500}


async def test_idempotency_key_covers_actions_without_transfers(app: App) -> None:
    await make_world(app)
    note = Request(actor=M1, kind="chat.note", body={"text": "hello"}, idempotency_key="tg:update:77")
    first = await rec(app, note)
    size = await head_size(app)
    again = await rec(app, note)
    assert (again.existing, again.seq) == (True, first.seq)
    assert await head_size(app) == size
    # Without the key the same action is simply a new entry.
    plain = await rec(app, Request(actor=M1, kind="chat.note", body={"text": "hello"}))
    assert (plain.existing, plain.seq) == (False, size)
    await refused(
        app,
        record_call(app, Request(actor=M1, kind="chat.note", body={"text": "other"}, idempotency_key="tg:update:77")),
        IdempotencyConflict,
        "idempotency_conflict",
    )


# ------------------------------------------------------------------------------------ atomicity


async def test_linked_transfers_all_or_nothing(app: App) -> None:
    await make_world(app)
    linked = Request(
        actor=M1,
        kind="shop.pay",
        transfers=[pay("link-a", W1B, W2B, 100), pay("link-b", W1B, W2B, 20_000)],
    )
    exc = await refused(app, record_call(app, linked), InsufficientBalance, "insufficient_balance")
    # The second transfer saw the first one applied (in memory): 9,900 left.
    assert exc.data == {"account": W1B, "token": "BTL", "needed": 20_000, "have": 9_900, "missing": 10_100}
    # The first id was not burned: it can still be used alone.
    ok = await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("link-a", W1B, W2B, 100)]))
    assert not ok.existing
    assert await balances(app, W1B, W2B) == {W1B: 9_900, W2B: 100}
    await assert_verifies(app)


async def test_per_actor_sequence_numbers_count_1_2_3(app: App) -> None:
    w = await make_world(app)
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 1)]))
    await refused(  # a refused action does not use up a sequence number
        app,
        record_call(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-x", W1B, W2B, 99_999)])),
        InsufficientBalance,
        "insufficient_balance",
    )
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-2", W1B, W2B, 1)]))
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT seq, entry, actor FROM ledger_entries ORDER BY seq")
        last = await snap.fetch("SELECT last_seq FROM ledger_actors WHERE public_key = :pk", {"pk": w.k1})
    by_actor: dict[bytes, list[int]] = {}
    for _seq, entry, actor in rows:
        action = Action.decode(split_entry(bytes(entry)).action_bytes)
        assert action.actor == bytes(actor)
        by_actor.setdefault(action.actor, []).append(action.seq)
    assert by_actor[w.k1] == [1, 2, 3]
    for seqs in by_actor.values():  # every actor, the operator included, counts from 1 without gaps
        assert seqs == list(range(1, len(seqs) + 1))
    assert [tuple(r) for r in last] == [(3,)]


async def test_each_actors_entries_are_a_chain_from_their_latest(app: App) -> None:
    """A member's page lists their latest entries by walking back from ``ledger_actors.last_entry``
    along ``actor_prev``: the chain must hold exactly each actor's entries, newest first, through
    appends one at a time and several in one call."""
    w = await make_world(app)
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("c-1", W1B, W2B, 1)]))
    await rec(app, Request(actor=M2, kind="shop.pay", transfers=[pay("c-2", W2B, W1B, 1)]))
    async with app.db.unit_of_work() as uow:
        await app.ledger.record_many(
            uow, [Request(actor=M1, kind="shop.pay", transfers=[pay(f"c-3{i}", W1B, W2B, 1)]) for i in range(3)]
        )
        await uow.commit()
    await rec(app, Request(actor=M2, kind="shop.pay", transfers=[pay("c-4", W2B, W1B, 1)]))
    async with app.db.snapshot() as snap:
        for key in (w.k1, w.k2):
            expected = [
                int(r[0])
                for r in await snap.fetch(
                    "SELECT seq FROM ledger_entries WHERE actor = :k ORDER BY seq DESC", {"k": key}
                )
            ]
            walked = await reads.latest_entries_of(snap, key, 100)
            assert walked == expected and len(expected) >= 2
            assert await reads.latest_entries_of(snap, key, 2) == expected[:2]
        assert await reads.latest_entries_of(snap, b"\x00" * 32, 5) == []  # no entries: none listed


async def test_record_many_appends_a_contiguous_run_in_one_transaction(app: App) -> None:
    await make_world(app)
    start = await head_size(app)
    old = await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("old", W1B, W2B, 1)]))
    start += 1
    batch = [
        Request(actor=M1, kind="shop.pay", transfers=[pay("b-1", W1B, W2B, 10)]),
        Request(actor=M2, kind="shop.pay", transfers=[pay("b-2", W2B, W3B, 5)]),  # spends what b-1 brought
        Request(actor=M1, kind="shop.pay", transfers=[pay("old", W1B, W2B, 1)]),  # a retry inside the batch
        Request(actor=M1, kind="shop.pay", transfers=[pay("b-3", W1B, W3B, 20)]),
    ]
    # Rolled back: nothing of the batch remains.
    before = await dump(app)
    async with app.db.unit_of_work() as uow:
        await app.ledger.record_many(uow, batch)
    assert await dump(app) == before
    async with app.db.unit_of_work() as uow:
        out = await app.ledger.record_many(uow, batch)
        await uow.commit()
    assert [(r.seq, r.existing) for r in out] == [
        (start, False),
        (start + 1, False),
        (old.seq, True),
        (start + 2, False),
    ]
    assert out[2].leaf_hash == old.leaf_hash
    assert await head_size(app) == start + 3
    assert await balances(app, W1B, W2B, W3B) == {W1B: 10_000 - 31, W2B: 1 + 10 - 5, W3B: 25}
    async with app.db.snapshot() as snap:
        entries = await app.ledger.entries(snap, start - 1, start + 3)
    prev_leaf = merkle.leaf_hash(entries[0][1])
    for (seq, entry), result in zip(entries[1:], [out[0], out[1], out[3]], strict=True):
        parts = split_entry(entry)
        assert parts.seq == seq == result.seq
        assert parts.prev == prev_leaf  # the run is chained
        prev_leaf = merkle.leaf_hash(entry)
        assert prev_leaf == result.leaf_hash
    m1_seqs = [Action.decode(split_entry(e).action_bytes).seq for _s, e in entries[1:] if b'"kind":"shop.pay"' in e]
    assert m1_seqs == [3, 1, 4]  # member 1: open, old, then b-1 and b-3 (member 2's first action is 1)
    await assert_verifies(app)


@pytest.mark.parametrize("k", [0, 2, 4])
async def test_a_failure_in_item_k_of_a_batch_leaves_nothing_of_the_batch(app: App, k: int) -> None:
    await make_world(app)
    batch = [Request(actor=M1, kind="shop.pay", transfers=[pay(f"b-{i}", W1B, W2B, 10)]) for i in range(5)]
    batch[k] = Request(actor=M1, kind="shop.pay", transfers=[pay(f"b-{k}", W1B, W2B, 1_000_000)])

    async def call(uow: UnitOfWork) -> list[Recorded]:
        return await app.ledger.record_many(uow, batch)

    exc = await refused(app, call, InsufficientBalance, "insufficient_balance")
    assert exc.data["have"] == 10_000 - 10 * k  # earlier items were applied in memory, then dropped
    assert await balances(app, W1B, W2B) == {W1B: 10_000, W2B: 0}


# ------------------------------------------------------------------------------------ bad inputs


async def test_overdraw_is_refused_with_the_figures(app: App) -> None:
    await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 10_001)])),
        InsufficientBalance,
        "insufficient_balance",
    )
    assert exc.data == {"account": W1B, "token": "BTL", "needed": 10_001, "have": 10_000, "missing": 1}


async def test_overdraw_counts_pending_debits(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=M1, kind="order.pay", transfers=[pay("h-1", W1B, ESCROW, 9_000, type="pending")]))
    for transfer in (pay("p-1", W1B, W2B, 1_001), pay("h-2", W1B, ESCROW, 1_001, type="pending")):
        exc = await refused(
            app,
            record_call(app, Request(actor=M1, kind="shop.pay", transfers=[transfer])),
            InsufficientBalance,
            "insufficient_balance",
        )
        assert exc.data == {"account": W1B, "token": "BTL", "needed": 1_001, "have": 1_000, "missing": 1}


async def test_member_wallet_with_nothing_cannot_pay_one_unit(app: App) -> None:
    await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor=M2, kind="shop.pay", transfers=[pay("p-1", W2B, W1B, 1)])),
        InsufficientBalance,
        "insufficient_balance",
    )
    assert (exc.data["have"], exc.data["missing"]) == (0, 1)


async def test_unknown_key_is_refused(app: App) -> None:
    await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor="member:never-created", kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 1)])),
        UnknownKey,
        "unknown_key",
    )
    assert exc.data == {"label": "member:never-created"}


async def test_signed_action_by_a_self_custody_member(app: App) -> None:
    """The happy path of ``submit``, which the refusals below are measured against."""
    await make_world(app)
    sk = SigningKey.generate()
    own = AccountSpec("wallet:self:btl", "BTL", bytes(sk.verify_key))
    opened = await _submit(app, sign(sk, canonical_json(action_obj(sk, 1, accounts=[own.to_json()]))))
    assert not opened.existing
    await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, "wallet:self:btl", 700)]))
    spend = action_obj(sk, 2, kind="shop.pay", transfers=[pay("p-2", "wallet:self:btl", W2B, 300).to_json()])
    await _submit(app, sign(sk, canonical_json(spend)))
    assert await balances(app, "wallet:self:btl", W2B) == {"wallet:self:btl": 400, W2B: 300}
    await assert_verifies(app)


async def _submit(app: App, signed: SignedAction) -> Recorded:
    async with app.db.unit_of_work() as uow:
        out = await app.ledger.submit(uow, signed)
        await uow.commit()
    return out


async def _self_custody(app: App) -> SigningKey:
    sk = SigningKey.generate()
    own = AccountSpec("wallet:self:btl", "BTL", bytes(sk.verify_key))
    await _submit(app, sign(sk, canonical_json(action_obj(sk, 1, accounts=[own.to_json()]))))
    await rec(app, Request(actor=OP, kind="wallet.topup", transfers=[pay("mint-s", CASH, "wallet:self:btl", 700)]))
    return sk


async def test_signed_action_signed_by_another_key_is_refused(app: App) -> None:
    await make_world(app)
    sk = await _self_custody(app)
    thief = SigningKey.generate()
    data = canonical_json(
        action_obj(sk, 2, kind="shop.pay", transfers=[pay("p-1", "wallet:self:btl", W2B, 700).to_json()])
    )
    exc = await refused(app, submit_call(app, sign(thief, data)), BadSignature, "bad_signature")
    assert "signature" in exc.message
    # A signature over other bytes (the same action, another amount) does not carry over either.
    other = canonical_json(
        action_obj(sk, 2, kind="shop.pay", transfers=[pay("p-1", "wallet:self:btl", W2B, 1).to_json()])
    )
    await refused(app, submit_call(app, SignedAction(data, sign(sk, other).signature)), BadSignature, "bad_signature")
    await refused(app, submit_call(app, SignedAction(data, b"\x00" * 63)), BadSignature, "bad_signature")
    assert await balances(app, "wallet:self:btl") == {"wallet:self:btl": 700}


@pytest.mark.parametrize("seq", [1, 3, 0])
async def test_replayed_or_skipped_sequence_number_is_refused(app: App, seq: int) -> None:
    await make_world(app)
    sk = await _self_custody(app)  # its sequence number 1 is used
    data = canonical_json(
        action_obj(sk, seq, kind="shop.pay", transfers=[pay("p-1", "wallet:self:btl", W2B, 100).to_json()])
    )
    exc = await refused(app, submit_call(app, sign(sk, data)), SequenceReplay, "sequence_replay")
    assert exc.data == {"expected": 2, "found": seq}


async def test_resubmitting_the_exact_signed_action_is_a_replay(app: App) -> None:
    await make_world(app)
    sk = await _self_custody(app)
    signed = sign(
        sk,
        canonical_json(
            action_obj(sk, 2, kind="shop.pay", transfers=[pay("p-1", "wallet:self:btl", W2B, 100).to_json()])
        ),
    )
    await _submit(app, signed)
    exc = await refused(app, submit_call(app, signed), SequenceReplay, "sequence_replay")
    assert exc.data == {"expected": 3, "found": 2}
    assert await balances(app, "wallet:self:btl", W2B) == {"wallet:self:btl": 600, W2B: 100}


def _payment(sk: SigningKey) -> dict[str, Any]:
    return action_obj(sk, 2, kind="shop.pay", transfers=[pay("p-1", "wallet:self:btl", W2B, 100).to_json()])


def _without(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != name}


_MALFORMED: dict[str, Callable[[SigningKey], bytes]] = {
    "whitespace": lambda sk: json.dumps(_payment(sk), sort_keys=True, indent=1).encode(),
    "unsorted-keys": lambda sk: json.dumps(dict(reversed(_payment(sk).items())), separators=(",", ":")).encode(),
    "escaped-ascii": lambda sk: canonical_json(_payment(sk)).replace(b'"shop.pay"', b'"shop\\u002epay"'),
    "not-json": lambda sk: b"pay 100 to member 2",
    "not-utf8": lambda sk: b"\xff\xfe",
    "missing-time": lambda sk: canonical_json(_without(_payment(sk), "time")),
    "missing-seq": lambda sk: canonical_json(_without(_payment(sk), "seq")),
    "extra-field": lambda sk: canonical_json({**_payment(sk), "note": "x"}),
    "float-amount": lambda sk: canonical_json(_payment(sk)).replace(b'"amount":100', b'"amount":100.5'),
    "float-seq": lambda sk: canonical_json(_payment(sk)).replace(b'"seq":2', b'"seq":2.0'),
    "exponent-amount": lambda sk: canonical_json(_payment(sk)).replace(b'"amount":100', b'"amount":1e2'),
    "huge-amount": lambda sk: canonical_json(_payment(sk)).replace(b'"amount":100', b'"amount":9007199254740992'),
    "bad-kind": lambda sk: canonical_json({**_payment(sk), "kind": "Pay Now"}),
    "kind-without-dot": lambda sk: canonical_json({**_payment(sk), "kind": "pay"}),
    "version-2": lambda sk: canonical_json({**_payment(sk), "v": 2}),
    "version-true": lambda sk: canonical_json({**_payment(sk), "v": True}),
    "seq-bool": lambda sk: canonical_json({**_payment(sk), "seq": True}),
    "negative-time": lambda sk: canonical_json({**_payment(sk), "time": -1}),
    "body-not-object": lambda sk: canonical_json({**_payment(sk), "body": []}),
    "transfer-missing-token": lambda sk: canonical_json(
        {**_payment(sk), "transfers": [_without(_payment(sk)["transfers"][0], "token")]}
    ),
    "transfer-unknown-type": lambda sk: canonical_json(
        {**_payment(sk), "transfers": [{**_payment(sk)["transfers"][0], "type": "gift"}]}
    ),
    "unknown-token": lambda sk: canonical_json(
        {**_payment(sk), "transfers": [{**_payment(sk)["transfers"][0], "token": "USD"}]}
    ),
    "actor-not-base64": lambda sk: canonical_json({**_payment(sk), "actor": "not base64!"}),
    "actor-short": lambda sk: canonical_json({**_payment(sk), "actor": b64(b"\x01" * 31)}),
    "array": lambda sk: canonical_json([_payment(sk)]),
}


@pytest.mark.parametrize("name", sorted(_MALFORMED))
async def test_malformed_signed_action_is_refused(app: App, name: str) -> None:
    await make_world(app)
    sk = await _self_custody(app)
    data = _MALFORMED[name](sk)
    # Properly signed, so only the shape can be what refuses it.
    exc = await refused(app, submit_call(app, sign(sk, data)), MalformedAction, "malformed_action")
    assert type(exc) is MalformedAction


async def test_malformed_request_kind_is_refused_before_signing(app: App) -> None:
    """The writer must refuse what every verifier would refuse (the kind's shape is part of the format)."""
    await make_world(app)
    for kind in ("Pay Now", "pay", "shop." + "x" * 70, ""):
        exc = await refused(app, record_call(app, Request(actor=M1, kind=kind)), MalformedAction, "malformed_action")
        assert "kind" in exc.message
    await assert_verifies(app)


async def test_request_body_with_a_float_is_refused(app: App) -> None:
    await make_world(app)
    await refused(
        app,
        record_call(app, Request(actor=M1, kind="shop.note", body={"price": 1.5})),
        MalformedAction,
        "malformed_action",
    )


async def test_oversized_action_is_refused(app: App) -> None:
    await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor=M1, kind="shop.note", body={"text": "x" * 70_000})),
        EntryTooLarge,
        "entry_too_large",
    )
    assert "65535" in exc.message


async def test_unknown_account_is_refused(app: App) -> None:
    await make_world(app)
    for transfer in (pay("p-1", W1B, "wallet:ghost:btl", 1), pay("p-2", "wallet:ghost:btl", W1B, 1)):
        exc = await refused(
            app,
            record_call(app, Request(actor=OP, kind="shop.pay", transfers=[transfer])),
            UnknownAccount,
            "unknown_account",
        )
        assert exc.data == {"account": "wallet:ghost:btl"}


@pytest.mark.parametrize(
    "amount",
    [0, -1, -(2**53), True, False, 1.0, 1.5, float("nan"), "100", None, 2**53, 2**64, MAX_AMOUNT + 1],
    ids=repr,
)
def test_invalid_amount_is_refused_by_the_transfer_itself(amount: Any) -> None:
    with pytest.raises(InvalidAmount) as info:
        Transfer("p-1", W1B, W2B, amount, "BTL")
    assert info.value.code == "invalid_amount"
    assert info.value.data == {"value": repr(amount)}


def test_amount_bounds_that_are_allowed() -> None:
    assert Transfer("p-1", W1B, W2B, 1, "BTL").amount == 1
    assert Transfer("p-1", W1B, W2B, MAX_AMOUNT, "BTL").amount == 2**53 - 1


@pytest.mark.parametrize("amount", [0, -5, True], ids=repr)
async def test_invalid_amount_in_a_signed_action_is_refused(app: App, amount: Any) -> None:
    await make_world(app)
    sk = await _self_custody(app)
    obj = _payment(sk)
    obj["transfers"][0]["amount"] = amount
    exc = await refused(app, submit_call(app, sign(sk, canonical_json(obj))), InvalidAmount, "invalid_amount")
    assert exc.data == {"value": repr(amount)}


async def test_token_mismatch_is_refused(app: App) -> None:
    await make_world(app)
    for transfer in (
        pay("p-1", W1B, W2B, 10, "BNM"),  # both accounts hold BTL
        pay("p-2", W1B, W2N, 10, "BTL"),  # a BTL wallet into a BNM wallet
        pay("p-3", W1N, W2B, 10, "BNM"),
    ):
        exc = await refused(
            app,
            record_call(app, Request(actor=M1, kind="shop.pay", transfers=[transfer])),
            TokenMismatch,
            "token_mismatch",
        )
        assert exc.data == {"transfer": transfer.id}


async def test_debit_of_someone_elses_wallet_is_unauthorized(app: App) -> None:
    await make_world(app)
    exc = await refused(
        app,
        record_call(app, Request(actor=M2, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 10)])),
        Unauthorized,
        "unauthorized_debit",
    )
    assert exc.data == {"account": W1B, "kind": "shop.pay"}
    # Asking for more than the wallet holds is still "not yours", not "too little".
    await refused(
        app,
        record_call(app, Request(actor=M2, kind="shop.pay", transfers=[pay("p-2", W1B, W2B, 10**9)])),
        Unauthorized,
        "unauthorized_debit",
    )


async def test_member_may_not_debit_unowned_or_issuer_accounts(app: App) -> None:
    await make_world(app)
    await rec(app, Request(actor=OP, kind="test.fund", transfers=[pay("f-1", CASH, ESCROW, 100)]))
    for transfer in (pay("p-1", ESCROW, W1B, 10), pay("p-2", CASH, W1B, 10), pay("p-3", TREASURY, W1N, 10, "BNM")):
        exc = await refused(
            app,
            record_call(app, Request(actor=M1, kind="shop.pay", transfers=[transfer])),
            Unauthorized,
            "unauthorized_debit",
        )
        assert exc.data == {"account": transfer.debit}
    # With the operator's countersignature the same debit of the escrow is allowed.
    await rec(app, Request(actor=M1, kind="order.refund", transfers=[pay("p-1", ESCROW, W1B, 10)], countersign=True))
    assert await balances(app, ESCROW) == {ESCROW: 90}
    await assert_verifies(app)


async def test_operator_debits_a_member_only_for_kinds_the_rules_allow(app: App) -> None:
    await make_world(app)
    await refused(
        app,
        record_call(app, Request(actor=OP, kind="wallet.seize", transfers=[pay("s-1", W1B, ESCROW, 10)])),
        Unauthorized,
        "unauthorized_debit",
    )
    async with app.db.snapshot() as snap:
        rules = (await app.ledger.head(snap)).rules
    assert rules is not None
    kinds = sorted(rules.operator_debit_kinds | {"wallet.seize"})
    await rec(app, Request(actor=OP, kind="ledger.rules", body={"operator_debit_kinds": kinds}))
    await rec(app, Request(actor=OP, kind="wallet.seize", transfers=[pay("s-1", W1B, ESCROW, 10)]))
    assert await balances(app, W1B, ESCROW) == {W1B: 9_990, ESCROW: 10}
    # A member may not change the rules.
    await refused(
        app,
        record_call(app, Request(actor=M1, kind="ledger.rules", body={"operator_debit_kinds": []})),
        Unauthorized,
        "unauthorized_debit",
    )
    await assert_verifies(app)


# ------------------------------------------------------------------------------------ proofs


async def _leaves(app: App) -> list[bytes]:
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT leaf_hash FROM ledger_entries ORDER BY seq")
    return [bytes(r[0]) for r in rows]


async def test_inclusion_and_consistency_proofs_check_out(app: App) -> None:
    await make_world(app)
    for i in range(4):
        await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay(f"p-{i}", W1B, W2B, 1)]))
    leaves = await _leaves(app)
    n = len(leaves)
    assert n == await head_size(app)
    async with app.db.snapshot() as snap:
        for size in range(1, n + 1):
            root = merkle.root_of(leaves[:size])
            for index in range(size):
                proof = await app.ledger.inclusion_proof(snap, index, size)
                merkle.verify_inclusion(leaves[index], index, size, proof, root)
            for old in range(1, size + 1):
                proof = await app.ledger.consistency_proof(snap, old, size)
                merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), root, proof)


async def test_proofs_past_the_tree_size_are_refused(app: App) -> None:
    await make_world(app)
    n = await head_size(app)
    async with app.db.snapshot() as snap:
        cases = [
            (lambda: app.ledger.inclusion_proof(snap, n, n + 1), {"size": n, "asked": n + 1}),
            (lambda: app.ledger.inclusion_proof(snap, 0, n + 5), {"size": n, "asked": n + 5}),
            (lambda: app.ledger.inclusion_proof(snap, n, n), {"seq": n, "size": n}),
            (lambda: app.ledger.inclusion_proof(snap, -1, n), {"seq": -1, "size": n}),
            (lambda: app.ledger.consistency_proof(snap, 1, n + 1), {"size": n, "asked": n + 1}),
            (lambda: app.ledger.consistency_proof(snap, n, n - 1), {"old": n, "new": n - 1}),
            (lambda: app.ledger.consistency_proof(snap, -1, n), {"old": -1, "new": n}),
        ]
        for call, data in cases:
            with pytest.raises(ProofError) as info:
                await call()
            assert info.value.code == "proof_unavailable"
            assert info.value.data == data


async def test_receipt_before_and_after_publishing_a_checkpoint(app: App) -> None:
    await make_world(app)
    async with app.db.unit_of_work() as uow:  # cover everything so far
        await app.ledger.publish_checkpoint(uow)
        await uow.commit()
    async with app.db.snapshot() as snap:
        covered, _note = await app.ledger.latest_checkpoint(snap)
    paid = await rec(app, Request(actor=M1, kind="shop.pay", transfers=[pay("p-1", W1B, W2B, 1)]))
    assert paid.seq == covered
    async with app.db.snapshot() as snap:
        with pytest.raises(ProofError) as info:
            await app.ledger.receipt(snap, paid.seq)
        assert info.value.data == {"seq": paid.seq, "size": covered}
        with pytest.raises(ProofError):
            await app.ledger.receipt(snap, -1)
        early = await app.ledger.receipt(snap, 0)  # entry 0 is already covered
    async with app.db.unit_of_work() as uow:
        note = await app.ledger.publish_checkpoint(uow)
        assert note is not None
        assert await app.ledger.publish_checkpoint(uow) is None  # nothing new since
        await uow.commit()
    async with app.db.snapshot() as snap:
        receipt = await app.ledger.receipt(snap, paid.seq)
        entry = await app.ledger.entry(snap, paid.seq)
        genesis = await app.ledger.entry(snap, 0)
        ledger_key = (await app.ledger.ledger_signer(snap)).public_key
    verifier = Verifier.from_public_key(app.ledger.origin, ledger_key)
    checkpoint = verify_receipt(receipt, entry, verifier)
    assert checkpoint.size == paid.seq + 1
    assert merkle.leaf_hash(entry) == paid.leaf_hash
    assert verify_receipt(early, genesis, verifier).size == covered
    with pytest.raises(ChestnutError):  # the receipt proves that entry, not another one
        verify_receipt(receipt, genesis, verifier)
    await assert_verifies(app)
