"""Typed errors with stable codes.

Every refusal in Chestnut is one of these: a stable ``code`` for programs (bots phrase it kindly, HTTP
returns it as JSON) and ``data`` with the figures a caller needs (how much is missing, which entry is
bad). Raising one inside a unit of work means nothing is written.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ChestnutError(Exception):
    """Base of every expected refusal. Never carries a traceback to a user."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.data:
            body["data"] = self.data
        return body


class NotFound(ChestnutError):
    code = "not_found"
    http_status = 404


class LedgerError(ChestnutError):
    code = "ledger_error"


class MalformedAction(LedgerError):
    """An action that is not well-formed canonical JSON of the expected shape."""

    code = "malformed_action"


class EntryTooLarge(MalformedAction):
    code = "entry_too_large"


class UnknownKey(LedgerError):
    code = "unknown_key"


class BadSignature(LedgerError):
    code = "bad_signature"


class SequenceReplay(LedgerError):
    """An actor's sequence number was not exactly one more than its last one."""

    code = "sequence_replay"


class UnknownAccount(LedgerError):
    code = "unknown_account"


class AccountExists(LedgerError):
    code = "account_exists"


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class TokenMismatch(LedgerError):
    code = "token_mismatch"


class InsufficientBalance(LedgerError):
    """A no-overdraft account would go below zero. ``needed``/``have``/``missing`` are in token units."""

    code = "insufficient_balance"


class TransferExists(LedgerError):
    """A transfer id was reused with different fields (a true retry is answered, not refused)."""

    code = "transfer_id_conflict"


class PendingTransferError(LedgerError):
    """Posting or voiding a pending transfer that is unknown, already resolved or over its amount."""

    code = "pending_transfer_invalid"


class Unauthorized(LedgerError):
    """The signer may not debit the account (not its owner, nor the operator for an allowed kind)."""

    code = "unauthorized_debit"
    http_status = 403


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"
    http_status = 409


class ProofError(LedgerError):
    code = "proof_unavailable"


class VerificationError(LedgerError):
    """A proof, signature, note or stored entry did not check out; the message says expected vs found."""

    code = "verification_failed"


class KeyStoreError(ChestnutError):
    code = "key_store_error"


class WrongMasterKey(KeyStoreError):
    code = "wrong_master_key"


class CorruptKeyFile(KeyStoreError):
    code = "corrupt_key_file"


class InsecureKeyFile(KeyStoreError):
    code = "insecure_key_file"


class LedgerNotEmpty(LedgerError):
    code = "ledger_not_empty"
    http_status = 409
