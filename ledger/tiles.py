"""C2SP tlog-tiles: the ledger's Merkle tree and entries in fixed 256-wide tiles, for followers.

- ``/ledger/tile/<L>/<N>[.p/<W>]`` — a *hash tile*: the hashes of tree level ``8·L``, nodes
  ``256·N … 256·N + W - 1``, 32 bytes each, concatenated (W = 256 for a full tile, 1–255 partial).
- ``/ledger/tile/entries/<N>[.p/<W>]`` — an *entry bundle*: entries ``256·N …``, each prefixed by
  its length as a big-endian uint16 (entries are at most 65,535 bytes for exactly this reason).
- ``N`` is written in 3-digit groups, all but the last prefixed ``x``: 1234067 → ``x001/x234/067``.

An entry bundle holds a restricted entry's bytes only for an accredited replica (bearer token) or the
entry's own member; anyone else finds its stub there (``ledger.visibility``: its sequence number and
leaf hash, which the level-0 hash tile confirms). Hash tiles are public.

A full tile never changes (the tree is append-only), so it is served as immutable with a year-long
cache lifetime (private, and varying by ``Authorization`` and ``Cookie``, when it is not the public
view); a partial tile is short-lived because a wider one will replace it. Tiles are served for the tree
of the latest published checkpoint, so a follower can rebuild exactly what it signs.

``TreeStore`` reads a tree from any table pair laid out like ``ledger_entries`` / ``ledger_checkpoints``
(``seq, leaf_hash, entry, nodes`` and ``size, root, note``): the primary serves its ledger tables, a
replica serves its own verified copy through the same code. The parsers here (``parse_tile_path``,
``split_bundle``, ``split_hash_tile``) are what a follower uses on what it fetches; each raises a
``VerificationError`` saying what was wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from ledger import merkle
from ledger.api import BadRequest
from ledger.errors import NotFound, ProofError, VerificationError
from ledger.storage.ops import Row, in_clause
from ledger.storage.unit_of_work import Database, UnitOfWork
from ledger.visibility import PUBLIC, Gate, Visibility, cache_headers

TILE_WIDTH = 256
TILE_HEIGHT = 8
MAX_LEVEL = 63
FULL_CACHE = "public, max-age=31536000, immutable"
PARTIAL_CACHE = "public, max-age=1"
_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class TileRef:
    """One tile: ``level`` is None for an entry bundle; ``width`` 256 is a full tile."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    def path(self) -> str:
        """The path below ``<prefix>/tile/``: ``0/x001/234``, ``entries/005.p/17``."""
        head = "entries" if self.level is None else str(self.level)
        tail = "" if self.full else f".p/{self.width}"
        return f"{head}/{format_index(self.index)}{tail}"


def format_index(n: int) -> str:
    """``N`` in tlog-tiles form: 3-digit groups, all but the last prefixed with ``x``."""
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def _decimal(text: str, what: str, lo: int, hi: int) -> int:
    if not (text.isascii() and text.isdigit()) or (len(text) > 1 and text[0] == "0") or len(text) > 3:
        raise VerificationError(f"tile {what} {text[:20]!r} is not a decimal number without leading zeros")
    value = int(text)
    if not lo <= value <= hi:
        raise VerificationError(f"tile {what} {value} is outside {lo}..{hi}")
    return value


def parse_tile_path(path: str) -> TileRef:
    """Parse the path below ``tile/`` (``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]``)."""
    width = TILE_WIDTH
    if ".p/" in path:
        path, _, w = path.partition(".p/")
        width = _decimal(w, "width", 1, TILE_WIDTH - 1)
    head, _, rest = path.partition("/")
    level = None if head == "entries" else _decimal(head, "level", 0, MAX_LEVEL)
    groups = rest.split("/")
    if not rest or len(groups) > 7:
        raise VerificationError(f"tile index {rest[:40]!r} is not in 3-digit groups")
    index = 0
    for i, group in enumerate(groups):
        last = i == len(groups) - 1
        digits = group if last else group[1:]
        if (not last and group[:1] != "x") or len(digits) != 3 or not (digits.isascii() and digits.isdigit()):
            raise VerificationError(f"tile index {rest[:40]!r} is not in 3-digit groups (all but the last x-prefixed)")
        index = index * 1000 + int(digits)
    if len(groups) > 1 and groups[0] == "x000":
        raise VerificationError(f"tile index {rest[:40]!r} has a leading zero group")
    return TileRef(level, index, width)


