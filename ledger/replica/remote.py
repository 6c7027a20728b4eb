"""A log read over HTTP (the primary, or a peer replica): checkpoint, verifier key, tiles, Merkle nodes.

Everything fetched is untrusted: sizes are bounded, tiles are parsed strictly (``ledger.tiles``), and
any failure — a refused connection, a timeout, a non-200 answer, a malformed body — is one
``RemoteRefused`` whose message names the URL and the reason, so the follower logs it and keeps going.

A reader token (``ledger.readers``) goes with every request to the log it was issued for — the primary
— and to no other: a peer replica never sees it. Restricted entries fetched without one (or from a peer)
come as stubs (``ledger.visibility``); ``entries`` refuses them with ``RestrictedEntries``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from ledger import merkle
from ledger.errors import ChestnutError, VerificationError
from ledger.tiles import TILE_HEIGHT, TILE_WIDTH, TileRef, node_from_tiles, split_bundle, split_hash_tile
from ledger.visibility import is_stub

MAX_NOTE_BYTES = 64 * 1024
MAX_BUNDLE_BYTES = TILE_WIDTH * (2 + 65535)


class RemoteRefused(ChestnutError):
    code = "remote_refused"
    http_status = 502


class RestrictedEntries(RemoteRefused):
    """The log served stubs for restricted entries: this replica holds no reader credential it accepts."""

    code = "reader_credential_needed"
    http_status = 403


class RemoteLog:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = 10.0, token: str | None = None
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def credentialed(self) -> bool:
        return bool(self._headers)

    async def _get(self, path: str, limit: int) -> bytes:
        url = f"{self.base_url}{path}"
        try:
            async with self.session.get(url, timeout=self.timeout, headers=self._headers) as resp:
                if resp.status == 401:
                    raise RemoteRefused(
                        f"GET {url} answered 401: the operator does not accept this replica's reader credential "
                        "(CHESTNUT_REPLICA_TOKEN): it is unknown or was revoked",
                        url=url,
                        status=401,
                    )
                if resp.status != 200:
                    raise RemoteRefused(f"GET {url} answered {resp.status}", url=url, status=resp.status)
                chunks: list[bytes] = []
                total = 0
                async for chunk in resp.content.iter_any():
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > limit:
                        break
                body = b"".join(chunks)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RemoteRefused(f"GET {url} failed: {type(exc).__name__} {exc}", url=url) from None
        if len(body) > limit:
            raise RemoteRefused(f"GET {url}: the answer is larger than {limit} bytes", url=url)
        return body

    async def text(self, path: str) -> str:
        body = await self._get(path, MAX_NOTE_BYTES)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise RemoteRefused(f"GET {self.base_url}{path}: the answer is not UTF-8 text") from None

    async def checkpoint(self) -> str:
        return await self.text("/ledger/checkpoint")

    async def key(self) -> str:
        return (await self.text("/ledger/key")).strip()

    async def tile(self, ref: TileRef) -> bytes:
        return await self._get(f"/ledger/tile/{ref.path()}", MAX_BUNDLE_BYTES)

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Entries ``start … end - 1`` from the entry bundles, fetched concurrently, checked for shape."""
        refs = [
            TileRef(None, n, min(TILE_WIDTH, end - n * TILE_WIDTH))
            for n in range(start // TILE_WIDTH, (end + TILE_WIDTH - 1) // TILE_WIDTH)
        ]
        bodies = await asyncio.gather(*(self.tile(ref) for ref in refs))
        out: list[bytes] = []
        for ref, body in zip(refs, bodies, strict=True):
            try:
                out.extend(split_bundle(body, ref.width))
            except VerificationError as exc:
                raise RemoteRefused(f"tile {ref.path()} from {self.base_url}: {exc.message}") from None
        skip = start - refs[0].index * TILE_WIDTH
        out = out[skip : skip + end - start]
        for offset, entry in enumerate(out):
            if is_stub(entry):
                raise RestrictedEntries(
                    f"entry {start + offset} from {self.base_url} is restricted (its leaf hash only): a replica "
                    "re-checks every entry, so it needs a reader credential from the operator "
                    "(`chestnut ledger readers issue NAME` on the primary, then CHESTNUT_REPLICA_TOKEN here)",
                    url=self.base_url,
                    seq=start + offset,
                )
        return out

    async def nodes(self, size: int, needed: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        """Perfect nodes of the remote tree of ``size`` entries, computed from its hash tiles."""
        tiles: dict[TileRef, list[bytes]] = {}
        plan: list[tuple[merkle.NodeId, TileRef]] = []
        for level, index in needed:
            tile_level = level // TILE_HEIGHT
            first = index << (level % TILE_HEIGHT)
            n = first // TILE_WIDTH
            count = size >> (TILE_HEIGHT * tile_level)
            ref = TileRef(tile_level, n, min(TILE_WIDTH, count - n * TILE_WIDTH))
            if ref.width <= 0:
                raise RemoteRefused(f"node (level {level}, index {index}) is outside a tree of size {size}")
            plan.append(((level, index), ref))
            tiles.setdefault(ref, [])
        refs = list(tiles)
        bodies = await asyncio.gather(*(self.tile(ref) for ref in refs))
        for ref, body in zip(refs, bodies, strict=True):
            try:
                tiles[ref] = split_hash_tile(body, ref.width)
            except VerificationError as exc:
                raise RemoteRefused(f"tile {ref.path()} from {self.base_url}: {exc.message}") from None
        found: dict[merkle.NodeId, bytes] = {}
        for (level, index), ref in plan:
            found[(level, index)] = node_from_tiles(level, index, tiles[ref], ref.index * TILE_WIDTH)
        return found
