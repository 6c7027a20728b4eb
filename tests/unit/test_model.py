"""The entry format: what the writer lays out is what any JSON reader sees, and splitting is exact."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.errors import ChestnutError, EntryTooLarge, InvalidAmount, MalformedAction
from ledger.model import (
    MAX_ENTRY_BYTES,
    AccountSpec,
    Action,
    Transfer,
    b64,
    decode_entry_json,
    encode_entry,
    split_entry,
)

ACTOR = bytes(range(32))


def action(**over: object) -> Action:
    fields: dict[str, object] = {
        "kind": "order.place",
        "actor": ACTOR,
        "seq": 7,
        "time": 1_764_000_000_000,
        "body": {"order": 12, "note": "사과 2kg"},
        "accounts": (AccountSpec("escrow:order:12", "BTL"),),
        "transfers": (Transfer("pay-12", "wallet:3:btl", "escrow:order:12", 12000, "BTL", type="pending"),),
    }
    fields.update(over)
    return Action(**fields)  # type: ignore[arg-type]


@given(
    seq=st.integers(min_value=0, max_value=2**53 - 1),
    prev=st.binary(min_size=32, max_size=32),
    sig=st.binary(min_size=64, max_size=64),
    cosig=st.none() | st.binary(min_size=64, max_size=64),
    note=st.text(max_size=50),
)
def test_entry_is_canonical_json_and_splits_exactly(
    seq: int, prev: bytes, sig: bytes, cosig: bytes | None, note: str
) -> None:
    action_bytes = action(body={"note": note}).encode()
    entry = encode_entry(seq, prev, action_bytes, sig, cosig)
    expected = {"prev": b64(prev), "seq": seq, "sig": b64(sig), "signed": json.loads(action_bytes)}
    if cosig is not None:
        expected["cosig"] = b64(cosig)
    # What the writer concatenates is byte-for-byte the RFC 8785 form of the entry object.
    assert canonical_json(expected) == entry
    parts = split_entry(entry)
    assert (parts.seq, parts.prev, parts.sig, parts.cosig, parts.action_bytes) == (seq, prev, sig, cosig, action_bytes)


def test_general_path_agrees_with_fast_path_on_reordered_but_valid_json() -> None:
    action_bytes = action().encode()
    entry = encode_entry(3, b"\x01" * 32, action_bytes, b"\x02" * 64, None)
    # Same fields with an insignificant space: not our writer's layout, so the general path reads it.
    spaced = entry.replace(b'"seq":3', b'"seq": 3')
    parts = split_entry(spaced)
    assert parts.seq == 3 and parts.action_bytes == action_bytes


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: e[:-1],  # no closing brace
        lambda e: e.replace(b'"prev"', b'"prex"'),
        lambda e: e.replace(b',"signed":', b',"signet":'),
        lambda e: e.replace(b'"seq":5', b'"seq":"5"'),
        lambda e: e.replace(b'"seq":5', b'"seq":05'),
        lambda e: b"[]",
        lambda e: e[: e.index(b'"sig":"') + 10] + b"!!" + e[e.index(b'"sig":"') + 12 :],
    ],
)
def test_damaged_entries_are_refused(damage: object) -> None:
    entry = encode_entry(5, b"\x01" * 32, action().encode(), b"\x02" * 64, None)
    with pytest.raises(MalformedAction):
        split_entry(damage(entry))  # type: ignore[operator]


def test_action_round_trip_and_strict_fields() -> None:
    a = action()
    assert Action.decode(a.encode()) == a
    obj = json.loads(a.encode())
    for missing in ("kind", "actor", "transfers"):
        broken = dict(obj)
        del broken[missing]
        with pytest.raises(MalformedAction):
            Action.from_json(broken)
    with pytest.raises(MalformedAction):
        Action.from_json({**obj, "extra": 1})
    with pytest.raises(MalformedAction):
        Action.from_json({**obj, "kind": "NoDots"})
    with pytest.raises(MalformedAction):
        Action.from_json({**obj, "v": 2})


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "100", 2**53, None])
def test_amounts_are_positive_integers(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        Transfer("t1", "wallet:a", "wallet:b", amount, "BTL")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"debit": "wallet:a", "credit": "wallet:a"},
        {"token": "KRW"},
        {"id": "spaces are not ids"},
        {"type": "post"},  # post without pending_id
        {"pending_id": "p1"},  # a single transfer naming a pending one
        {"timeout_s": 10},  # timeout on a single transfer
        {"debit": "Wallet:A"},
        {"type": "post", "pending_id": ["p1"]},
        {"type": "void", "pending_id": 7},
    ],
)
def test_malformed_transfers_are_refused(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"id": "t1", "debit": "wallet:a", "credit": "wallet:b", "amount": 5, "token": "BTL"}
    fields.update(kwargs)
    with pytest.raises(MalformedAction):
        Transfer(**fields)  # type: ignore[arg-type]


def test_oversized_entries_are_refused() -> None:
    big = action(body={"blob": os.urandom(MAX_ENTRY_BYTES // 2).hex()}).encode()
    with pytest.raises(EntryTooLarge):
        encode_entry(1, b"\x00" * 32, big, b"\x00" * 64, None)


def test_decoded_form_shows_the_action() -> None:
    entry = encode_entry(9, b"\x00" * 32, action().encode(), b"\x03" * 64, b"\x04" * 64)
    decoded = decode_entry_json(entry)
    assert decoded["seq"] == 9
    assert decoded["signed"]["kind"] == "order.place"
    assert decoded["cosig"] == b64(b"\x04" * 64)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@given(
    overrides=st.dictionaries(
        st.sampled_from(["accounts", "actor", "body", "kind", "seq", "time", "transfers", "v", "junk"]),
        json_values,
        max_size=4,
    ),
    transfer_overrides=st.dictionaries(
        st.sampled_from(["amount", "credit", "debit", "id", "token", "type", "pending_id", "timeout_s"]),
        json_values,
        max_size=3,
    ),
)
def test_any_json_is_an_action_or_a_typed_refusal(
    overrides: dict[str, object], transfer_overrides: dict[str, object]
) -> None:
    obj = json.loads(action().encode())
    obj["transfers"][0].update(transfer_overrides)
    obj.update(overrides)
    try:
        decoded = Action.decode(json.dumps(obj).encode())
    except ChestnutError:
        return  # a typed refusal, with a code, is the only acceptable failure
    assert isinstance(decoded, Action)
