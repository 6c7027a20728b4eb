"""Custodial Ed25519 keys: one per member and one per system role, sealed at rest under a master key.

The master key is a 32-byte secret in a file outside the database (mode 0600, created on first
start). Each private key is stored only as ``SecretBox(master).encrypt(seed)``; it is decrypted into
memory when first used and never logged, printed or returned — callers get a ``CustodialKey`` that
can ``sign`` and show its public key, nothing more.

Master-key rotation is crash-safe: the new key is written beside the old one (``master.key.new``),
every sealed key is re-sealed in one transaction, and only then is the new file moved into place. A
start after a crash between those steps finishes or discards the rotation by looking at which master
key the database rows name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.secret
import nacl.signing
import nacl.utils

from ledger.errors import CorruptKeyFile, InsecureKeyFile, KeyStoreError, UnknownKey, WrongMasterKey
from ledger.storage.ops import in_clause, write_many
from ledger.storage.unit_of_work import Database, UnitOfWork

ROLE_LEDGER = "system:ledger"
ROLE_OPERATOR = "system:operator"


class MasterKey:
    """The secret that seals every custodial key. Its ``id`` (a hash) is safe to store and show."""

    __slots__ = ("_box", "id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != nacl.secret.SecretBox.KEY_SIZE:
            raise CorruptKeyFile("a master key is 32 bytes")
        self._box = nacl.secret.SecretBox(secret)
        self.id = hashlib.sha256(b"chestnut/master-key-id\n" + secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE))

    def seal(self, seed: bytes) -> bytes:
        return bytes(self._box.encrypt(seed))

    def unseal(self, sealed: bytes) -> bytes:
        try:
            return bytes(self._box.decrypt(sealed))
        except nacl.exceptions.CryptoError:
            raise KeyStoreError("a sealed key failed to decrypt: the key store is damaged") from None

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (an HMAC key, say), so the master key itself seals and nothing else.

        A rotation changes every derived key: whatever one signs must survive that (see ``bots.webchat``).
        """
        return hmac.new(self._secret(), b"chestnut/derived-key\n" + purpose.encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"MasterKey(id={self.id})"

    # The secret itself is only ever written by ``write_master_key``.
    def _secret(self) -> bytes:
        return bytes(self._box._key)


def write_master_key(path: Path, key: MasterKey) -> None:
    """Create the key file with mode 0600 from the start (never world-readable, even briefly)."""
    write_secret_file(path, key._secret())


def write_secret_file(path: Path, secret: bytes) -> None:
    """A 32-byte secret as 64 hex digits in a new file of mode 0600 (the master key, the pepper).

    Why a temporary file and a link: the file used to be created in place and then written, so a
    crash in between (kill -9, power cut) left an empty ``master.key`` (or ``master.key.new`` during
    a rotation) that refused every later start as "not 64 hexadecimal digits"
    (tests/e2e/test_crash_safety.py::test_sigkill_while_writing_the_master_key). Now the complete,
    synced file appears under its name in one step; ``os.link`` refuses an existing name as
    ``O_EXCL`` did (``FileExistsError``), so a secret is still never replaced.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover of an earlier crashed process with our pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.write(fd, secret.hex().encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def read_master_key(path: Path) -> MasterKey:
    return MasterKey(read_secret_file(path))


def read_secret_file(path: Path, what: str = "master key") -> bytes:
    """The 32-byte secret of a file ``write_secret_file`` made; refused if others may read it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyStoreError(f"{what} file {path} is missing") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureKeyFile(
            f"{what} file {path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); run: chmod 600 {path}",
            path=str(path),
        )
    raw = path.read_bytes().strip()
    try:
        secret = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise CorruptKeyFile(f"{what} file {path} is not 64 hexadecimal digits", path=str(path)) from None
    if len(secret) != 32:
        raise CorruptKeyFile(f"{what} file {path} is not 64 hexadecimal digits", path=str(path))
    return secret


def load_or_create_master_key(path: Path) -> MasterKey:
    if not path.exists():
        write_master_key(path, MasterKey.generate())
    return read_master_key(path)


def _pending_rotation_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


@dataclass(frozen=True, slots=True, repr=False)
class CustodialKey:
    """A key held for its owner: signs, shows its public key, never reveals its private half."""

    label: str
    public_key: bytes
    _signing_key: nacl.signing.SigningKey

    def sign(self, message: bytes) -> bytes:
        return bytes(self._signing_key.sign(message).signature)

    def __repr__(self) -> str:
        return f"CustodialKey(label={self.label!r}, public_key={self.public_key.hex()[:16]}…)"


@dataclass(frozen=True, slots=True)
class NamedSigner:
    """A custodial key under a note key name (C2SP signed-note ``Signer``)."""

    name: str
    key: CustodialKey

    @property
    def public_key(self) -> bytes:
        return self.key.public_key

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


class KeyStore:
    """Creates, unseals and caches custodial keys; all rows live in ``ledger_keys``."""

    # Unsealed keys kept in memory, the most recently used first to stay: a member's key is needed again
    # within a conversation, not forever, and 100,000 kept keys would only be secrets held in memory and
    # a heap the cycle collector walks (a ~100 ms pause, seen in bench ads).
    CACHE_LIMIT = 10_000

    def __init__(self, master: MasterKey) -> None:
        self._master = master
        self._by_label: dict[str, CustodialKey] = {}

    @property
    def master_id(self) -> str:
        return self._master.id

    def derive_key(self, purpose: str) -> bytes:
        return self._master.derive(purpose)

    def _remember(self, key: CustodialKey) -> CustodialKey:
        self._by_label[key.label] = key
        if len(self._by_label) > self.CACHE_LIMIT:
            del self._by_label[next(iter(self._by_label))]  # the least recently used
        return key

    def _forget_on_rollback(self, uow: UnitOfWork, keys: Sequence[CustodialKey]) -> None:
        # A key created in ``uow`` is cached at once (later calls in the same transaction use it); if the
        # transaction does not commit, its row is gone and so must the cached key be (see UnitOfWork.on_rollback).
        def forget() -> None:
            for key in keys:
                self._by_label.pop(key.label, None)

        uow.on_rollback(forget)

    def _unseal_row(self, label: str, public_key: bytes, sealed: bytes, master_id: str) -> CustodialKey:
        if master_id != self._master.id:
            raise WrongMasterKey(
                f"key {label!r} is sealed under master key {master_id}, but the configured master key is "
                f"{self._master.id}",
                sealed_under=master_id,
                configured=self._master.id,
            )
        signing_key = nacl.signing.SigningKey(self._master.unseal(sealed))
        if bytes(signing_key.verify_key) != public_key:
            raise KeyStoreError(f"key {label!r} does not match its public key: the key store is damaged")
        return self._remember(CustodialKey(label, public_key, signing_key))

    async def create(self, uow: UnitOfWork, label: str) -> CustodialKey:
        """A new key under ``label``; an existing label is answered with its key (idempotent)."""
        existing = await self.find(uow, [label])
        if label in existing:
            return existing[label]
        signing_key = nacl.signing.SigningKey.generate()
        public_key = bytes(signing_key.verify_key)
        await uow.execute(
            "INSERT INTO ledger_keys (public_key, label, sealed, master_key_id, created_ms) "
            "VALUES (:pk, :label, :sealed, :mid, :ms)",
            {
                "pk": public_key,
                "label": label,
                "sealed": self._master.seal(bytes(signing_key)),
                "mid": self._master.id,
                "ms": int(time.time() * 1000),
            },
        )
        key = self._remember(CustodialKey(label, public_key, signing_key))
        self._forget_on_rollback(uow, [key])
        return key

    async def create_many(self, uow: UnitOfWork, labels: Sequence[str]) -> list[CustodialKey]:
        """Bulk creation (demo data, benchmarks): one round trip for all rows."""
        keys = []
        rows = []
        now = int(time.time() * 1000)
        for label in labels:
            signing_key = nacl.signing.SigningKey.generate()
            key = CustodialKey(label, bytes(signing_key.verify_key), signing_key)
            keys.append(key)
            rows.append(
                {
                    "pk": key.public_key,
                    "label": label,
                    "sealed": self._master.seal(bytes(signing_key)),
                    "mid": self._master.id,
                    "ms": now,
                }
            )
        await uow.batch(
            [
                write_many(
                    "INSERT INTO ledger_keys (public_key, label, sealed, master_key_id, created_ms) "
                    "VALUES (:pk, :label, :sealed, :mid, :ms)",
                    rows,
                )
            ]
        )
        for key in keys:
            self._remember(key)
        self._forget_on_rollback(uow, keys)
        return keys

    async def find(self, uow: UnitOfWork, labels: Sequence[str]) -> dict[str, CustodialKey]:
        """The keys among ``labels`` that exist, from the cache or one query."""
        found = {label: self._by_label.pop(label) for label in labels if label in self._by_label}
        self._by_label.update(found)  # used now: the last to be forgotten
        missing = [label for label in labels if label not in found]
        if missing:
            clause, params = in_clause("l", missing)
            rows = await uow.fetch(
                f"SELECT label, public_key, sealed, master_key_id FROM ledger_keys WHERE label IN {clause}",
                params,
            )
            for label, public_key, sealed, master_id in rows:
                found[label] = self._unseal_row(label, bytes(public_key), bytes(sealed), master_id)
        return found

    async def get(self, uow: UnitOfWork, label: str) -> CustodialKey:
        found = await self.find(uow, [label])
        if label not in found:
            raise UnknownKey(f"no custodial key is registered for {label!r}", label=label)
        return found[label]

    async def check_master(self, uow: UnitOfWork) -> int:
        """Refuse a master key that did not seal the stored keys; returns how many keys there are."""
        rows = await uow.fetch("SELECT master_key_id, COUNT(*) FROM ledger_keys GROUP BY master_key_id")
        for master_id, _count in rows:
            if master_id != self._master.id:
                raise WrongMasterKey(
                    f"the stored keys are sealed under master key {master_id}, but the configured master key "
                    f"is {self._master.id}: is CHESTNUT_MASTER_KEY_FILE the right file?",
                    sealed_under=master_id,
                    configured=self._master.id,
                )
        return sum(int(count) for _mid, count in rows)


async def holds_sealed_keys(uow: UnitOfWork) -> bool:
    """Whether the database holds any sealed key (then only the master key that sealed them opens them)."""
    rows = await uow.fetch("SELECT COUNT(*) FROM ledger_keys")
    return bool(int(rows[0][0]))


async def finish_interrupted_rotation(db: Database, path: Path) -> None:
    """Complete or discard a rotation that a crash interrupted (see the module docstring)."""
    pending = _pending_rotation_path(path)
    if not pending.exists():
        return
    new_key = read_master_key(pending)
    async with db.snapshot() as snap:
        rows = await snap.fetch("SELECT DISTINCT master_key_id FROM ledger_keys")
    ids = {r[0] for r in rows}
    if ids == {new_key.id}:
        os.replace(pending, path)  # the database already uses the new key: finish the move
        _fsync_dir(path.parent)
    else:
        pending.unlink()  # the re-sealing never committed: the old key is still the one


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def rotate_master_key(db: Database, path: Path, *, chunk: int = 2000) -> tuple[str, str, int]:
    """Re-seal every key under a fresh master key. Returns (old id, new id, keys re-sealed)."""
    await finish_interrupted_rotation(db, path)
    old = read_master_key(path)
    new = MasterKey.generate()
    pending = _pending_rotation_path(path)
    write_master_key(pending, new)
    count = 0
    async with db.unit_of_work() as uow:
        rows = await uow.fetch("SELECT public_key, label, sealed, master_key_id FROM ledger_keys")
        updates = []
        for public_key, label, sealed, master_id in rows:
            if master_id != old.id:
                pending.unlink()
                raise WrongMasterKey(
                    f"key {label!r} is sealed under {master_id}, not under the current master key {old.id}"
                )
            seed = old.unseal(bytes(sealed))
            updates.append({"pk": bytes(public_key), "sealed": new.seal(seed), "mid": new.id})
        for start in range(0, len(updates), chunk):
            await uow.batch(
                [
                    write_many(
                        "UPDATE ledger_keys SET sealed = :sealed, master_key_id = :mid WHERE public_key = :pk",
                        updates[start : start + chunk],
                    )
                ]
            )
        count = len(updates)
        await uow.commit()
    os.replace(pending, path)
    _fsync_dir(path.parent)
    return old.id, new.id, count


__all__ = [
    "ROLE_LEDGER",
    "ROLE_OPERATOR",
    "CustodialKey",
    "KeyStore",
    "MasterKey",
    "NamedSigner",
    "finish_interrupted_rotation",
    "load_or_create_master_key",
    "read_master_key",
    "rotate_master_key",
]
