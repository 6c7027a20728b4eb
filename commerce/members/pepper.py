"""The pepper: the deployment's secret behind every hash of personal data (``Services.personal_ref``).

It lives in a file beside the master key (``pepper.key``: 64 hex digits, mode 0600, made on first start,
written crash-safely like the master key) and never in the database. Why: a copy of the database — a
backup, a dump, a replica of the primary store — must not let anyone test guesses against the hashes it
holds or the ledger carries: the 10⁸ mobile numbers behind a phone hash, an address erased after its
claim window behind its reference, a claim's words behind their digest. With the pepper elsewhere, each
guess needs the file too.

The database keeps only the pepper's *id* (a hash of it, like the master key's id): a start whose pepper
file is missing, or holds another pepper, is refused with what to do, instead of hashing with a new
secret that would match nothing stored (every member would have to verify their phone again).

A database made before this kept the pepper in ``market_settings``: the first start copies that very
value into the file (synced), and only then deletes it from the database — on SQLite with
``secure_delete``, so its bytes do not linger in a free page — so every hash made before stays valid.
A crash in between leaves both, equal, and the next start finishes the move.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from pathlib import Path

from ledger.errors import KeyStoreError
from ledger.keys import read_secret_file, write_secret_file
from ledger.storage.unit_of_work import Database, UnitOfWork

ID_KEY = "pepper_id"
OLD_KEY = "pepper"


class PepperMismatch(KeyStoreError):
    code = "pepper_mismatch"


class PepperMissing(KeyStoreError):
    code = "pepper_missing"


def pepper_id(secret: bytes) -> str:
    """Safe to store and show: says which pepper made a database's hashes, reveals nothing of it."""
    return hashlib.sha256(b"chestnut/pepper-id\n" + secret).hexdigest()[:16]


def _write(path: Path, secret: bytes) -> bytes:
    """Write the new file; if another process made it first, that one's pepper is the pepper."""
    with contextlib.suppress(FileExistsError):
        write_secret_file(path, secret)
    return read_secret_file(path, "pepper")


async def _settings(uow: UnitOfWork) -> dict[str, str]:
    rows = await uow.fetch("SELECT key, value FROM market_settings WHERE key IN ('pepper', 'pepper_id')")
    return {str(k): str(v) for k, v in rows}


async def load_pepper(db: Database, path: Path) -> bytes:
    """The pepper from its file (made, or moved out of the database, on first start); checked against the id
    the database keeps."""
    async with db.snapshot() as snap:
        stored = await _settings(snap)
    old, known = stored.get(OLD_KEY), stored.get(ID_KEY)
    try:
        old_secret = None if old is None else bytes.fromhex(old)
    except ValueError:
        raise PepperMismatch("market_settings holds a pepper that is not hexadecimal: fix or remove it") from None
    if path.exists():  # noqa: ASYNC240 - once, at start-up
        secret = read_secret_file(path, "pepper")
    elif old_secret is not None:
        secret = _write(path, old_secret)
    elif known is not None:
        raise PepperMissing(
            f"the pepper file {path} is missing, but this database's personal-data hashes were made with pepper "
            f"{known}; restore the file (or point CHESTNUT_PEPPER_FILE at it) — a new pepper would match none of them",
            pepper_id=known,
        )
    else:
        secret = _write(path, secrets.token_bytes(32))
    made = pepper_id(secret)
    if old_secret is not None and old_secret != secret:
        raise PepperMismatch(
            f"the pepper file {path} holds pepper {made}, but the database still holds pepper "
            f"{pepper_id(old_secret)} that its hashes were made with; move the file aside and start again to "
            "have the database's pepper written there",
            file=made,
            database=pepper_id(old_secret),
        )
    if known is not None and known != made:
        raise PepperMismatch(
            f"the pepper file {path} holds pepper {made}, but this database's hashes were made with pepper "
            f"{known}; restore the right file (or point CHESTNUT_PEPPER_FILE at it)",
            file=made,
            database=known,
        )
    if known is None or old is not None:
        async with db.unit_of_work() as uow:
            await uow.execute(
                "INSERT INTO market_settings (key, value) VALUES ('pepper_id', :v) ON CONFLICT (key) DO NOTHING",
                {"v": made},
            )
            if (await _settings(uow)).get(ID_KEY) != made:  # another first start, with another pepper, won
                raise PepperMismatch(f"another process made this database's pepper while this one made {made}")
            if old is not None:
                if uow.dialect == "sqlite":
                    await uow.execute("PRAGMA secure_delete = ON")
                await uow.execute("DELETE FROM market_settings WHERE key = 'pepper'")
                if uow.dialect == "sqlite":
                    await uow.execute("PRAGMA secure_delete = OFF")
            await uow.commit()
    return secret


__all__ = ["PepperMismatch", "PepperMissing", "load_pepper", "pepper_id"]