def tiles_for(size: int, level: int | None, start: int = 0) -> list[TileRef]:
    """The tiles of a tree of ``size`` entries at ``level`` (None: entry bundles) from node ``start`` on."""
    count = size if level is None else size >> (TILE_HEIGHT * level)
    out = []
    for n in range(start // TILE_WIDTH, (count + TILE_WIDTH - 1) // TILE_WIDTH):
        out.append(TileRef(level, n, min(TILE_WIDTH, count - n * TILE_WIDTH)))
    return out


def join_bundle(entries: Sequence[bytes]) -> bytes:
    parts = []
    for entry in entries:
        parts.append(len(entry).to_bytes(2, "big"))
        parts.append(entry)
    return b"".join(parts)


def split_bundle(data: bytes, width: int) -> list[bytes]:
    """The ``width`` entries of an entry bundle, exactly; anything else is refused."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise VerificationError(f"entry bundle is cut inside a length prefix after {len(entries)} entries")
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if n == 0 or pos + n > len(data):
            raise VerificationError(f"entry bundle: entry {len(entries)} claims {n} bytes, {len(data) - pos} remain")
        entries.append(data[pos : pos + n])
        pos += n
    if len(entries) != width:
        raise VerificationError(f"entry bundle holds {len(entries)} entries, expected {width}")
    return entries


def split_hash_tile(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * merkle.HASH_SIZE:
        raise VerificationError(f"hash tile is {len(data)} bytes, expected {width} hashes of 32 bytes")
    return [data[i : i + merkle.HASH_SIZE] for i in range(0, len(data), merkle.HASH_SIZE)]


def node_from_tiles(level: int, index: int, tile_hashes: Sequence[bytes], base: int) -> bytes:
    """Perfect node (level, index) from the hashes of the tile level below it (``tile_hashes[0]`` is node
    ``base`` of level ``8·(level // 8)``): the root of the 2^(level mod 8) hashes it spans."""
    sub = level % TILE_HEIGHT
    lo = (index << sub) - base
    hashes = tile_hashes[lo : lo + (1 << sub)]
    if lo < 0 or len(hashes) != 1 << sub:
        raise ProofError(f"node (level {level}, index {index}) is not inside the tile")
    return merkle.root_of(hashes)


class TreeStore:
    """Reads a stored tree (entries with their completed nodes, and signed checkpoints) from one table pair.

    The table names are constants chosen by the code (``ledger_entries``/``ledger_checkpoints`` on the
    primary, ``replica_entries``/``replica_checkpoints`` on a replica), never input.
    """

    def __init__(self, entries_table: str = "ledger_entries", checkpoints_table: str = "ledger_checkpoints") -> None:
        self.entries = entries_table
        self.checkpoints = checkpoints_table

    async def latest(self, uow: UnitOfWork) -> tuple[int, str]:
        rows = await uow.fetch(f"SELECT size, note FROM {self.checkpoints} ORDER BY size DESC LIMIT 1")
        if not rows:
            raise NotFound("no checkpoint has been published yet")
        return int(rows[0][0]), str(rows[0][1])

    async def checkpoint_at(self, uow: UnitOfWork, size: int) -> str | None:
        rows = await uow.fetch(f"SELECT note FROM {self.checkpoints} WHERE size = :size", {"size": size})
        return str(rows[0][0]) if rows else None

    async def nodes(self, uow: UnitOfWork, needed: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        """Perfect-subtree hashes by (level, index), from the entry that completed each."""
        by_seq = {merkle.completed_by(level, index): (level, index) for level, index in needed}
        found: dict[merkle.NodeId, bytes] = {}
        seqs = sorted(by_seq)
        for start in range(0, len(seqs), 400):
            clause, params = in_clause("s", seqs[start : start + 400])
            rows = await uow.fetch(f"SELECT seq, leaf_hash, nodes FROM {self.entries} WHERE seq IN {clause}", params)
            for seq, leaf, nodes in rows:
                level, index = by_seq[int(seq)]
                found[(level, index)] = bytes(leaf) if level == 0 else bytes(nodes)[(level - 1) * 32 : level * 32]
        return found

    async def inclusion_proof(self, uow: UnitOfWork, index: int, size: int) -> list[bytes]:
        if not 0 <= index < size:
            raise ProofError(f"entry {index} is not in a tree of size {size}", seq=index, size=size)
        nodes = await self.nodes(uow, merkle.inclusion_nodes(index, size))
        return merkle.inclusion_proof(index, size, lambda level, i: nodes[(level, i)])

    async def consistency_proof(self, uow: UnitOfWork, old: int, new: int) -> list[bytes]:
        if not 0 <= old <= new:
            raise ProofError(f"no consistency proof from size {old} to size {new}", old=old, new=new)
        if old == 0 or old == new:
            return []
        nodes = await self.nodes(uow, merkle.consistency_nodes(old, new))
        return merkle.consistency_proof(old, new, lambda level, i: nodes[(level, i)])

    async def root_at(self, uow: UnitOfWork, size: int) -> bytes:
        """MTH of the first ``size`` stored entries, from stored nodes (a prefix is always aligned)."""
        if size == 0:
            return merkle.EMPTY_ROOT
        nodes = await self.nodes(uow, prefix_nodes(size))
        return merkle.range_root(0, size, lambda level, i: nodes[(level, i)])

    async def entries_between(self, uow: UnitOfWork, start: int, end: int) -> list[Row]:
        return await uow.fetch(
            f"SELECT seq, entry FROM {self.entries} WHERE seq >= :start AND seq < :end ORDER BY seq",
            {"start": start, "end": end},
        )

    async def tile(
        self, uow: UnitOfWork, ref: TileRef, size: int, shown: Callable[[int, bytes], bytes] | None = None
    ) -> bytes:
        """The tile's bytes for the tree of ``size`` entries; NotFound if the tree does not hold it yet.

        ``shown`` turns each entry of a bundle into what the reader may see (``Gate.show``)."""
        count = size if ref.level is None else size >> (TILE_HEIGHT * ref.level)
        first = ref.index * TILE_WIDTH
        if first + ref.width > count:
            raise NotFound(f"tile {ref.path()} is beyond the published tree of size {size}", size=size)
        if ref.level is None:
            rows = await self.entries_between(uow, first, first + ref.width)
            if len(rows) != ref.width:
                raise NotFound(f"entries of tile {ref.path()} are missing from the store")
            return join_bundle([shown(int(s), bytes(e)) if shown else bytes(e) for s, e in rows])
        if ref.level == 0:
            rows = await uow.fetch(
                f"SELECT leaf_hash FROM {self.entries} WHERE seq >= :start AND seq < :end ORDER BY seq",
                {"start": first, "end": first + ref.width},
            )
            if len(rows) != ref.width:
                raise NotFound(f"hashes of tile {ref.path()} are missing from the store")
            return b"".join(bytes(r[0]) for r in rows)
        level = TILE_HEIGHT * ref.level
        nodes = await self.nodes(uow, [(level, i) for i in range(first, first + ref.width)])
        try:
            return b"".join(nodes[(level, i)] for i in range(first, first + ref.width))
        except KeyError:
            raise NotFound(f"hashes of tile {ref.path()} are missing from the store") from None


def prefix_nodes(size: int) -> list[merkle.NodeId]:
    """The perfect nodes that make up D[0:size], largest first."""
    out = []
    lo = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            out.append((level, lo >> level))
            lo += 1 << level
    return out


class TileApi:
    """``GET /ledger/tile/…`` over a ``TreeStore``, for the tree of its latest checkpoint."""

    def __init__(self, db: Database, store: TreeStore, gate: Gate | None = None) -> None:
        self.db = db
        self.store = store
        self.gate = gate or Gate(Visibility())

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/ledger/tile/{path:.+}", self.tile)]

    async def tile(self, request: web.Request) -> web.Response:
        try:
            ref = parse_tile_path(request.match_info["path"])
        except VerificationError as exc:
            raise BadRequest(exc.message) from None
        async with self.db.snapshot() as snap:
            audience = await self.gate.audience(request, snap) if ref.level is None else PUBLIC
            size, _note = await self.store.latest(snap)
            body = await self.store.tile(snap, ref, size, lambda seq, e: self.gate.show(audience, seq, e))
        cache = FULL_CACHE if ref.full else PARTIAL_CACHE
        return web.Response(
            body=body,
            content_type=_CONTENT_TYPE,
            headers=cache_headers(audience, cache) if ref.level is None else {"Cache-Control": cache},
        )
