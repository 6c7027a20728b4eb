"""Actions, transfers and entries: the ledger's record format (version 1).

An **action** is canonical JSON (RFC 8785)::

    {"accounts": [...], "actor": <b64 public key>, "body": {...}, "kind": "order.place",
     "seq": <the actor's sequence number, from 1>, "time": <unix ms>, "transfers": [...], "v": 1}

signed by the actor over ``b"chestnut-action/v1\\n" || action bytes`` (Ed25519). An **entry** is the
canonical JSON object::

    {"cosig": <b64, optional>, "prev": <b64 leaf hash of the previous entry>, "seq": <n>,
     "sig": <b64>, "signed": <the action>}

Keys sort so that the action comes last, which lets a verifier slice the exact signed bytes out of the
entry without re-serialising. The leaf hash of an entry is ``SHA256(0x00 || entry bytes)`` (RFC 9162);
``prev`` of entry 0 is 32 zero bytes. ``cosig`` is the operator's countersignature over
``b"chestnut-countersign/v1\\n" || action bytes``, present where the rules need the operator's consent.

Personal data never goes into an action: services put internal references or salted hashes there.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.canonical import canonical_json
from ledger.errors import EntryTooLarge, InvalidAmount, MalformedAction

ACTION_VERSION = 1
ACTION_PREFIX = b"chestnut-action/v1\n"
COUNTERSIGN_PREFIX = b"chestnut-countersign/v1\n"
GENESIS_PREV = b"\x00" * 32
TOKENS = ("BTL", "BNM")
MAX_AMOUNT = 2**53 - 1  # I-JSON integers; ~9 quadrillion won is beyond any cooperative
MAX_ENTRY_BYTES = 65535  # tlog-tiles entry bundles prefix each entry with a uint16 length
TRANSFER_TYPES = ("single", "pending", "post", "void")

_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9_\-]*(:[A-Za-z0-9_\-.]+)*$")
_TRANSFER_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,96}$")
_SIGNED_MARK = b',"signed":'


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any, what: str, length: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise MalformedAction(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedAction(f"{what} is not valid base64") from None
    if length is not None and len(raw) != length:
        raise MalformedAction(f"{what} must be {length} bytes, found {len(raw)}")
    return raw


def check_amount(value: Any, what: str = "amount") -> int:
    if type(value) is not int or value <= 0 or value > MAX_AMOUNT:
        raise InvalidAmount(f"{what} must be a whole number from 1 to {MAX_AMOUNT}, got {value!r}", value=repr(value))
    return value


_known_account_ids: set[str] = set()  # ids repeat on every entry; a set lookup beats the regex


def check_account_id(value: Any) -> str:
    if type(value) is str and value in _known_account_ids:
        return value
    if not isinstance(value, str) or len(value) > 96 or not _ACCOUNT_ID.match(value):
        raise MalformedAction(f"not an account id: {value!r}")
    if len(_known_account_ids) > 100_000:
        _known_account_ids.clear()
    _known_account_ids.add(value)
    return value


def check_token(value: Any) -> str:
    if value not in TOKENS:
        raise MalformedAction(f"token must be one of {', '.join(TOKENS)}, got {value!r}")
    return str(value)


def check_kind(value: Any) -> str:
    # Why a shared check: the writer used to sign any ``Request.kind`` ("Pay Now", 70 characters, "")
    # while every verifier refuses such an action, so one bad call left a ledger that failed
    # ``chestnut ledger verify`` forever (tests/integration/test_ledger_service.py::
    # test_malformed_request_kind_is_refused_before_signing). Writer and reader now apply this one rule.
    if not isinstance(value, str) or len(value) > 64 or not _KIND.match(value):
        raise MalformedAction(f"action kind must look like 'order.place', got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Transfer:
    """A double-entry transfer (TigerBeetle's model). ``id`` is chosen by the client and unique forever.

    ``single`` moves money now; ``pending`` reserves it (escrow); ``post`` completes a pending
    transfer for up to its amount; ``void`` releases it. Post and void name the pending transfer and
    repeat its accounts and token, so each entry reads on its own.
    """

    id: str
    debit: str
    credit: str
    amount: int
    token: str
    type: str = "single"
    pending_id: str | None = None
    timeout_s: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _TRANSFER_ID.match(self.id):
            raise MalformedAction(f"transfer id must be 1–96 of A-Za-z0-9_-.: , got {self.id!r}")
        check_account_id(self.debit)
        check_account_id(self.credit)
        if self.debit == self.credit:
            raise MalformedAction(f"transfer {self.id} debits and credits the same account")
        check_amount(self.amount)
        check_token(self.token)
        if self.type not in TRANSFER_TYPES:
            raise MalformedAction(f"transfer type must be one of {TRANSFER_TYPES}, got {self.type!r}")
        if (self.type in ("post", "void")) != (self.pending_id is not None):
            raise MalformedAction("post and void transfers (and only they) name a pending_id")
        if self.pending_id is not None and (
            not isinstance(self.pending_id, str) or not _TRANSFER_ID.match(self.pending_id)
        ):
            raise MalformedAction(f"not a transfer id: {self.pending_id!r}")
        if self.timeout_s is not None and (
            self.type != "pending" or type(self.timeout_s) is not int or self.timeout_s <= 0
        ):
            raise MalformedAction("timeout_s is a positive whole number of seconds, on pending transfers only")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "amount": self.amount,
            "credit": self.credit,
            "debit": self.debit,
            "id": self.id,
            "token": self.token,
            "type": self.type,
        }
        if self.pending_id is not None:
            out["pending_id"] = self.pending_id
        if self.timeout_s is not None:
            out["timeout_s"] = self.timeout_s
        return out

    @classmethod
    def from_json(cls, obj: Any) -> Transfer:
        if not isinstance(obj, dict):
            raise MalformedAction("a transfer must be an object")
        allowed = {"amount", "credit", "debit", "id", "token", "type", "pending_id", "timeout_s"}
        if not allowed.issuperset(obj) or not {"amount", "credit", "debit", "id", "token", "type"} <= obj.keys():
            raise MalformedAction(f"transfer fields must be {sorted(allowed)}")
        return cls(
            id=obj["id"],
            debit=obj["debit"],
            credit=obj["credit"],
            amount=obj["amount"],
            token=obj["token"],
            type=obj["type"],
            pending_id=obj.get("pending_id"),
            timeout_s=obj.get("timeout_s"),
        )


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account opened by an action. ``owner`` is the public key whose signature may debit it."""

    id: str
    token: str
    owner: bytes | None = None

    def __post_init__(self) -> None:
        check_account_id(self.id)
        check_token(self.token)
        if self.owner is not None and len(self.owner) != 32:
            raise MalformedAction("an account owner is a 32-byte public key")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "owner": b64(self.owner) if self.owner else None, "token": self.token}

    @classmethod
    def from_json(cls, obj: Any) -> AccountSpec:
        if not isinstance(obj, dict) or set(obj) != {"id", "owner", "token"}:
            raise MalformedAction("an account opening has exactly id, owner and token")
        owner = None if obj["owner"] is None else unb64(obj["owner"], "account owner", 32)
        return cls(id=obj["id"], token=obj["token"], owner=owner)


