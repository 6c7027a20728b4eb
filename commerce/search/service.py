"""Product search over the database: the index kept current, a page of hits, synonyms recorded.

Matching (``commerce.search.matching``) runs on ``SearchIndex``, a process-local copy of the searchable
columns (``commerce.search.index``), so a query never reads the whole catalog. Each search reads, in one
batch, a fingerprint row (count, newest and sum of ``products.updated_ms``, which every catalog write
bumps; the shops' status; the synonyms) and the current price, stock and status of its page and a few
rows past it. Only when the fingerprint moved does it reload — just the changed products when the same
sums prove it missed none. Order reservations change stock without bumping ``updated_ms``; the page
re-read covers them: what a shopper sees is current, and a product sold out since the last reload drops
behind those in stock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from commerce import validate
from commerce.errors import InvalidInput
from commerce.search import matching
from commerce.search.hangul import choseong, normalize, squash
from commerce.search.index import Catalog, Fingerprint, Item, ProductRow, ShopRow
from commerce.search.matching import Match, parse_query
from ledger.storage.ops import Op, Row, in_clause, read, write
from ledger.storage.unit_of_work import UnitOfWork

MAX_SYNONYM_CHARS = 40  # the width of the synonyms table's columns
MAX_LIMIT, MAX_OFFSET = 50, 1000
WINDOW_SLACK = 10  # rows past the page whose stock is re-read, so a sold-out one can drop behind
DELTA_SLACK_MS = 60_000  # a delta reload re-reads rows stamped this long before the newest it holds


FINGERPRINT_SQL = (
    "SELECT p.n, p.newest, p.total, s.n, s.verified, s.ids, s.regions, y.n, y.chars FROM "
    "(SELECT COUNT(*) AS n, COALESCE(MAX(updated_ms), 0) AS newest, COALESCE(SUM(updated_ms), 0) AS total "
    "FROM products) p, "
    "(SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN status = 'verified' THEN 1 ELSE 0 END), 0) AS verified, "
    "COALESCE(SUM(CASE WHEN status = 'verified' THEN id ELSE 0 END), 0) AS ids, "
    "COALESCE(SUM(LENGTH(region)), 0) AS regions FROM shops) s, "
    "(SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(term) + LENGTH(canonical)), 0) AS chars FROM synonyms) y"
)
PRODUCTS_SQL = "SELECT id, shop_id, name, category, unit, price, stock, active, updated_ms FROM products"
SHOPS_SQL = "SELECT id, region, status, name FROM shops"  # a shop's name never changes
SYNONYMS_SQL = "SELECT term, canonical FROM synonyms"
FRESH_SQL = (
    "SELECT p.id, p.price, p.stock, p.active, s.status, s.region FROM products p LEFT JOIN shops s ON s.id = p.shop_id "
    "WHERE p.id IN "
)


def _product_row(row: Row) -> ProductRow:
    pid, shop_id, name, category, unit, price, stock, active, updated = row
    return ProductRow(
        int(pid), int(shop_id), str(name), str(category), str(unit), int(price), int(stock), bool(active), int(updated)
    )


def index_text(name: str, category: str) -> str:
    """The stored search key of a product: squashed name and category, and the name's 초성."""
    return f"{squash(name)}|{squash(category)}|{choseong(name)}"


def _region_key(region: object) -> str | None:
    if region is None:
        return None
    return normalize(validate.text(region, "region", max_len=64)) or None


def _page_bounds(limit: object, offset: object) -> tuple[int, int]:
    return (
        validate.whole_number(limit, "limit", low=1, high=MAX_LIMIT),
        validate.whole_number(offset, "offset", low=0, high=MAX_OFFSET),
    )


@dataclass(frozen=True, slots=True)
class Hit:
    """One product found: what a chat shows, and how well it matched (``score`` 0–100, higher is better;
    ``match`` is name | related | initials | typo)."""

    product_id: int
    shop_id: int
    name: str
    category: str
    unit: str
    price: int
    stock: int
    shop_region: str
    nearby: bool
    score: float
    match: str
    shop_name: str = ""  # goods of the same name from different shops are told apart by it

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


def hit_of(item: Item, match: Match, region_key: str | None) -> Hit:
    band, closeness, kind = match
    return Hit(
        product_id=item.id,
        shop_id=item.shop_id,
        name=item.name,
        category=item.category,
        unit=item.unit,
        price=item.price,
        stock=item.stock,
        shop_region=item.shop_region,
        shop_name=item.shop_name,
        nearby=region_key is not None and item.region_key == region_key,
        score=round(band * 25 + closeness / 4, 2),
        match=kind,
    )


