"""A hypothesis state machine over the real ledger (SQLite, a fresh directory per example).

The rules open member wallets, mint, pay, cash out, hold (pending), post (fully or partly), void,
retry earlier transfers exactly and with changed fields, pay out of escrow and try debits that are not
the actor's to make. A plain Python model predicts every outcome — success or which refusal — and
after every step the ledger's accounts must equal the model and the money invariants must hold.
A refused step must leave every ledger table exactly as it was. At the end the whole ledger is
replayed by ``verify_ledger``.

The ledger is async; each example runs it on a private event loop (``self.loop``), closed in teardown.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from ledger.errors import (
    ChestnutError,
    InsufficientBalance,
    PendingTransferError,
    TransferExists,
    Unauthorized,
)
from ledger.model import MAX_AMOUNT, AccountSpec, Transfer
from ledger.requests import Recorded, Request
from ledger.verify import verify_ledger

T = TypeVar("T")
OP = "system:operator"
TOKENS = ("BTL", "BNM")
ISSUER = {"BTL": "reserve:cash", "BNM": "treasury:bnm"}
ESCROW = {"BTL": "escrow:sm:btl", "BNM": "escrow:sm:bnm"}
MAX_MEMBERS = 4

_TABLES = (
    "SELECT size, last_hash, frontier, rules FROM ledger_head",
    "SELECT seq, leaf_hash FROM ledger_entries ORDER BY seq",
    "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts ORDER BY id",
    "SELECT id, seq, amount, state FROM ledger_transfers ORDER BY id",
    "SELECT public_key, last_seq FROM ledger_actors ORDER BY public_key",
    "SELECT key, seq FROM ledger_idempotency ORDER BY key",
    "SELECT label FROM ledger_keys ORDER BY label",
)

# Mostly amounts that fit, sometimes exactly everything, sometimes one unit too many.
amounts = st.one_of(
    st.integers(1, 1_500), st.integers(1, 1_500), st.integers(1, 1_500), st.just("all"), st.just("over")
)


@dataclass
class Pending:
    id: str
    debit: str
    credit: str
    token: str
    amount: int
    maker: str
    state: str = "pending"


class Account:
    __slots__ = ("cp", "cpe", "dp", "dpe", "token")

    def __init__(self, token: str, dp: int = 0, cp: int = 0, dpe: int = 0, cpe: int = 0) -> None:
        self.token = token
        self.dp, self.cp, self.dpe, self.cpe = dp, cp, dpe, cpe

    @property
    def available(self) -> int:
        return self.cp - self.dp - self.dpe

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.dp, self.cp, self.dpe, self.cpe)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="chestnut-sm-"))
        self.loop = asyncio.new_event_loop()
        self.app: App | None = None
        conf = Settings(
            home=self.dir / "home", database_url=f"sqlite+aiosqlite:///{self.dir / 'chestnut.db'}", environment="test"
        )
        try:
            self.app = self.run(build(conf))
        except BaseException:
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        # Start from whatever accounts bootstrap opened (issuers, fees, …).
        self.accounts: dict[str, Account] = {
            account_id: Account(token, *(int(n) for n in numbers))
            for account_id, token, *numbers in self.run(
                self._fetch(
                    "SELECT id, token, debits_posted, credits_posted, debits_pending, credits_pending "
                    "FROM ledger_accounts"
                )
            )
        }
        self.size = self.run(self._head_size())
        self.members: list[str] = []
        self.owner: dict[str, str] = {}  # account -> the member label that owns it
        self.pendings: list[Pending] = []
        self.done: list[tuple[Request, Recorded]] = []
        self.counter = 0
        self.record(
            Request(actor=OP, kind="escrow.open", accounts=[AccountSpec(ESCROW[t], t) for t in TOKENS]),
            opens=[(ESCROW[t], t) for t in TOKENS],
        )
        # Two members from the start, so that every rule is enabled from the first step.
        self.open_member()
        self.open_member()
        for member in self.members:
            for token in TOKENS:
                self.mint(0 if member == self.members[0] else 1, token, 5_000)

    # ---------------------------------------------------------------------------------- plumbing

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _fetch(self, sql: str) -> list[tuple[Any, ...]]:
        assert self.app is not None
        async with self.app.db.snapshot() as snap:
            return [
                tuple(bytes(v) if isinstance(v, bytes | memoryview) else v for v in r) for r in await snap.fetch(sql)
            ]

    async def _head_size(self) -> int:
        return int((await self._fetch("SELECT size FROM ledger_head"))[0][0])

    async def _dump(self) -> list[list[tuple[Any, ...]]]:
        return [await self._fetch(sql) for sql in _TABLES]

    async def _record(self, request: Request) -> Recorded:
        assert self.app is not None
        async with self.app.db.unit_of_work() as uow:
            recorded = await self.app.ledger.record(uow, request)
            await uow.commit()
        return recorded

    async def _refuse(self, request: Request) -> ChestnutError:
        assert self.app is not None
        async with self.app.db.unit_of_work() as uow:
            try:
                await self.app.ledger.record(uow, request)
            except ChestnutError as exc:
                await uow.commit()  # commit anyway: a refusal must come before any write
                return exc
        raise AssertionError(f"{request} was recorded but should have been refused")

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def record(self, request: Request, *, opens: Sequence[tuple[str, str]] = ()) -> Recorded:
        """A request the model says succeeds; applies it to the model."""
        recorded = self.run(self._record(request))
        assert not recorded.existing
        assert recorded.seq == self.size
        self.size += 1
        for account_id, token in opens:
            self.accounts[account_id] = Account(token)
        for t in request.transfers:
            debit, credit = self.accounts[t.debit], self.accounts[t.credit]
            if t.type == "single":
                debit.dp += t.amount
                credit.cp += t.amount
            elif t.type == "pending":
                debit.dpe += t.amount
                credit.cpe += t.amount
            else:
                pending = next(p for p in self.pendings if p.id == t.pending_id)
                debit.dpe -= pending.amount
                credit.cpe -= pending.amount
                if t.type == "post":
                    debit.dp += t.amount
                    credit.cp += t.amount
                pending.state = "posted" if t.type == "post" else "voided"
        if request.transfers:
            self.done.append((request, recorded))
        return recorded

    def refuse(self, request: Request, expected: type[ChestnutError]) -> ChestnutError:
        """A request the model says is refused: the right error, and nothing changed anywhere."""
        before = self.run(self._dump())
        exc = self.run(self._refuse(request))
        assert type(exc) is expected, (exc, expected)
        assert self.run(self._dump()) == before
        return exc

    def wallet(self, member: str, token: str) -> str:
        return f"wallet:{member.split(':')[1]}:{token.lower()}"

    def pick(self, items: list[T], index: int) -> T:
        return items[index % len(items)]

    def resolve(self, amount: int | str, available: int) -> int:
        if amount == "all":
            return max(available, 1)
        if amount == "over":
            return max(available, 0) + 1
        assert isinstance(amount, int)
        return amount

    def move(self, actor: str, kind: str, transfer: Transfer) -> None:
        """A single or pending transfer: succeeds unless it overdraws a no-overdraft account."""
        request = Request(actor=actor, kind=kind, transfers=[transfer])
        debit = self.accounts[transfer.debit]
        if transfer.debit not in ISSUER.values() and transfer.amount > debit.available:
            exc = self.refuse(request, InsufficientBalance)
            assert exc.data == {
                "account": transfer.debit,
                "token": transfer.token,
                "needed": transfer.amount,
                "have": debit.available,
                "missing": transfer.amount - debit.available,
            }
        else:
            self.record(request)
            if transfer.type == "pending":
                self.pendings.append(
                    Pending(transfer.id, transfer.debit, transfer.credit, transfer.token, transfer.amount, actor)
                )

    # ---------------------------------------------------------------------------------- rules

    @precondition(lambda self: len(self.members) < MAX_MEMBERS)
    @rule()
    def open_member(self) -> None:
        label = f"member:m{len(self.members) + 1}"
        assert self.app is not None
        app = self.app

        async def make_key() -> bytes:
            async with app.db.unit_of_work() as uow:
                key = await app.keys.create(uow, label)
                await uow.commit()
            return key.public_key

        public_key = self.run(make_key())
        wallets = [self.wallet(label, t) for t in TOKENS]
        self.record(
            Request(
                actor=label,
                kind="wallet.open",
                accounts=[AccountSpec(w, t, public_key) for w, t in zip(wallets, TOKENS, strict=True)],
            ),
            opens=list(zip(wallets, TOKENS, strict=True)),
        )
        self.members.append(label)
        for w in wallets:
            self.owner[w] = label

    @precondition(lambda self: self.members)
    @rule(member=st.integers(0, 7), token=st.sampled_from(TOKENS), amount=st.integers(1, 5_000))
    def mint(self, member: int, token: str, amount: int) -> None:
        target = self.wallet(self.pick(self.members, member), token)
        self.move(OP, "wallet.topup", Transfer(self.next_id("mint"), ISSUER[token], target, amount, token))

    @precondition(lambda self: self.members)
    @rule(member=st.integers(0, 7), token=st.sampled_from(TOKENS), amount=amounts)
    def cash_out(self, member: int, token: str, amount: int | str) -> None:
        label = self.pick(self.members, member)
        source = self.wallet(label, token)
        value = self.resolve(amount, self.accounts[source].available)
        self.move(label, "wallet.cashout", Transfer(self.next_id("out"), source, ISSUER[token], value, token))

    @precondition(lambda self: len(self.members) >= 2)
    @rule(src=st.integers(0, 7), offset=st.integers(1, 7), token=st.sampled_from(TOKENS), amount=amounts)
    def pay(self, src: int, offset: int, token: str, amount: int | str) -> None:
        payer = self.pick(self.members, src)
        payee = self.pick(self.members, src + 1 + offset % (len(self.members) - 1))
        assert payer != payee
        debit = self.wallet(payer, token)
        value = self.resolve(amount, self.accounts[debit].available)
        self.move(payer, "shop.pay", Transfer(self.next_id("pay"), debit, self.wallet(payee, token), value, token))

    @precondition(lambda self: self.members)
    @rule(
        src=st.integers(0, 7),
        to_escrow=st.booleans(),
        offset=st.integers(1, 7),
        token=st.sampled_from(TOKENS),
        amount=amounts,
    )
    def hold(self, src: int, to_escrow: bool, offset: int, token: str, amount: int | str) -> None:
        payer = self.pick(self.members, src)
        if to_escrow or len(self.members) < 2:
            credit = ESCROW[token]
        else:
            credit = self.wallet(self.pick(self.members, src + 1 + offset % (len(self.members) - 1)), token)
        debit = self.wallet(payer, token)
        value = self.resolve(amount, self.accounts[debit].available)
        self.move(payer, "order.pay", Transfer(self.next_id("hold"), debit, credit, value, token, type="pending"))

    @precondition(lambda self: self.pendings)
    @rule(
        which=st.integers(0, 50),
        how=st.sampled_from(["full", "partial", "over"]),
        cut=st.integers(1, 10**6),
        by_operator=st.booleans(),
    )
    def post(self, which: int, how: str, cut: int, by_operator: bool) -> None:
        p = self.pick(self.pendings, which)
        if how == "over":
            amount = p.amount + 1
        elif how == "partial" and p.amount > 1:
            amount = 1 + cut % (p.amount - 1)
        else:
            amount = p.amount
        actor = OP if by_operator else p.maker
        transfer = Transfer(self.next_id("post"), p.debit, p.credit, amount, p.token, type="post", pending_id=p.id)
        request = Request(actor=actor, kind="order.settle", transfers=[transfer])
        if p.state != "pending":
            exc = self.refuse(request, PendingTransferError)
            assert exc.data == {"pending_id": p.id}
        elif amount > p.amount:
            exc = self.refuse(request, PendingTransferError)
            assert exc.data == {"pending_id": p.id, "pending_amount": p.amount}
        else:
            self.record(request)

    @precondition(lambda self: self.pendings)
    @rule(which=st.integers(0, 50), by_operator=st.booleans())
    def void(self, which: int, by_operator: bool) -> None:
        p = self.pick(self.pendings, which)
        transfer = Transfer(self.next_id("void"), p.debit, p.credit, p.amount, p.token, type="void", pending_id=p.id)
        request = Request(actor=OP if by_operator else p.maker, kind="order.cancel", transfers=[transfer])
        if p.state != "pending":
            exc = self.refuse(request, PendingTransferError)
            assert exc.data == {"pending_id": p.id}
        else:
            self.record(request)

    @precondition(lambda self: self.members)
    @rule(token=st.sampled_from(TOKENS), member=st.integers(0, 7), amount=amounts)
    def escrow_payout(self, token: str, member: int, amount: int | str) -> None:
        """The operator pays out of an (unowned, no-overdraft) escrow account."""
        value = self.resolve(amount, self.accounts[ESCROW[token]].available)
        target = self.wallet(self.pick(self.members, member), token)
        self.move(OP, "order.release", Transfer(self.next_id("rel"), ESCROW[token], target, value, token))

    @precondition(lambda self: self.done)
    @rule(which=st.integers(0, 200))
    def retry_exactly(self, which: int) -> None:
        request, first = self.pick(self.done, which)
        before = self.run(self._dump())
        again = self.run(self._record(request))
        assert (again.existing, again.seq, again.leaf_hash) == (True, first.seq, first.leaf_hash)
        assert self.run(self._dump()) == before

    @precondition(lambda self: self.done)
    @rule(which=st.integers(0, 200), delta=st.integers(-3, 3).filter(bool))
    def retry_changed(self, which: int, delta: int) -> None:
        request, _first = self.pick(self.done, which)
        t = request.transfers[0]
        amount = t.amount + delta if 1 <= t.amount + delta <= MAX_AMOUNT else t.amount - delta
        changed = Transfer(t.id, t.debit, t.credit, amount, t.token, type=t.type, pending_id=t.pending_id)
        exc = self.refuse(Request(actor=request.actor, kind=request.kind, transfers=[changed]), TransferExists)
        assert exc.data == {"transfers": [t.id]}

    @precondition(lambda self: len(self.members) >= 2)
    @rule(
        attacker=st.integers(0, 7),
        offset=st.integers(1, 7),
        token=st.sampled_from(TOKENS),
        victim_account=st.sampled_from(["wallet", "escrow", "issuer", "operator-seize"]),
        amount=st.integers(1, 10**6),
    )
    def unauthorized_debit(self, attacker: int, offset: int, token: str, victim_account: str, amount: int) -> None:
        thief = self.pick(self.members, attacker)
        victim = self.pick(self.members, attacker + 1 + offset % (len(self.members) - 1))
        actor, kind = thief, "shop.pay"
        if victim_account == "wallet":
            debit = self.wallet(victim, token)
        elif victim_account == "escrow":
            debit = ESCROW[token]
        elif victim_account == "issuer":
            debit = ISSUER[token]
        else:  # the operator, in a kind the rules do not allow for member debits
            actor, kind, debit = OP, "wallet.seize", self.wallet(victim, token)
        transfer = Transfer(self.next_id("steal"), debit, self.wallet(thief, token), amount, token)
        exc = self.refuse(Request(actor=actor, kind=kind, transfers=[transfer]), Unauthorized)
        assert exc.data["account"] == debit

    @precondition(lambda self: any(p.state == "pending" for p in self.pendings) and len(self.members) >= 2)
    @rule(which=st.integers(0, 50), offset=st.integers(1, 7), post=st.booleans())
    def unauthorized_resolve(self, which: int, offset: int, post: bool) -> None:
        p = self.pick([p for p in self.pendings if p.state == "pending"], which)
        stranger = self.pick(self.members, self.members.index(p.maker) + 1 + offset % (len(self.members) - 1))
        assert stranger != p.maker
        kind = "post" if post else "void"
        transfer = Transfer(self.next_id(kind), p.debit, p.credit, p.amount, p.token, type=kind, pending_id=p.id)
        self.refuse(Request(actor=stranger, kind="order.settle", transfers=[transfer]), Unauthorized)

    # ---------------------------------------------------------------------------------- invariants

    @invariant()
    def ledger_matches_the_model(self) -> None:
        stored = {row[0]: tuple(int(v) for v in row[1:]) for row in self.run(self._fetch(_TABLES[2]))}
        assert stored == {account_id: a.as_tuple() for account_id, a in self.accounts.items()}
        assert self.run(self._head_size()) == self.size

    @invariant()
    def money_invariants_hold(self) -> None:
        for token in TOKENS:
            same = [(i, a) for i, a in self.accounts.items() if a.token == token]
            assert sum(a.cp - a.dp for _i, a in same) == 0
            assert sum(a.dpe - a.cpe for _i, a in same) == 0
            issuer = self.accounts[ISSUER[token]]
            held = sum(a.cp - a.dp for i, a in same if i != ISSUER[token])
            assert held == issuer.dp - issuer.cp  # in circulation = issued - retired
            for i, a in same:
                if i != ISSUER[token]:
                    assert a.cp - a.dp >= 0, i
                    assert a.available >= 0, i

    def teardown(self) -> None:
        try:
            if self.app is not None:
                app = self.app
                report = self.run(verify_ledger(app.db, app.ledger.origin, workers=0))
                assert report.ok, (report.first_bad_seq, report.problem)
                assert report.size == self.size
        finally:
            try:
                if self.app is not None:
                    self.run(self.app.close())
                self.run(self.loop.shutdown_default_executor())
            finally:
                self.loop.close()
                shutil.rmtree(self.dir, ignore_errors=True)


LedgerMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestLedgerStateMachine = LedgerMachine.TestCase
