"""The searchable catalog in memory: every product's name taken apart once, filed by name and category.

``Catalog`` holds what matching (``commerce.search.matching``) scans: each distinct name once,
NUL-separated, as written, as 초성 and as jamo, so one C-speed ``str.find`` looks through all of them.
It is changed only by ``update`` (rows loaded from the database, or plain data in a test) and
``apply_fresh`` (a page's price, stock and status re-read), neither of which awaits: a search in another
task sees the catalog before or after a change, never half of one. ``measure`` says what it was built
from, in the same numbers the database's fingerprint query gives (``commerce.search.service``), so a
search can tell whether the copy is current without reading the catalog.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from commerce.search.hangul import initials, jamo, normalize
from ledger.storage.ops import Row


@dataclass(frozen=True, slots=True)
class ProductRow:
    """What the index keeps of a product: a row of the load query, or plain data in a test."""

    id: int
    shop_id: int
    name: str
    category: str
    unit: str
    price: int
    stock: int
    active: bool = True
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class ShopRow:
    id: int
    region: str
    verified: bool = True
    name: str = ""


@dataclass(slots=True, eq=False)
class Item:
    """A product in the index; price, stock and status are refreshed in place by the page re-reads."""

    id: int
    shop_id: int
    name: str
    category: str
    unit: str
    price: int
    stock: int
    active: bool
    updated_ms: int
    key: str  # the normalized name
    key_jamo: str
    key_initials: str
    category_key: str
    shop_region: str = ""
    shop_name: str = ""
    region_key: str = ""
    shop_ok: bool = False
    visible: bool = False  # active and its shop verified: what search may show

    @classmethod
    def of(cls, row: ProductRow) -> Item:
        key = normalize(row.name)
        return cls(
            row.id,
            row.shop_id,
            row.name,
            row.category,
            row.unit,
            row.price,
            row.stock,
            row.active,
            row.updated_ms,
            key,
            jamo(key),
            initials(key),
            normalize(row.category),
        )


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the index was built from, in numbers that both a query and the loaded rows produce."""

    products: tuple[int, int, int]  # count, newest updated_ms, sum of updated_ms
    shops: tuple[int, int, int, int]  # count, verified count, sum of verified ids, sum of region lengths
    synonyms: tuple[int, int]  # count, sum of lengths

    @classmethod
    def of_row(cls, row: Row) -> Fingerprint:
        n = [int(v or 0) for v in row]
        return cls((n[0], n[1], n[2]), (n[3], n[4], n[5], n[6]), (n[7], n[8]))


def _joined(keys: Sequence[str]) -> tuple[str, list[int]]:
    """Keys NUL-separated (one C-speed scan finds a needle in all of them) and where each starts."""
    lengths = list(map(len, keys))
    ends = itertools.accumulate(lengths)  # start of key i = the lengths before it + i separators
    return "\0".join(keys) + "\0", list(map(operator.add, map(operator.sub, ends, lengths), range(len(keys))))