@dataclass(frozen=True, slots=True)
class Action:
    kind: str
    actor: bytes
    seq: int
    time: int
    body: Mapping[str, Any] = field(default_factory=dict)
    accounts: tuple[AccountSpec, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    v: int = ACTION_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "accounts": [a.to_json() for a in self.accounts],
            "actor": b64(self.actor),
            "body": self.body,
            "kind": self.kind,
            "seq": self.seq,
            "time": self.time,
            "transfers": [t.to_json() for t in self.transfers],
            "v": self.v,
        }

    def encode(self) -> bytes:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> Action:
        if not isinstance(obj, dict):
            raise MalformedAction("an action must be a JSON object")
        expected = {"accounts", "actor", "body", "kind", "seq", "time", "transfers", "v"}
        if set(obj) != expected:
            raise MalformedAction(f"an action has exactly the fields {sorted(expected)}, found {sorted(obj)}")
        # Why ``type(...) is int``: ``true == 1`` in Python, so ``"v":true`` used to pass as version 1
        # (tests/integration/test_ledger_service.py::test_malformed_signed_action_is_refused[version-true]).
        if type(obj["v"]) is not int or obj["v"] != ACTION_VERSION:
            raise MalformedAction(f"unsupported action version {obj['v']!r}")
        kind = check_kind(obj["kind"])
        for name in ("seq", "time"):
            if type(obj[name]) is not int or obj[name] < 0:
                raise MalformedAction(f"action {name} must be a non-negative whole number")
        if not isinstance(obj["body"], dict):
            raise MalformedAction("action body must be an object")
        if not isinstance(obj["accounts"], list) or not isinstance(obj["transfers"], list):
            raise MalformedAction("accounts and transfers must be lists")
        return cls(
            kind=kind,
            actor=unb64(obj["actor"], "actor", 32),
            seq=obj["seq"],
            time=obj["time"],
            body=obj["body"],
            accounts=tuple(AccountSpec.from_json(a) for a in obj["accounts"]),
            transfers=tuple(Transfer.from_json(t) for t in obj["transfers"]),
        )

    @classmethod
    def decode(cls, data: bytes) -> Action:
        try:
            obj = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            raise MalformedAction("action is not JSON") from None
        return cls.from_json(obj)


