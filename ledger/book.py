"""The book of accounts: TigerBeetle-style double entry and the money rules, in memory.

The writer loads the accounts and transfers an action touches, applies the action here, and writes
back what changed; the verifier (and every replica) replays the whole ledger through the same code.
So there is exactly one statement of the money rules:

- every transfer debits one account and credits another of the same token by a positive amount;
- accounts other than the issuers (``reserve:cash`` for BTL, ``treasury:bnm`` for BNM) may never go
  below zero, counting pending debits (``debits_must_not_exceed_credits``);
- an owned account (a member's wallet) is debited only by an action its owner signed, or by an
  operator-signed action of a kind the rules allow (refund after settlement, …); an unowned account
  (escrow, fees, campaign budgets, issuers) only by an operator-signed action;
- a pending transfer is posted (fully or partly) or voided at most once, by the operator or by the
  actor who made it;
- all transfers of one action are linked: they succeed or fail together.

The rules themselves (issuers, operator key, kinds the operator may debit members for) come from the
ledger's genesis entry and later ``ledger.rules`` entries, so anyone can replay them from the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.errors import (
    AccountExists,
    InsufficientBalance,
    MalformedAction,
    PendingTransferError,
    TokenMismatch,
    Unauthorized,
    UnknownAccount,
)
from ledger.model import TOKENS, AccountSpec, Action, Transfer, b64, check_account_id, unb64

NO_OVERDRAFT = 1  # TigerBeetle's debits_must_not_exceed_credits
GENESIS_KIND = "ledger.genesis"
RULES_KIND = "ledger.rules"


@dataclass(frozen=True, slots=True)
class Rules:
    ledger_key: bytes
    operator_key: bytes
    issuers: dict[str, str]  # token -> issuer account id
    operator_debit_kinds: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "issuers": dict(self.issuers),
            "ledger": b64(self.ledger_key),
            "operator": b64(self.operator_key),
            "operator_debit_kinds": sorted(self.operator_debit_kinds),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Rules:
        if not isinstance(obj, dict):
            raise MalformedAction("ledger rules must be an object")
        try:
            issuers = obj["issuers"]
            kinds = obj["operator_debit_kinds"]
            ledger_key = unb64(obj["ledger"], "ledger key", 32)
            operator_key = unb64(obj["operator"], "operator key", 32)
        except KeyError as missing:
            raise MalformedAction(f"ledger rules lack {missing}") from None
        if (
            not isinstance(issuers, dict)
            or set(issuers) != set(TOKENS)
            or not all(isinstance(v, str) for v in issuers.values())
        ):
            raise MalformedAction(f"ledger rules must name one issuer account per token {TOKENS}")
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise MalformedAction("operator_debit_kinds must be a list of action kinds")
        return cls(ledger_key, operator_key, {k: check_account_id(v) for k, v in issuers.items()}, frozenset(kinds))


@dataclass(slots=True)
class AccountState:
    id: str
    token: str
    flags: int
    owner: bytes | None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    opened_seq: int = 0

    @property
    def balance(self) -> int:
        """Posted balance (credit-normal: what the holder has)."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What can still be debited: posted balance less pending debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(slots=True)
class TransferState:
    id: str
    seq: int
    type: str
    debit: str
    credit: str
    token: str
    amount: int
    pending_id: str | None
    state: str | None
    timeout_ms: int | None
    actor: bytes

    def copy(self) -> TransferState:
        """A copy to restore on refusal (``dataclasses.replace`` costs a field walk per call)."""
        return TransferState(
            self.id,
            self.seq,
            self.type,
            self.debit,
            self.credit,
            self.token,
            self.amount,
            self.pending_id,
            self.state,
            self.timeout_ms,
            self.actor,
        )

    def same_request(self, t: Transfer) -> bool:
        return (
            self.type == t.type
            and self.debit == t.debit
            and self.credit == t.credit
            and self.token == t.token
            and self.amount == t.amount
            and self.pending_id == t.pending_id
        )


