"""Who may read an entry's content: public kinds to anyone, the rest to accredited replicas and its member.

The Merkle tree covers every entry and the hash tiles stay public, so anyone can still check that entry
*n* with leaf hash *h* is in a signed checkpoint, and that checkpoints are consistent. What is withheld is
the *content* of a restricted entry: to a reader who may not see it, it is served as a **stub** — the
canonical JSON ``{"leaf_hash": <b64>, "restricted": true, "seq": n}`` in place of the entry bytes (in
entry bundles and ``/ledger/entries``) — enough to check inclusion, nothing of the kind, actor, time,
body or transfers.

An entry is public only if its kind is one the deployment declares public (``Visibility``; commerce's
list is ``commerce.visibility``) *and* it moves no money and opens no account with an owner: a public
kind can never carry a member's money into view. Everything else — and anything that does not parse —
is restricted.

Who sees a restricted entry (``Audience``):
- an accredited reader (a replica holding a token from ``ledger.readers``): every entry;
- a member logged in to the explorer (the session cookie of ``ledger.links``): the entries they signed,
  and those that open or move money in an account they own;
- anyone else: the stub.

A bearer token that is not a live one is refused with 401 rather than read as "anonymous", so a
replica whose credential was revoked is told so instead of silently getting stubs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ledger import merkle, readers
from ledger.canonical import canonical_json
from ledger.errors import ChestnutError
from ledger.links import SESSION_COOKIE, BadLink, existing_link_signer
from ledger.model import split_entry
from ledger.storage.unit_of_work import UnitOfWork

STUB_START = b'{"leaf_hash":"'


@dataclass(frozen=True, slots=True)
class Visibility:
    """The kinds whose entries anyone may read (when they move no money and open no owned account)."""

    public_kinds: frozenset[str] = frozenset()

    def is_public(self, action: Any) -> bool:
        if not isinstance(action, dict) or action.get("kind") not in self.public_kinds:
            return False
        if action.get("transfers") != []:
            return False
        accounts = action.get("accounts")
        return isinstance(accounts, list) and all(isinstance(a, dict) and a.get("owner") is None for a in accounts)


@dataclass(frozen=True, slots=True)
class Facts:
    """What deciding visibility needs from one entry's signed action."""

    public: bool
    actor: str | None  # base64, as in the action
    owners: frozenset[str]  # owners (base64) of the accounts it opens
    accounts: frozenset[str]  # accounts its transfers debit or credit


def facts(entry: bytes, visibility: Visibility) -> Facts:
    try:
        action = json.loads(split_entry(entry).action_bytes)
    except (ChestnutError, ValueError):
        return Facts(False, None, frozenset(), frozenset())
    if not isinstance(action, dict):
        return Facts(False, None, frozenset(), frozenset())
    actor = action.get("actor") if isinstance(action.get("actor"), str) else None
    owners = {
        a["owner"] for a in action.get("accounts") or [] if isinstance(a, dict) and isinstance(a.get("owner"), str)
    }
    moved = {
        str(t.get(side))
        for t in action.get("transfers") or []
        if isinstance(t, dict)
        for side in ("debit", "credit")
        if isinstance(t.get(side), str)
    }
    return Facts(visibility.is_public(action), actor, frozenset(owners), frozenset(moved))


def stub(seq: int, leaf: bytes) -> bytes:
    return canonical_json({"leaf_hash": base64.b64encode(leaf).decode("ascii"), "restricted": True, "seq": seq})


def is_stub(data: bytes) -> bool:
    return data.startswith(STUB_START)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who is reading: an accredited reader's name, or a member's ledger key with the accounts they own."""

    reader: str | None = None
    member: bytes | None = None
    accounts: frozenset[str] = field(default_factory=frozenset)

    @property
    def anonymous(self) -> bool:
        return self.reader is None and self.member is None

    def sees(self, f: Facts) -> bool:
        if f.public or self.reader is not None:
            return True
        if self.member is None:
            return False
        mine = base64.b64encode(self.member).decode("ascii")
        return f.actor == mine or mine in f.owners or not f.accounts.isdisjoint(self.accounts)


PUBLIC = Audience()


class Gate:
    """Works out a request's audience and shows each entry to it, whole or as a stub.

    ``readers``: whether this server accepts reader tokens (the primary does; a replica serves its copy
    to nobody in full). ``keys``: the key store holding the explorer's key, for members' sessions.
    """

    def __init__(self, visibility: Visibility, *, readers: bool = False, keys: Any = None) -> None:
        self.visibility = visibility
        self.readers = readers
        self.keys = keys

    async def audience(self, request: web.Request, uow: UnitOfWork) -> Audience:
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            name = await readers.check(uow, token.strip()) if self.readers and scheme.lower() == "bearer" else None
            if name is None:
                raise readers.ReaderRefused(
                    "this bearer token is not a reader credential this server accepts (unknown, revoked, or "
                    "sent to a replica); ask the operator for one: chestnut ledger readers issue NAME"
                )
            return Audience(reader=name)
        member = await self._member(request, uow)
        if member is None:
            return PUBLIC
        rows = await uow.fetch("SELECT id FROM ledger_accounts WHERE owner = :k", {"k": member})
        return Audience(member=member, accounts=frozenset(str(r[0]) for r in rows))

    async def _member(self, request: web.Request, uow: UnitOfWork) -> bytes | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie or self.keys is None:
            return None
        signer = await existing_link_signer(self.keys, uow)
        if signer is None:
            return None
        try:
            return signer.check("session", cookie)
        except BadLink:
            return None

    def facts(self, entry: bytes) -> Facts:
        return facts(entry, self.visibility)

    def show(self, audience: Audience, seq: int, entry: bytes) -> bytes:
        """The entry's bytes if the audience may read them, else its stub."""
        if audience.reader is not None or audience.sees(self.facts(entry)):
            return entry
        return stub(seq, merkle.leaf_hash(entry))

    def show_all(self, audience: Audience, rows: Iterable[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return [(seq, self.show(audience, seq, entry)) for seq, entry in rows]


def cache_headers(audience: Audience, public_value: str) -> dict[str, str]:
    """Caching for an answer that depends on who asks: shared caches keep only the anonymous one."""
    value = public_value if audience.anonymous else public_value.replace("public", "private", 1)
    return {"Cache-Control": value, "Vary": "Authorization, Cookie"}


__all__ = ["PUBLIC", "Audience", "Facts", "Gate", "Visibility", "cache_headers", "facts", "is_stub", "stub"]