class Catalog:
    """The searchable structures. Changed only by ``update`` and ``apply_fresh``, which never await: a
    search in another task sees the catalog before or after a change, never half of one."""

    def __init__(self) -> None:
        self.items: dict[int, Item] = {}
        self.shops: dict[int, ShopRow] = {}
        self.region_keys: dict[int, str] = {}
        self.synonym_rows: tuple[tuple[str, str], ...] = ()
        self.partners: dict[str, tuple[str, ...]] = {}
        self.vocabulary: list[str] = []
        self.vocabulary_jamo: list[str] = []
        self.fingerprint: Fingerprint | None = None
        self.stamp_total = self.stamp_newest = 0
        # Every product (hidden ones too) by normalized name and by category; each name's jamo and 초성.
        self.by_key: dict[str, dict[int, Item]] = {}
        self.by_category: dict[str, dict[int, Item]] = {}
        self.jamo_of: dict[str, str] = {}
        self.initials_of: dict[str, str] = {}
        self._scans()

    def update(
        self,
        products: Iterable[ProductRow] = (),
        *,
        replace_all: bool = False,
        shops: Iterable[ShopRow] | None = None,
        synonyms: Iterable[tuple[str, str]] | None = None,
    ) -> None:
        """Take in changed products (all of them with ``replace_all``), shops and synonyms.

        Costs O(changed rows) in Python and O(products) only in C (joins and maps over the keys).
        """
        if replace_all:
            self.items, self.by_key, self.by_category, self.jamo_of, self.initials_of = {}, {}, {}, {}, {}
            self.stamp_total = self.stamp_newest = 0
        if shops is not None:
            self.shops = {s.id: s for s in shops}
            self.region_keys = {s.id: normalize(s.region) for s in self.shops.values()}
            for item in self.items.values():
                self._place(item)
        newest_gone = keys_moved = False
        for row in products:
            old = self.items.get(row.id)
            # Stamps only grow, unless a clock went back: then the newest is looked for again below.
            newest_gone |= old is not None and old.updated_ms == self.stamp_newest > row.updated_ms
            if old is not None and (old.name, old.category, old.shop_id) == (row.name, row.category, row.shop_id):
                self.stamp_total += row.updated_ms - old.updated_ms
                self.stamp_newest = max(self.stamp_newest, row.updated_ms)
                old.price, old.stock, old.active, old.updated_ms = row.price, row.stock, row.active, row.updated_ms
                self._place(old)
                continue
            item = self.items[row.id] = Item.of(row)
            self._place(item)
            keys_moved |= self._file(item, old)
        if newest_gone:
            self.stamp_newest = max((item.updated_ms for item in self.items.values()), default=0)
        if synonyms is not None:
            self._take_synonyms(tuple(synonyms))
        if keys_moved or replace_all:
            self._scans()

    def _file(self, item: Item, old: Item | None) -> bool:
        """File ``item`` in place of ``old``; True when a name was added to or gone from the index."""
        moved = False
        same_name = self.by_key.get(item.key)
        if same_name is None:
            same_name = self.by_key[item.key] = {}
            self.jamo_of[item.key], self.initials_of[item.key] = item.key_jamo, item.key_initials
            moved = True
        same_name[item.id] = item
        self.by_category.setdefault(item.category_key, {})[item.id] = item
        if old is not None:
            if old.key != item.key:
                del self.by_key[old.key][old.id]
                if not self.by_key[old.key]:
                    del self.by_key[old.key], self.jamo_of[old.key], self.initials_of[old.key]
                    moved = True
            if old.category_key != item.category_key:
                del self.by_category[old.category_key][old.id]
                if not self.by_category[old.category_key]:
                    del self.by_category[old.category_key]
            self.stamp_total -= old.updated_ms
        self.stamp_total += item.updated_ms
        self.stamp_newest = max(self.stamp_newest, item.updated_ms)
        return moved

    def _scans(self) -> None:
        """The texts a query scans: every name once, NUL-separated, as written, as 초성, as jamo."""
        self.keys = list(self.by_key)
        self.key_items = list(self.by_key.values())
        self.key_jamo = list(map(self.jamo_of.__getitem__, self.keys))
        self.corpus, self.starts = _joined(self.keys)
        self.initials_corpus = "\0".join(map(self.initials_of.__getitem__, self.keys)) + "\0"
        self.jamo_corpus, self.jamo_starts = _joined(self.key_jamo)

    def _place(self, item: Item) -> None:
        shop = self.shops.get(item.shop_id)
        item.shop_region = shop.region if shop else ""
        item.shop_name = shop.name if shop else ""
        item.region_key = self.region_keys.get(item.shop_id, "")
        item.shop_ok = shop is not None and shop.verified
        item.visible = item.active and item.shop_ok

    def stamps_after(self, rows: Iterable[ProductRow]) -> tuple[int, int, int]:
        """(count, newest, sum) of ``updated_ms`` the catalog would hold after taking in ``rows``."""
        count, newest, total = len(self.items), self.stamp_newest, self.stamp_total
        for row in rows:
            old = self.items.get(row.id)
            count += old is None
            total += row.updated_ms - (old.updated_ms if old else 0)
            newest = max(newest, row.updated_ms)
        return count, newest, total

    def _take_synonyms(self, rows: tuple[tuple[str, str], ...]) -> None:
        self.synonym_rows = rows
        partners: dict[str, set[str]] = {}
        for term, canonical in rows:
            a, b = normalize(term), normalize(canonical)
            if a and b and a != b:
                partners.setdefault(a, set()).add(b)
                partners.setdefault(b, set()).add(a)
        self.partners = {word: tuple(sorted(others)) for word, others in partners.items()}
        self.vocabulary = list(self.partners)
        self.vocabulary_jamo = [jamo(word) for word in self.vocabulary]

    def measure(self) -> Fingerprint:
        """The fingerprint of what the catalog holds, as the database's would count it."""
        verified = [s for s in self.shops.values() if s.verified]
        return Fingerprint(
            (len(self.items), self.stamp_newest, self.stamp_total),
            (
                len(self.shops),
                len(verified),
                sum(s.id for s in verified),
                sum(len(s.region) for s in self.shops.values()),
            ),
            (len(self.synonym_rows), sum(len(t) + len(c) for t, c in self.synonym_rows)),
        )

    def apply_fresh(self, rows: Iterable[Row]) -> tuple[bool, bool]:
        """Take re-read price, stock, status and shop region into the items. Returns whether an item's
        visibility changed (match again), and whether anything the order depends on did (order again)."""
        hidden = moved = False
        for pid, price, stock, active, status, region in rows:
            item = self.items.get(int(pid))
            if item is None:
                continue
            before = item.visible, item.stock > 0, item.region_key
            item.price, item.stock, item.active = int(price), int(stock), bool(active)
            item.shop_ok = status == "verified"
            item.visible = item.active and item.shop_ok
            if region is not None and region != item.shop_region:
                item.shop_region, item.region_key = str(region), normalize(str(region))
            hidden |= before[0] != item.visible
            moved |= before != (item.visible, item.stock > 0, item.region_key)
        return hidden, moved
