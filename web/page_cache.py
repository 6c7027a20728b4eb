"""Rendered provenance pages kept in memory, per product, while the ledger has not grown.

Everything a provenance page shows is written in the same transaction as a ledger entry (a listing, a
provenance step, a review, a hold, a claim's step, a shop's verification), so the size of the ledger a
page was rendered at says whether it is still current. How fresh a served page is — the staleness
bound — is written at ``PageCache``; what a page shows is ``web.provenance``'s.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ledger import reads as ledger_reads
from ledger.storage.unit_of_work import Database


@dataclass(frozen=True, slots=True)
class CachedPage:
    size: int  # the ledger size the page was rendered at
    body: bytes
    etag: str
    rendered_at: float  # time.monotonic()


# Renders a few products' pages from one snapshot: product id → (the ledger size the snapshot saw, the
# page's bytes), or the error that product's page is (UnknownProduct: the friendly 404).
RenderMany = Callable[[list[int]], Awaitable[dict[int, tuple[int, bytes] | Exception]]]


class PageCache:
    """Rendered pages per product, served from memory while the ledger has not grown.

    The staleness bound: a commit — by this process or any other (``serve --role scheduler``, a second
    web process, the CLI) — is on the page for every request that arrives more than ``revalidate_s``
    (0.5 s) after it (later only if reading the ledger size itself takes longer than that). This
    process reads the ledger size again when its last read started longer ago than ``revalidate_s``
    (one small query, shared by every request in flight) and renders a page again when the ledger grew
    past the size it was rendered at; between those reads a request reads nothing from the database.
    A page is rendered again after ``max_age_s`` (60 s) even if the ledger did not grow: a backstop
    should something shown on it ever be written without a ledger entry.

    Why a timer and not a signal on commit: other processes write too, so a timer is needed anyway,
    and at 0.5 s it costs two small queries a second — nothing beside a crowd's requests.

    Browsers and proxies may keep a page but must revalidate it every time (``Cache-Control:
    no-cache``) with its ETag — a 304 when unchanged — so they add nothing to the bound.

    Renders are batched: the pages asked for while the previous batch ran are rendered together from
    one snapshot in one round trip to the database (up to ``batch_pages`` at a time). Why: when a crowd
    arrives at once, every await waits behind hundreds of requests and there are two reader
    connections — under ``chestnut bench web`` on a loaded machine, 39 pages rendered one by one took
    ~45 ms each (one round trip per query); in one batch they take 10–30 ms in all.
    Concurrent requests for one page share its render; a reader who hangs up cancels only their wait.
    """

    def __init__(
        self,
        db: Database,
        render_many: RenderMany,
        *,
        revalidate_s: float = 0.5,
        max_age_s: float = 60.0,
        max_pages: int = 2_000,
        batch_pages: int = 64,
    ) -> None:
        self.db = db
        self._render_many = render_many
        self.revalidate_s = revalidate_s
        self.max_age_s = max_age_s
        self.max_pages = max_pages
        self.batch_pages = batch_pages
        self._pages: dict[int, CachedPage] = {}
        # product → (the ledger size asked for, its page to come), from asked until rendered
        self._pending: dict[int, tuple[int, asyncio.Future[CachedPage]]] = {}
        self._queue: deque[tuple[int, asyncio.Future[CachedPage]]] = deque()  # asked, not yet in a batch
        self._renderer: asyncio.Task[None] | None = None
        self._size = 0  # the ledger size, as read by the read that started at ``_size_at``
        self._size_at = -math.inf
        self._size_read: asyncio.Task[int] | None = None

    async def get(self, product_id: int) -> CachedPage:
        size = await self.ledger_size()
        page = self._pages.get(product_id)
        if page is not None and page.size >= size and time.monotonic() - page.rendered_at < self.max_age_s:
            return page
        pending = self._pending.get(product_id)
        if pending is None or pending[0] < size:
            # A render asked for a smaller size may take its snapshot before the ledger reached
            # ``size``: ask for one that cannot. The older one still answers its own waiters.
            future: asyncio.Future[CachedPage] = asyncio.get_running_loop().create_future()
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved if nobody waits
            pending = (size, future)
            self._pending[product_id] = pending
            self._queue.append((product_id, future))
            if self._renderer is None:
                self._renderer = asyncio.create_task(self._render_queued())
        return await asyncio.shield(pending[1])

    async def ledger_size(self) -> int:
        """The ledger size, read again when the last read started more than ``revalidate_s`` ago."""
        if time.monotonic() - self._size_at < self.revalidate_s:
            return self._size
        if self._size_read is None:
            self._size_read = asyncio.create_task(self._read_size())
            self._size_read.add_done_callback(lambda t: t.cancelled() or t.exception())
        return await asyncio.shield(self._size_read)

    async def _read_size(self) -> int:
        at = time.monotonic()
        try:
            async with self.db.snapshot() as snap:
                size = await ledger_reads.size(snap)
        finally:
            self._size_read = None
        self._size, self._size_at = size, at
        return self._size

    async def _render_queued(self) -> None:
        """Render what was asked for, a batch at a time, until nothing is (the renderer's task)."""
        batch: dict[int, list[asyncio.Future[CachedPage]]] = {}
        try:
            while self._queue:
                batch = {}
                while self._queue and (len(batch) < self.batch_pages or self._queue[0][0] in batch):
                    product_id, future = self._queue.popleft()
                    batch.setdefault(product_id, []).append(future)
                at = time.monotonic()
                try:
                    rendered = await self._render_many(list(batch))
                except Exception as exc:  # the database failed: every waiter of this batch is told
                    rendered = dict.fromkeys(batch, exc)
                for product_id, futures in batch.items():
                    self._settle(product_id, futures, rendered[product_id], at)
                batch = {}
        except asyncio.CancelledError:  # the server stops: nobody is left waiting
            for future in [f for fs in batch.values() for f in fs] + [f for _, f in self._queue]:
                future.cancel()
            self._pending.clear()
            self._queue.clear()
            raise
        finally:
            self._renderer = None

    def _settle(
        self,
        product_id: int,
        futures: list[asyncio.Future[CachedPage]],
        result: tuple[int, bytes] | Exception,
        at: float,
    ) -> None:
        """Answer this batch's requests for one product with its page (kept unless a newer one is)."""
        if self._pending.get(product_id, (0, None))[1] in futures:
            del self._pending[product_id]
        if isinstance(result, Exception):
            for future in futures:
                future.set_exception(result)
            return
        size, body = result
        page = CachedPage(size, body, f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"', at)
        current = self._pages.pop(product_id, None)
        if current is not None and current.size > page.size:
            page = current
        while len(self._pages) >= self.max_pages:  # the oldest renders go first
            del self._pages[next(iter(self._pages))]
        self._pages[product_id] = page
        for future in futures:
            future.set_result(page)