def encode_entry(seq: int, prev: bytes, action_bytes: bytes, sig: bytes, cosig: bytes | None) -> bytes:
    """Entry bytes, built by concatenation: every field is already canonical, keys in sorted order."""
    head = b'{"cosig":"' + b64(cosig).encode() + b'",' if cosig is not None else b"{"
    entry = (
        head
        + b'"prev":"'
        + b64(prev).encode()
        + b'","seq":'
        + str(seq).encode()
        + b',"sig":"'
        + b64(sig).encode()
        + b'"'
        + _SIGNED_MARK
        + action_bytes
        + b"}"
    )
    if len(entry) > MAX_ENTRY_BYTES:
        raise EntryTooLarge(f"the entry would be {len(entry)} bytes; the limit is {MAX_ENTRY_BYTES}")
    return entry


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    prev: bytes
    sig: bytes
    cosig: bytes | None
    action_bytes: bytes


def _split_fast(entry: bytes) -> Entry | None:
    """The header as our writer lays it out, read by position; None means "take the general path"."""
    pos = 0
    cosig = None
    try:
        if entry.startswith(b'{"cosig":"'):
            cosig = base64.b64decode(entry[10:98], validate=True)
            if entry[98:100] != b'",':
                return None
            pos = 100
        else:
            pos = 1
        if entry[pos : pos + 8] != b'"prev":"' or entry[pos + 52 : pos + 60] != b'","seq":':
            return None
        prev = base64.b64decode(entry[pos + 8 : pos + 52], validate=True)
        end_seq = entry.index(b",", pos + 60)
        digits = entry[pos + 60 : end_seq]
        if not digits.isdigit() or (len(digits) > 1 and digits[0:1] == b"0"):
            return None
        start_sig = end_seq + 1
        if (
            entry[start_sig : start_sig + 7] != b'"sig":"'
            or entry[start_sig + 95 : start_sig + 106] != b'"' + _SIGNED_MARK
        ):
            return None
        sig = base64.b64decode(entry[start_sig + 7 : start_sig + 95], validate=True)
    except (binascii.Error, ValueError):
        return None
    action_bytes = entry[start_sig + 106 : -1]
    if len(prev) != 32 or len(sig) != 64 or (cosig is not None and len(cosig) != 64) or entry[-1:] != b"}":
        return None
    if action_bytes[:1] != b"{" or action_bytes[-1:] != b"}":
        return None
    return Entry(int(digits), prev, sig, cosig, action_bytes)


def split_entry(entry: bytes) -> Entry:
    """Parse entry bytes into their fields, keeping the exact signed action bytes."""
    fast = _split_fast(entry)
    if fast is not None:
        return fast
    cut = entry.find(_SIGNED_MARK)
    if cut < 0 or not entry.endswith(b"}"):
        raise MalformedAction("not an entry: no signed action")
    try:
        head = json.loads(entry[:cut] + b"}")
    except (UnicodeDecodeError, ValueError):
        raise MalformedAction("entry header is not JSON") from None
    if not isinstance(head, dict) or not {"prev", "seq", "sig"} <= head.keys() <= {
        "cosig",
        "prev",
        "seq",
        "sig",
    }:
        raise MalformedAction("entry header must have prev, seq, sig (and optionally cosig)")
    if type(head["seq"]) is not int:
        raise MalformedAction("entry seq must be a whole number")
    cosig = head.get("cosig")
    action_bytes = entry[cut + len(_SIGNED_MARK) : -1]
    if action_bytes[:1] != b"{" or action_bytes[-1:] != b"}":
        raise MalformedAction("the signed action is not a complete JSON object")
    return Entry(
        seq=head["seq"],
        prev=unb64(head["prev"], "prev", 32),
        sig=unb64(head["sig"], "sig", 64),
        cosig=None if cosig is None else unb64(cosig, "cosig", 64),
        action_bytes=action_bytes,
    )


def decode_entry_json(entry: bytes) -> dict[str, Any]:
    """The decoded form shown beside the exact bytes (HTTP API, ``ledger show``)."""
    parts = split_entry(entry)
    out: dict[str, Any] = {"seq": parts.seq, "prev": b64(parts.prev), "sig": b64(parts.sig)}
    if parts.cosig is not None:
        out["cosig"] = b64(parts.cosig)
    out["signed"] = json.loads(parts.action_bytes)
    return out
