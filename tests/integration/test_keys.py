"""Custodial keys and the master key on SQLite and PostgreSQL: the file, refusals, secrecy, rotation.

The secret halves of keys are reached only through private attributes (``_signing_key``,
``_master._secret()``), and only so that a test can search for them where they must *not* be.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from chestnut.bootstrap import App, build
from chestnut.settings import Settings, SettingsError, load_settings
from ledger.errors import CorruptKeyFile, InsecureKeyFile, KeyStoreError, UnknownKey, WrongMasterKey
from ledger.keys import CustodialKey, MasterKey, read_master_key, rotate_master_key, write_master_key
from ledger.model import AccountSpec, Transfer
from ledger.requests import Request
from ledger.storage.backends import open_database
from ledger.storage.ops import write_many
from ledger.verify import verify_ledger

OP = "system:operator"


@asynccontextmanager
async def built(settings: Settings) -> AsyncIterator[App]:
    app = await build(settings)
    try:
        yield app
    finally:
        await app.close()


def key_path(settings: Settings) -> Path:
    return settings.resolved_master_key_file


def pending_path(settings: Settings) -> Path:
    path = key_path(settings)
    return path.with_name(path.name + ".new")


async def add_member(app: App, n: int, amount: int = 1_000) -> CustodialKey:
    """A member key, its wallet, and some BTL in it."""
    async with app.db.unit_of_work() as uow:
        key = await app.keys.create(uow, f"member:{n}")
        await app.ledger.record(
            uow,
            Request(
                actor=key.label, kind="wallet.open", accounts=[AccountSpec(f"wallet:m{n}:btl", "BTL", key.public_key)]
            ),
        )
        await app.ledger.record(
            uow,
            Request(
                actor=OP,
                kind="wallet.topup",
                transfers=[Transfer(f"mint-{n}", "reserve:cash", f"wallet:m{n}:btl", amount, "BTL")],
            ),
        )
        await uow.commit()
    return key


async def pay(app: App, label: str, tid: str, debit: str, credit: str, amount: int) -> None:
    async with app.db.unit_of_work() as uow:
        await app.ledger.record(
            uow, Request(actor=label, kind="shop.pay", transfers=[Transfer(tid, debit, credit, amount, "BTL")])
        )
        await uow.commit()


async def public_keys(app: App) -> dict[str, bytes]:
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT label, public_key FROM ledger_keys")
    return {label: bytes(pk) for label, pk in rows}


async def sealed_rows(app: App) -> dict[str, tuple[bytes, str]]:
    async with app.db.snapshot() as snap:
        rows = await snap.fetch("SELECT label, sealed, master_key_id FROM ledger_keys")
    return {label: (bytes(sealed), mid) for label, sealed, mid in rows}


async def assert_verifies(app: App) -> None:
    report = await verify_ledger(app.db, app.ledger.origin, workers=0)
    assert report.ok, (report.first_bad_seq, report.problem)


def write_raw(path: Path, content: bytes, mode: int = 0o600) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # the umask may have narrowed it


# ------------------------------------------------------------------------------------ the key file


async def test_master_key_file_is_created_with_mode_0600_on_first_build(settings: Settings) -> None:
    path = key_path(settings)
    assert not path.exists()
    async with built(settings) as app:
        first_id = app.keys.master_id
        labels = set(await public_keys(app))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert len(text) == 65 and text.endswith("\n")
    bytes.fromhex(text.strip())
    assert {"system:ledger", "system:operator"} <= labels
    # A second start reuses the file (and so opens the keys it sealed).
    async with built(settings) as app:
        assert app.keys.master_id == first_id
        async with app.db.snapshot() as snap:
            assert (await app.keys.get(snap, OP)).public_key == (await public_keys(app))[OP]
    assert path.read_text() == text


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o620, 0o602, 0o610, 0o601])
async def test_build_refuses_a_key_file_others_can_use(settings: Settings, mode: int) -> None:
    async with built(settings) as app:
        keys_before = await sealed_rows(app)
    path = key_path(settings)
    os.chmod(path, mode)
    with pytest.raises(InsecureKeyFile) as info:
        await build(settings)
    assert info.value.code == "insecure_key_file"
    assert info.value.data == {"path": str(path)}
    assert f"chmod 600 {path}" in info.value.message
    assert f"{mode:o}" in info.value.message
    assert stat.S_IMODE(path.stat().st_mode) == mode  # refused, not silently "fixed"
    os.chmod(path, 0o600)
    async with built(settings) as app:
        assert await sealed_rows(app) == keys_before


async def test_build_refuses_an_insecure_key_file_even_before_any_key_exists(settings: Settings) -> None:
    path = key_path(settings)
    path.parent.mkdir(parents=True)
    write_raw(path, MasterKey.generate()._secret().hex().encode() + b"\n", 0o644)
    with pytest.raises(InsecureKeyFile):
        await build(settings)


@pytest.mark.parametrize(
    "content",
    [b"", b"\n", b"not a key at all\n", b"ab" * 31 + b"\n", b"ab" * 33 + b"\n", b"zz" * 32 + b"\n", b"\xff" * 64],
    ids=["empty", "newline", "words", "short", "long", "not-hex", "not-ascii"],
)
async def test_build_refuses_a_corrupt_key_file(settings: Settings, content: bytes) -> None:
    async with built(settings):
        pass
    path = key_path(settings)
    original = path.read_bytes()
    write_raw(path, content)
    with pytest.raises(CorruptKeyFile) as info:
        await build(settings)
    assert info.value.code == "corrupt_key_file"
    assert info.value.data == {"path": str(path)}
    assert "64 hexadecimal digits" in info.value.message
    write_raw(path, original)
    async with built(settings) as app:
        await assert_verifies(app)


async def test_build_refuses_another_master_key_for_an_existing_database(settings: Settings, tmp_path: Path) -> None:
    async with built(settings) as app:
        right_id = app.keys.master_id
    other = MasterKey.generate()
    # 1. The configured file replaced by another valid key.
    path = key_path(settings)
    saved = path.read_bytes()
    path.unlink()
    write_master_key(path, other)
    with pytest.raises(WrongMasterKey) as info:
        await build(settings)
    assert info.value.code == "wrong_master_key"
    assert info.value.data == {"sealed_under": right_id, "configured": other.id}
    assert "CHESTNUT_MASTER_KEY_FILE" in info.value.message
    assert other._secret().hex() not in info.value.message
    # 2. CHESTNUT_MASTER_KEY_FILE pointing at another file.
    elsewhere = tmp_path / "elsewhere" / "master.key"
    write_master_key(elsewhere, other)
    with pytest.raises(WrongMasterKey):
        await build(settings.model_copy(update={"master_key_file": elsewhere}))
    # The right file still opens it.
    path.unlink()
    write_raw(path, saved)
    async with built(settings) as app:
        assert app.keys.master_id == right_id


async def test_build_refuses_a_missing_key_file_when_the_database_holds_keys(settings: Settings) -> None:
    async with built(settings):
        pass
    path = key_path(settings)
    saved = path.read_bytes()
    path.unlink()
    with pytest.raises(KeyStoreError) as info:
        await build(settings)
    assert type(info.value) is KeyStoreError
    assert info.value.code == "key_store_error"
    assert "missing" in info.value.message and str(path) in info.value.message
    assert not path.exists()  # it must not have made up a new key that could never open the old ones
    write_raw(path, saved)
    async with built(settings) as app:
        await assert_verifies(app)


# ------------------------------------------------------------------------------------ secrecy


def _spellings(secret: bytes) -> list[str]:
    return [secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode(), repr(secret)[2:-1]]


async def test_private_keys_never_appear_in_repr_or_str(app: App) -> None:
    key = await add_member(app, 1)
    async with app.db.snapshot() as snap:
        operator = await app.ledger.operator_key(snap)
        signer = await app.ledger.ledger_signer(snap)
    # Test-only access to the secrets, to search for them.
    secrets = [bytes(k._signing_key) for k in (key, operator, signer.key)] + [app.keys._master._secret()]
    shown = [
        repr(key),
        str(key),
        f"{key}",
        repr(operator),
        repr(signer),
        str(signer),
        repr(app.keys),
        str(app.keys),
        repr(app.keys._master),
        str(app.keys._master),
        repr(app),
    ]
    for text in shown:
        for secret in secrets:
            for spelling in _spellings(secret):
                assert spelling not in text, text
    assert key.public_key.hex()[:16] in repr(key)
    assert app.keys.master_id in repr(app.keys._master)


async def test_private_keys_are_stored_only_sealed(app: App) -> None:
    keys = [await add_member(app, n) for n in range(1, 4)]
    async with app.db.snapshot() as snap:
        keys += [await app.ledger.operator_key(snap), (await app.ledger.ledger_signer(snap)).key]
        rows = await snap.fetch("SELECT public_key, label, sealed, master_key_id, created_ms FROM ledger_keys")
    master = app.keys._master
    by_label = {row[1]: row for row in rows}
    assert len(by_label) >= 5
    secrets = [master._secret()]
    for key in keys:
        seed = bytes(key._signing_key)  # test-only: the private seed, to look for it
        secrets.append(seed)
        sealed = bytes(by_label[key.label][2])
        assert len(sealed) == 24 + 32 + 16  # nonce + seed + MAC
        assert seed not in sealed
        assert master.unseal(sealed) == seed  # the column really is this key, sealed
    for row in rows:
        flat = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in (bytes(row[0]), *row[1:]))
        for secret in secrets:
            for spelling in (secret, *(s.encode() for s in _spellings(secret))):
                assert spelling not in flat
    if app.db.dialect == "sqlite":
        # The whole database file (and its write-ahead log) holds no seed and not the master key.
        path = Path(app.db.url.split("///", 1)[1])
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert len(raw) > 0
        for secret in secrets:
            assert secret not in raw and secret.hex().encode() not in raw


async def test_a_key_created_in_a_rolled_back_unit_of_work_is_forgotten(app: App) -> None:
    """A key whose row was rolled back must not stay usable from memory: its private half is gone."""
    async with app.db.unit_of_work() as uow:
        lost = await app.keys.create(uow, "member:9")
        # No commit (say the registration failed further on).
    opening = Request(
        actor="member:9", kind="wallet.open", accounts=[AccountSpec("wallet:m9:btl", "BTL", lost.public_key)]
    )
    async with app.db.unit_of_work() as uow:
        with pytest.raises(UnknownKey):
            await app.ledger.record(uow, opening)
    # The same within one unit of work: created, used, rolled back.
    async with app.db.unit_of_work() as uow:
        lost2 = await app.keys.create(uow, "member:9")
        await app.ledger.record(
            uow,
            Request(
                actor="member:9", kind="wallet.open", accounts=[AccountSpec("wallet:m9:btl", "BTL", lost2.public_key)]
            ),
        )
    async with app.db.unit_of_work() as uow:
        with pytest.raises(UnknownKey):
            await app.ledger.record(uow, opening)
    async with app.db.snapshot() as snap:
        assert await snap.fetch("SELECT label FROM ledger_keys WHERE label = 'member:9'") == []
    # Created again and committed, the key is stored and survives a restart.
    async with app.db.unit_of_work() as uow:
        kept = await app.keys.create(uow, "member:9")
        await uow.commit()
    assert kept.public_key not in (lost.public_key, lost2.public_key)
    async with built(app.settings) as again, again.db.snapshot() as snap:
        assert (await again.keys.get(snap, "member:9")).public_key == kept.public_key


async def test_keys_forgotten_from_memory_are_unsealed_again_and_sign_as_before(app: App) -> None:
    """The in-memory cache is bounded: a key pushed out of it still signs, unsealed again from its row."""
    app.keys.CACHE_LIMIT = 3  # type: ignore[misc]
    async with app.db.unit_of_work() as uow:
        made = {label: await app.keys.create(uow, label) for label in ("member:71", "member:72", "member:73")}
        await uow.commit()
    async with app.db.unit_of_work() as uow:
        for n in range(74, 80):  # pushes member:71–73 out of memory
            await app.keys.create(uow, f"member:{n}")
        again = await app.keys.find(uow, list(made))
        await app.ledger.record(
            uow,
            Request(
                actor="member:71",
                kind="wallet.open",
                accounts=[AccountSpec("wallet:m71:btl", "BTL", made["member:71"].public_key)],
            ),
        )
        await uow.commit()
    assert {label: key.public_key for label, key in again.items()} == {
        label: key.public_key for label, key in made.items()
    }
    assert len(app.keys._by_label) <= 3
    assert (await verify_ledger(app.db, app.ledger.origin)).ok


# ------------------------------------------------------------------------------------ rotation


async def test_rotate_master_key_reseals_every_key(settings: Settings, tmp_path: Path) -> None:
    async with built(settings) as app:
        members = [await add_member(app, n) for n in range(1, 4)]
        before_pks = await public_keys(app)
        before_rows = await sealed_rows(app)
        old_secret = app.keys._master._secret()  # test-only, to try the old key afterwards
        old_id, new_id, count = await rotate_master_key(app.db, key_path(settings))
        after_rows = await sealed_rows(app)
    assert old_id != new_id
    assert count == len(before_pks) == len(after_rows) >= 5
    assert {mid for _sealed, mid in after_rows.values()} == {new_id}
    assert all(after_rows[label][0] != before_rows[label][0] for label in before_rows)
    path = key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not pending_path(settings).exists()
    assert read_master_key(path).id == new_id
    # A new start with the new file signs with the same public keys, and the ledger still verifies.
    async with built(settings) as app:
        assert app.keys.master_id == new_id
        assert await public_keys(app) == before_pks
        await pay(app, members[0].label, "p-1", "wallet:m1:btl", "wallet:m2:btl", 300)
        async with app.db.snapshot() as snap:
            for member in members:
                assert (await app.keys.get(snap, member.label)).public_key == member.public_key
        await assert_verifies(app)
    # The old master key no longer opens the store.
    old_file = tmp_path / "old" / "master.key"
    write_master_key(old_file, MasterKey(old_secret))
    with pytest.raises(WrongMasterKey):
        await build(settings.model_copy(update={"master_key_file": old_file}))
    with pytest.raises(KeyStoreError):
        MasterKey(old_secret).unseal(after_rows[members[0].label][0])


async def _reseal_in_db(settings: Settings, new: MasterKey) -> int:
    """Step 2 of a rotation, done by hand: re-seal every key under ``new`` and commit."""
    old = read_master_key(key_path(settings))
    db = await open_database(settings.resolved_database_url)
    try:
        async with db.unit_of_work() as uow:
            rows = await uow.fetch("SELECT public_key, sealed FROM ledger_keys")
            updates = [
                {"pk": bytes(pk), "sealed": new.seal(old.unseal(bytes(sealed))), "mid": new.id} for pk, sealed in rows
            ]
            await uow.batch(
                [
                    write_many(
                        "UPDATE ledger_keys SET sealed = :sealed, master_key_id = :mid WHERE public_key = :pk", updates
                    )
                ]
            )
            await uow.commit()
    finally:
        await db.close()
    return len(updates)


async def test_a_crash_after_the_commit_but_before_the_move_is_finished_by_the_next_build(settings: Settings) -> None:
    async with built(settings) as app:
        member = await add_member(app, 1)
        await add_member(app, 2)
        before_pks = await public_keys(app)
    new = MasterKey.generate()
    write_master_key(pending_path(settings), new)  # step 1: the new key beside the old one
    assert await _reseal_in_db(settings, new) == len(before_pks)  # step 2: committed
    # ... and the process dies here, before moving master.key.new over master.key.
    async with built(settings) as app:
        assert app.keys.master_id == new.id
        assert not pending_path(settings).exists()
        assert read_master_key(key_path(settings)).id == new.id
        assert stat.S_IMODE(key_path(settings).stat().st_mode) == 0o600
        assert await public_keys(app) == before_pks
        await pay(app, member.label, "p-1", "wallet:m1:btl", "wallet:m2:btl", 10)
        await assert_verifies(app)


async def test_a_crash_before_the_commit_is_discarded_by_the_next_build(settings: Settings) -> None:
    async with built(settings) as app:
        member = await add_member(app, 1)
        await add_member(app, 2)
        old_id = app.keys.master_id
    old_text = key_path(settings).read_text()
    write_master_key(pending_path(settings), MasterKey.generate())  # step 1 only; the re-seal never committed
    async with built(settings) as app:
        assert app.keys.master_id == old_id
        assert not pending_path(settings).exists()
        assert key_path(settings).read_text() == old_text
        await pay(app, member.label, "p-1", "wallet:m1:btl", "wallet:m2:btl", 10)
        await assert_verifies(app)
    # A rotation after that works normally.
    async with built(settings) as app:
        _old, new_id, _count = await rotate_master_key(app.db, key_path(settings))
    async with built(settings) as app:
        assert app.keys.master_id == new_id


# ------------------------------------------------------------------------------------ settings


_SECRETS = (
    "CHESTNUT_TELEGRAM_TOKEN",
    "CHESTNUT_TELEGRAM_WEBHOOK_SECRET",
    "CHESTNUT_KAKAO_SKILL_SECRET",
    "CHESTNUT_KAKAO_REST_KEY",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in list(os.environ):
        if name.startswith("CHESTNUT_"):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize("variable", _SECRETS)
@pytest.mark.parametrize("value", ["changeme", "ChangeMe", " change-me ", "placeholder", "secret", "token"])
def test_placeholder_secret_is_refused_in_production(clean_env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    clean_env.setenv("CHESTNUT_ENVIRONMENT", "production")
    clean_env.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.code == "settings_invalid"
    assert variable in info.value.message
    assert "placeholder" in info.value.message


def test_placeholder_secret_is_accepted_in_development(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHESTNUT_ENVIRONMENT", "development")
    clean_env.setenv("CHESTNUT_TELEGRAM_WEBHOOK_SECRET", "changeme")
    settings = load_settings()
    assert settings.environment == "development"
    assert settings.telegram_webhook_secret is not None
    assert settings.telegram_webhook_secret.get_secret_value() == "changeme"
    assert "changeme" not in repr(settings)  # secrets never print


def test_real_secret_is_accepted_in_production(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHESTNUT_ENVIRONMENT", "production")
    clean_env.setenv("CHESTNUT_TELEGRAM_WEBHOOK_SECRET", "f3b1c9e07a5d4b2e9c8d7e6f5a4b3c2d")
    settings = load_settings()
    assert settings.environment == "production"
    assert "f3b1c9e07a5d" not in repr(settings)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 9000, "http://127.0.0.1:9000"),
        ("0.0.0.0", 8123, "http://127.0.0.1:8123"),  # noqa: S104 - every interface: reached on the loopback
        ("::", 8123, "http://127.0.0.1:8123"),
        ("::1", 8123, "http://[::1]:8123"),
        ("market.local", 80, "http://market.local:80"),
    ],
)
def test_links_default_to_the_address_served(
    clean_env: pytest.MonkeyPatch, host: str, port: int, expected: str
) -> None:
    assert load_settings().served_at(host, port).public_url == expected


def test_a_configured_public_url_wins_over_the_address_served(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHESTNUT_PUBLIC_URL", "https://bam.coop")
    assert load_settings().served_at("0.0.0.0", 9000).public_url == "https://bam.coop"  # noqa: S104
    Path(".env").write_text("CHESTNUT_PUBLIC_URL=http://127.0.0.1:8080\n")  # even when it names the default
    clean_env.delenv("CHESTNUT_PUBLIC_URL")
    assert load_settings().served_at("127.0.0.1", 9000).public_url == "http://127.0.0.1:8080"
