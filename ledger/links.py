"""Signed, expiring links: how a member logs in to the ledger explorer from a chat button.

Why signatures and no table: the chat issues a link (purpose ``login``, a few minutes) for the
member's ledger key; the explorer checks it and sets a session cookie (purpose ``session``, an hour),
the same format. Both are ``base64url(purpose || public key || expiry) || signature`` with the
explorer's own custodial Ed25519 key (``system:explorer``, made on first use, sealed like every other
key), so nothing can be forged without the key and nothing needs storing. A link names a *ledger
key*, never a name or a phone: the explorer knows members only as the keys that sign their entries.

The same key also makes the private salts of the proof-of-liabilities leaves (a deterministic
signature is unpredictable without the key), so only the member learns their own leaf.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from ledger.errors import ChestnutError
from ledger.keys import CustodialKey, KeyStore
from ledger.storage.unit_of_work import UnitOfWork

ROLE_EXPLORER = "system:explorer"
LOGIN_TTL_S = 600
SESSION_TTL_S = 3600
SESSION_COOKIE = "chestnut_ledger"  # path /ledger: the explorer, /ledger/entries and the tiles read it
_PURPOSES = {"login": b"L", "session": b"S"}
_DOMAIN = b"chestnut-explorer-link/v1\n"
_RAW_LEN = 1 + 32 + 8 + 64


class BadLink(ChestnutError):
    code = "bad_link"
    http_status = 403


class ExpiredLink(BadLink):
    code = "expired_link"


@dataclass(frozen=True, slots=True)
class LinkSigner:
    key: CustodialKey

    def issue(self, purpose: str, public_key: bytes, *, ttl_s: int, now_s: float | None = None) -> str:
        if len(public_key) != 32:
            raise BadLink("a link names a 32-byte ledger key")
        expires = int((time.time() if now_s is None else now_s) + ttl_s)
        raw = _PURPOSES[purpose] + public_key + expires.to_bytes(8, "big")
        return base64.urlsafe_b64encode(raw + self.key.sign(_DOMAIN + raw)).decode().rstrip("=")

    def check(self, purpose: str, token: str, *, now_s: float | None = None) -> bytes:
        """The ledger key the token names; ``BadLink`` if forged or mangled, ``ExpiredLink`` if old."""
        if not isinstance(token, str) or not 100 <= len(token) <= 160 or not token.isascii():
            raise BadLink("this link is not valid")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise BadLink("this link is not valid") from None
        if len(raw) != _RAW_LEN or raw[:1] != _PURPOSES[purpose]:
            raise BadLink("this link is not valid")
        body, sig = raw[:-64], raw[-64:]
        try:
            nacl.signing.VerifyKey(self.key.public_key).verify(_DOMAIN + body, sig)
        except nacl.exceptions.BadSignatureError:
            raise BadLink("this link is not valid") from None
        expires = int.from_bytes(body[33:41], "big")
        if (time.time() if now_s is None else now_s) > expires:
            raise ExpiredLink("this link has expired; tap the button in the chat again", expired=expires)
        return body[1:33]

    def salt(self, size: int, account: str) -> bytes:
        return self.key.sign(b"chestnut-liability-salt/v1\n" + str(size).encode() + b"\n" + account.encode())[:32]


async def link_signer(keys: KeyStore, uow: UnitOfWork) -> LinkSigner:
    """The explorer's key, created in the caller's transaction if it is missing (commit to keep it)."""
    found = await keys.find(uow, [ROLE_EXPLORER])
    if ROLE_EXPLORER in found:
        return LinkSigner(found[ROLE_EXPLORER])
    return LinkSigner(await keys.create(uow, ROLE_EXPLORER))


async def existing_link_signer(keys: KeyStore, uow: UnitOfWork) -> LinkSigner | None:
    """The explorer's key if a link was ever issued (the explorer itself never writes)."""
    found = await keys.find(uow, [ROLE_EXPLORER])
    return LinkSigner(found[ROLE_EXPLORER]) if ROLE_EXPLORER in found else None


async def login_link(keys: KeyStore, uow: UnitOfWork, base_url: str, public_key: bytes) -> str:
    """The URL a chat button opens: ``<base>/ledger/login?t=<token>``, valid for ``LOGIN_TTL_S``.

    In the caller's unit of work (the chat's own turn), which keeps the explorer's key if it was new.
    """
    signer = await link_signer(keys, uow)
    return f"{base_url.rstrip('/')}/ledger/login?t={signer.issue('login', public_key, ttl_s=LOGIN_TTL_S)}"
