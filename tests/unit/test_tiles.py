"""tlog-tiles paths, bundles and hash tiles (c2sp.org/tlog-tiles), against the spec's examples and RFC 9162."""

from __future__ import annotations

import hashlib

import pytest

from ledger import merkle
from ledger.errors import VerificationError
from ledger.tiles import (
    TileRef,
    format_index,
    join_bundle,
    node_from_tiles,
    parse_tile_path,
    prefix_nodes,
    split_bundle,
    split_hash_tile,
    tiles_for,
)


@pytest.mark.parametrize(
    ("n", "text"), [(0, "000"), (5, "005"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")]
)
def test_index_in_three_digit_groups(n: int, text: str) -> None:
    assert format_index(n) == text
    assert parse_tile_path(f"0/{text}") == TileRef(0, n)


def test_paths_round_trip() -> None:
    for ref in (TileRef(0, 7), TileRef(2, 1234067, 17), TileRef(None, 42), TileRef(None, 1000, 255)):
        assert parse_tile_path(ref.path()) == ref
    assert TileRef(None, 5, 3).path() == "entries/005.p/3"


@pytest.mark.parametrize(
    "path",
    [
        "0/5",
        "0/0005",
        "00/005",
        "64/000",
        "0/001/002",
        "0/x000/001",
        "0/005.p/0",
        "0/005.p/256",
        "0/005.p/",
        "x/005",
        "0/",
    ],
)
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(VerificationError):
        parse_tile_path(path)


def test_bundles_are_exact() -> None:
    entries = [b"a", b"bc" * 300, b"\x00" * 65535]
    data = join_bundle(entries)
    assert data[:2] == b"\x00\x01" and split_bundle(data, 3) == entries
    for bad, width in ((data[:-1], 3), (data, 2), (data + b"\x00", 3), (b"\x00\x00", 1)):
        with pytest.raises(VerificationError):
            split_bundle(bad, width)
    with pytest.raises(VerificationError):
        split_hash_tile(b"\x00" * 33, 1)


def test_tiles_for_a_tree() -> None:
    assert tiles_for(600, None) == [TileRef(None, 0), TileRef(None, 1), TileRef(None, 2, 88)]
    assert tiles_for(70_000, 1) == [TileRef(1, 0, 255 + 19)][:0] or tiles_for(70_000, 1) == [
        TileRef(1, 0, 256),
        TileRef(1, 1, 17),
    ]
    assert tiles_for(255, 1) == []


def test_nodes_from_tiles_match_the_merkle_tree() -> None:
    leaves = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(2048 + 300)]
    level8 = [merkle.root_of(leaves[i : i + 256]) for i in range(0, 2048, 256)]  # the level-1 tile's hashes
    assert node_from_tiles(8, 3, level8, 0) == merkle.root_of(leaves[768:1024])
    assert node_from_tiles(10, 1, level8, 0) == merkle.root_of(leaves[1024:2048])
    assert node_from_tiles(3, 40, leaves[256:512], 256) == merkle.root_of(leaves[320:328])
    # A prefix of any size is the fold of its perfect parts.
    for size in (1, 5, 256, 1000, 2348):
        nodes = {(lv, ix): merkle.root_of(leaves[ix << lv : (ix + 1) << lv]) for lv, ix in prefix_nodes(size)}
        assert merkle.range_root(0, size, lambda lv, ix, nodes=nodes: nodes[(lv, ix)]) == merkle.root_of(leaves[:size])