class SearchIndex:
    """A process-local copy of what search needs, kept current from the database.

    Make one per process (bootstrap holds it) and pass it to ``search``; tasks of one event loop share
    it safely. ``from_rows`` builds one from plain data, with no database, for tests and tools.
    """

    def __init__(self) -> None:
        self.catalog = Catalog()
        self.reloads = 0  # times the fingerprint moved
        self.loads = 0  # reads of every product
        self.delta_loads = 0  # reads of the changed products only
        self._lock = asyncio.Lock()

    @classmethod
    def from_rows(
        cls, products: Iterable[ProductRow], shops: Iterable[ShopRow], synonyms: Iterable[tuple[str, str]] = ()
    ) -> SearchIndex:
        index = cls()
        index.catalog.update(products, shops=shops, synonyms=synonyms)
        return index

    @property
    def size(self) -> int:
        return len(self.catalog.items)

    def rank(self, query: str, *, region: str | None = None, limit: int = 6, offset: int = 0) -> list[Hit]:
        """Search what the index holds now, without the database."""
        q, region_key = parse_query(query), _region_key(region)
        limit, offset = _page_bounds(limit, offset)
        catalog = self.catalog
        page = matching.order(catalog, matching.match(catalog, q, offset + limit), region_key, offset + limit)[offset:]
        return [hit_of(item, m, region_key) for item, m in page]

    async def refresh(self, uow: UnitOfWork) -> None:
        """Bring the index up to date now (``search`` does this itself; this is for a warm start)."""
        rows = await uow.fetch(FINGERPRINT_SQL)
        await self.catch_up(uow, Fingerprint.of_row(rows[0]))

    async def catch_up(self, uow: UnitOfWork, current: Fingerprint) -> None:
        """Reload what differs from ``current``, the fingerprint just read in this unit of work."""
        if current == self.catalog.fingerprint:
            return
        async with self._lock:
            if current != self.catalog.fingerprint:  # unless another search reloaded meanwhile
                await self._reload(uow, current)

    async def _reload(self, uow: UnitOfWork, current: Fingerprint) -> None:
        catalog = self.catalog
        known = catalog.fingerprint
        everything = known is None
        ops: list[Op] = []
        if known is None:
            new_products = new_shops = new_synonyms = True
            ops.append(read(PRODUCTS_SQL))
        else:
            new_products = current.products != known.products
            new_shops = current.shops != known.shops
            new_synonyms = current.synonyms != known.synonyms
            if new_products:  # the rows stamped since the newest the index holds, and a margin for late commits
                since = known.products[1] - DELTA_SLACK_MS
                ops.append(read(PRODUCTS_SQL + " WHERE updated_ms >= :since", {"since": since}))
        if new_shops:
            ops.append(read(SHOPS_SQL))
        if new_synonyms:
            ops.append(read(SYNONYMS_SQL))
        results = iter(await uow.batch(ops))
        products = [_product_row(r) for r in next(results)] if new_products else []
        shops = (
            [ShopRow(int(i), str(r), s == "verified", str(n)) for i, r, s, n in next(results)] if new_shops else None
        )
        synonyms = [(str(t), str(c)) for t, c in next(results)] if new_synonyms else None
        if new_products and not everything and catalog.stamps_after(products) != current.products:
            # A row went missing or was stamped older than the margin: read them all.
            products = [_product_row(r) for r in await uow.fetch(PRODUCTS_SQL)]
            everything = True
        # From here on nothing awaits: other searches see the old catalog or the new one, never a mix.
        catalog.update(products, replace_all=everything, shops=shops, synonyms=synonyms)
        catalog.fingerprint = catalog.measure()
        self.reloads += 1
        if everything:
            self.loads += 1
        elif new_products:
            self.delta_loads += 1


async def search(
    uow: UnitOfWork, index: SearchIndex, query: str, *, region: str | None = None, limit: int = 6, offset: int = 0
) -> list[Hit]:
    """Products matching ``query``, best first (``commerce.search.matching``): ``limit`` from ``offset``.

    ``region`` is the shopper's region: its shops' products come first among equals. Raises
    ``InvalidInput`` for a query with nothing to search, control characters or over 100 characters.
    Usually one round trip: the fingerprint and the page's fresh rows in one batch.
    """
    q, region_key = parse_query(query), _region_key(region)
    limit, offset = _page_bounds(limit, offset)
    need = offset + limit
    catalog = index.catalog
    checked = False
    fresh: set[int] = set()
    found: dict[int, Match] | None = None
    ranked: list[tuple[Item, Match]] = []
    basis = catalog.fingerprint
    for _ in range(5):  # one pass, or two when the index had to catch up; more only under heavy churn
        if found is None:
            basis = catalog.fingerprint  # what the ranking below is made from
            found = matching.match(catalog, q, need)
            ranked = matching.order(catalog, found, region_key, need + WINDOW_SLACK)
        stale = [item.id for item, _ in ranked[: need + WINDOW_SLACK] if item.id not in fresh]
        ops = [] if checked else [read(FINGERPRINT_SQL)]
        if stale:
            clause, params = in_clause("p", stale)
            ops.append(read(FRESH_SQL + clause, params))
        if not ops:
            break
        results = await uow.batch(ops)
        if not checked:
            checked = True
            current = Fingerprint.of_row(results[0][0])
            if current != catalog.fingerprint:
                await index.catch_up(uow, current)
            if catalog.fingerprint != basis:  # ranked on an older index (another search may have caught up)
                found, fresh = None, set()
                continue
        if stale:
            fresh.update(stale)
            hidden, moved = catalog.apply_fresh(results[-1])
            if hidden:
                found = None  # shown or hidden since the index was loaded: match again (lower bands too)
            elif moved:  # sold out, back in stock, or its shop moved: order again
                ranked = matching.order(catalog, found, region_key, need + WINDOW_SLACK)
    return [hit_of(item, m, region_key) for item, m in ranked[offset:need]]


async def add_synonym(uow: UnitOfWork, term: str, canonical: str) -> None:
    """Record that ``term`` and ``canonical`` name the same goods (searching either finds both).

    Words are kept normalized ('호박 고구마' → '호박고구마'); adding a pair again changes nothing.
    """
    a = normalize(validate.text(term, "term", max_len=MAX_SYNONYM_CHARS))
    b = normalize(validate.text(canonical, "canonical", max_len=MAX_SYNONYM_CHARS))
    if not a or not b:
        raise InvalidInput("a synonym needs letters or digits", field="canonical" if a else "term")
    if a == b:
        raise InvalidInput("a word is not its own synonym", field="canonical")
    await uow.batch(
        [
            write(
                "INSERT INTO synonyms (term, canonical) VALUES (:t, :c) ON CONFLICT (term, canonical) DO NOTHING",
                {"t": a, "c": b},
            )
        ]
    )
