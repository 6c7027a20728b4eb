"""Accredited readers: the bearer tokens the operator issues to member organisations' replicas.

A replica needs every entry to re-check every signature and money rule; the public gets the content of
public entries only (``ledger.visibility``). The operator registers each replica by name with
``chestnut ledger readers issue NAME``, which prints a token once; the replica sends it as
``Authorization: Bearer <token>`` (``CHESTNUT_REPLICA_TOKEN``) to the primary only.

Only a SHA-256 digest of each token is stored, so a copy of the database holds no credential. A token is
checked against every registered digest with ``hmac.compare_digest`` and no early exit, so the time an
answer takes says nothing about how close a guess came. Issuing again for a name replaces its token;
revoking takes effect on the next request (nothing is cached).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from ledger.errors import ChestnutError
from ledger.storage.unit_of_work import UnitOfWork

TOKEN_PREFIX = "chestnut-reader-"  # noqa: S105 - the prefix of every token, not a secret
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
_DOMAIN = b"chestnut-reader-token/v1\n"


class BadReaderName(ChestnutError):
    code = "bad_reader_name"


class UnknownReader(ChestnutError):
    code = "unknown_reader"
    http_status = 404


class ReaderRefused(ChestnutError):
    """A bearer token was sent and it is not one the operator issued (or it was revoked)."""

    code = "reader_unauthorized"
    http_status = 401


@dataclass(frozen=True, slots=True)
class Reader:
    name: str
    created_ms: int
    revoked_ms: int | None


def digest(token: str) -> bytes:
    return hashlib.sha256(_DOMAIN + token.encode("utf-8")).digest()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise BadReaderName(
            "a reader's name is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            name=str(name)[:80],
        )
    return name


async def issue(uow: UnitOfWork, name: str, *, now_ms: int | None = None) -> str:
    """A new token for ``name`` (replacing any earlier one); shown once, stored only as a digest."""
    check_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    params = {"n": name, "h": digest(token), "t": now}
    updated = await uow.fetch(
        "UPDATE ledger_readers SET token_hash = :h, created_ms = :t, revoked_ms = NULL WHERE name = :n RETURNING name",
        params,
    )
    if not updated:
        await uow.execute(
            "INSERT INTO ledger_readers (name, token_hash, created_ms, revoked_ms) VALUES (:n, :h, :t, NULL)", params
        )
    return token


async def revoke(uow: UnitOfWork, name: str, *, now_ms: int | None = None) -> None:
    now = int(time.time() * 1000) if now_ms is None else now_ms
    rows = await uow.fetch(
        "UPDATE ledger_readers SET revoked_ms = :t WHERE name = :n AND revoked_ms IS NULL RETURNING name",
        {"n": check_name(name), "t": now},
    )
    if not rows:
        raise UnknownReader(f"no reader named {name!r} holds a token", name=name)


async def listing(uow: UnitOfWork) -> list[Reader]:
    rows = await uow.fetch("SELECT name, created_ms, revoked_ms FROM ledger_readers ORDER BY name")
    return [Reader(str(n), int(c), None if r is None else int(r)) for n, c, r in rows]


async def check(uow: UnitOfWork, token: str) -> str | None:
    """The name of the reader holding ``token``, or None; compared with every live digest in full."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
        return None
    if not _TOKEN.match(token.removeprefix(TOKEN_PREFIX)):
        return None
    wanted = digest(token)
    rows = await uow.fetch("SELECT name, token_hash FROM ledger_readers WHERE revoked_ms IS NULL")
    found = None
    for name, stored in rows:
        if hmac.compare_digest(bytes(stored), wanted):
            found = str(name)
    return found


__all__ = ["Reader", "ReaderRefused", "UnknownReader", "check", "digest", "issue", "listing", "revoke"]