@dataclass
class Book:
    """Accounts and transfers known to this book, plus what an apply changed (for the writer)."""

    rules: Rules | None = None
    accounts: dict[str, AccountState] = field(default_factory=dict)
    transfers: dict[str, TransferState] = field(default_factory=dict)
    new_accounts: set[str] = field(default_factory=set)
    dirty_accounts: set[str] = field(default_factory=set)
    new_transfers: list[str] = field(default_factory=list)
    resolved_pending: set[str] = field(default_factory=set)
    rules_changed: bool = False

    def operator_signed(self, action: Action, countersigned: bool) -> bool:
        assert self.rules is not None
        return action.actor == self.rules.operator_key or countersigned

    def apply(self, action: Action, seq: int, *, countersigned: bool) -> list[AccountState]:
        """Apply one action atomically; returns the accounts it touched. Raises and changes nothing."""
        touched: dict[str, AccountState] = {}
        saved: dict[str, tuple[int, int, int, int]] = {}  # balances before, to restore on refusal
        created_accounts: list[str] = []
        created_transfers: list[str] = []
        saved_transfers: dict[str, TransferState] = {}
        saved_rules = self.rules

        def touch(account_id: str) -> AccountState:
            acct = self.accounts.get(account_id)
            if acct is None:
                raise UnknownAccount(f"no account {account_id!r}", account=account_id)
            if account_id not in saved and account_id not in created_accounts:
                saved[account_id] = (
                    acct.debits_posted,
                    acct.credits_posted,
                    acct.debits_pending,
                    acct.credits_pending,
                )
            touched[account_id] = acct
            return acct

        try:
            if action.kind == GENESIS_KIND:
                self._apply_genesis(action, seq)
            elif self.rules is None:
                raise MalformedAction("the first entry of a ledger must be its genesis")
            elif action.kind == RULES_KIND:
                if action.actor != self.rules.operator_key:
                    raise Unauthorized("only the operator may change the ledger rules")
                self.rules = Rules.from_json({**self.rules.to_json(), **action.body})
                self.rules_changed = True
            for spec in action.accounts:
                self._open_account(action, seq, spec, countersigned, created_accounts)
                touched[spec.id] = self.accounts[spec.id]
            for transfer in action.transfers:
                self._apply_transfer(action, seq, transfer, countersigned, touch, created_transfers, saved_transfers)
        except Exception:
            for account_id, before in saved.items():
                acct = self.accounts[account_id]
                acct.debits_posted, acct.credits_posted, acct.debits_pending, acct.credits_pending = before
            for account_id in created_accounts:
                del self.accounts[account_id]
            for transfer_id in created_transfers:
                del self.transfers[transfer_id]
            self.transfers.update(saved_transfers)
            self.rules = saved_rules
            raise
        if created_accounts:
            self.new_accounts.update(created_accounts)
        self.dirty_accounts.update(a for a in touched if a not in self.new_accounts)
        self.new_transfers.extend(created_transfers)
        if saved_transfers:
            self.resolved_pending.update(saved_transfers)
        return list(touched.values())

    def _apply_genesis(self, action: Action, seq: int) -> None:
        if seq != 0 or self.rules is not None:
            raise MalformedAction("only entry 0 may be the genesis")
        rules = Rules.from_json(action.body.get("rules"))
        if action.actor != rules.ledger_key:
            raise Unauthorized("the genesis must be signed by the ledger key it names")
        self.rules = rules
        self.rules_changed = True

    def _open_account(
        self, action: Action, seq: int, spec: AccountSpec, countersigned: bool, created: list[str]
    ) -> None:
        assert self.rules is not None
        account_id, token, owner = spec.id, spec.token, spec.owner
        if account_id in self.accounts:
            raise AccountExists(f"account {account_id!r} is already open", account=account_id)
        # The operator acting, or consenting by countersignature, may open unowned accounts (escrow).
        system = action.actor in (self.rules.operator_key, self.rules.ledger_key) or countersigned
        if owner is None and not system:
            raise Unauthorized(f"only the operator opens unowned account {account_id!r}", account=account_id)
        if owner is not None and owner != action.actor and not system:
            raise Unauthorized(f"account {account_id!r} must be opened by its owner or the operator")
        is_issuer = self.rules.issuers.get(token) == account_id
        if is_issuer and action.kind != GENESIS_KIND:
            raise Unauthorized("issuer accounts are opened by the genesis only")
        self.accounts[account_id] = AccountState(
            account_id, token, 0 if is_issuer else NO_OVERDRAFT, owner, opened_seq=seq
        )
        created.append(account_id)

    def _authorize_debit(self, action: Action, account: AccountState, countersigned: bool) -> None:
        assert self.rules is not None
        operator = self.operator_signed(action, countersigned)
        if account.owner is None:
            if not operator:
                raise Unauthorized(
                    f"account {account.id!r} can be debited only with the operator's signature",
                    account=account.id,
                )
        elif action.actor != account.owner and not (operator and action.kind in self.rules.operator_debit_kinds):
            raise Unauthorized(
                f"account {account.id!r} can be debited only by its owner",
                account=account.id,
                kind=action.kind,
            )

    def _apply_transfer(
        self,
        action: Action,
        seq: int,
        t: Transfer,
        countersigned: bool,
        touch: Any,
        created: list[str],
        saved_transfers: dict[str, TransferState],
    ) -> None:
        if t.id in self.transfers:
            raise MalformedAction(f"transfer id {t.id!r} was already used", transfer=t.id)
        debit: AccountState = touch(t.debit)
        credit: AccountState = touch(t.credit)
        if debit.token != t.token or credit.token != t.token:
            raise TokenMismatch(
                f"transfer {t.id} in {t.token} between a {debit.token} and a {credit.token} account",
                transfer=t.id,
            )
        amount = t.amount
        state: str | None = None
        timeout_ms = None
        if t.type in ("single", "pending"):
            self._authorize_debit(action, debit, countersigned)
            if debit.flags & NO_OVERDRAFT and debit.available < amount:
                raise InsufficientBalance(
                    f"account {debit.id} has {debit.available} {t.token} available, {amount} needed",
                    account=debit.id,
                    token=t.token,
                    needed=amount,
                    have=debit.available,
                    missing=amount - debit.available,
                )
            if t.type == "single":
                debit.debits_posted += amount
                credit.credits_posted += amount
            else:
                debit.debits_pending += amount
                credit.credits_pending += amount
                state = "pending"
                if t.timeout_s is not None:
                    timeout_ms = action.time + t.timeout_s * 1000
        else:
            pending = self.transfers.get(t.pending_id or "")
            if pending is None or pending.type != "pending":
                raise PendingTransferError(f"no pending transfer {t.pending_id!r}", pending_id=t.pending_id)
            if pending.state != "pending":
                raise PendingTransferError(
                    f"pending transfer {t.pending_id} is already {pending.state}", pending_id=t.pending_id
                )
            if (pending.debit, pending.credit, pending.token) != (t.debit, t.credit, t.token):
                raise PendingTransferError(
                    f"{t.type} of {t.pending_id} must repeat its accounts and token", pending_id=t.pending_id
                )
            if not (self.operator_signed(action, countersigned) or action.actor == pending.actor):
                raise Unauthorized(f"only the operator or its maker may {t.type} pending transfer {t.pending_id}")
            if t.type == "void" and amount != pending.amount:
                raise PendingTransferError(f"a void releases the whole pending amount {pending.amount}")
            if t.type == "post" and amount > pending.amount:
                raise PendingTransferError(
                    f"cannot post {amount}: pending transfer {t.pending_id} holds {pending.amount}",
                    pending_id=t.pending_id,
                    pending_amount=pending.amount,
                )
            saved_transfers[pending.id] = pending.copy()
            debit.debits_pending -= pending.amount
            credit.credits_pending -= pending.amount
            if t.type == "post":
                debit.debits_posted += amount
                credit.credits_posted += amount
            pending.state = "posted" if t.type == "post" else "voided"
        self.transfers[t.id] = TransferState(
            t.id,
            seq,
            t.type,
            t.debit,
            t.credit,
            t.token,
            amount,
            t.pending_id,
            state,
            timeout_ms,
            action.actor,
        )
        created.append(t.id)

    def reset_changes(self) -> None:
        self.new_accounts.clear()
        self.dirty_accounts.clear()
        self.new_transfers.clear()
        self.resolved_pending.clear()
        self.rules_changed = False


def genesis_body(rules: Rules, origin: str) -> dict[str, Any]:
    return {"origin": origin, "rules": rules.to_json()}
