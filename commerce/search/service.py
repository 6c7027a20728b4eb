"""Korean search that forgives: initial consonants (초성), typos, spacing, synonyms.

Hangul is taken apart by the arithmetic of the Unicode Standard (§3.12, Conjoining Jamo Behavior): a
precomposed syllable is ``0xAC00 + (L × 21 + V) × 28 + T`` with 19 initial consonants L, 21 vowels V and
27 final consonants T (or none). Each jamo is written as the compatibility letter people type (ㄱ, ㅘ,
ㄺ …), one symbol per jamo, so "ㅅㄱ" lines up with 사과 and "사곽" is one symbol away from it.

A query matches a product in the best of four bands:

1. **name** — the query (spaces and punctuation ignored) occurs in the name, or every word of the query
   occurs in the name or is the category ("호박 고구마", "사과 청송", "과일 사과");
2. **related** — the query is the category ("과일"), or a synonym from the ``synonyms`` table (used both
   ways) turns it into a name match ("한치" → 오징어);
3. **initials** — the query holds 초성 and matches the name syllable by syllable: a consonant matches
   any syllable it begins, a syllable only itself ("ㅅㄱ", "사ㄱ" → 사과);
4. **typo** — the query's jamo are within a few edits of a stretch of the name's jamo (rapidfuzz
   ``partial_ratio``): one edit for queries of 4–9 jamo (two or three syllables), two for 10–17, three
   beyond; shorter queries are never guessed at. A misspelt synonym word counts here too.

Within a band: in stock before sold out, then shops in the shopper's region before others, then the
closer match, then name. Only active products of verified shops are found.

Matching runs on ``SearchIndex``, a process-local copy of the searchable columns, so a query never reads
the whole catalog. Each search reads, in one batch, a fingerprint row (count, newest and sum of
``products.updated_ms``, which every catalog write bumps; the shops' status; the synonyms) and the
current price, stock and status of its page and a few rows past it. Only when the fingerprint moved does
it reload — just the changed products when the same sums prove it missed none. Order reservations
change stock without bumping ``updated_ms``; the page re-read covers them: what a shopper sees is
current, and a product sold out since the last reload drops behind those in stock.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import heapq
import itertools
import math
import operator
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from commerce import validate
from commerce.errors import InvalidInput
from ledger.storage.ops import Op, Row, in_clause, read, write
from ledger.storage.unit_of_work import UnitOfWork

CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # T = 1…27; T = 0 is "no final"
_SYLLABLE_BASE, _SYLLABLES, _PER_INITIAL = 0xAC00, 11172, 21 * 28

MAX_QUERY_CHARS = 100  # the longest product name is 60 characters
MAX_SYNONYM_CHARS = 40  # the width of the synonyms table's columns
MAX_LIMIT, MAX_OFFSET = 50, 1000
WINDOW_SLACK = 10  # rows past the page whose stock is re-read, so a sold-out one can drop behind
DELTA_SLACK_MS = 60_000  # a delta reload re-reads rows stamped this long before the newest it holds

TEXT, RELATED, INITIALS, TYPO = 3, 2, 1, 0  # bands, best first
_MAX_REWRITES = 16
_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is exactly str.isalnum() plus "_"
# Conjoining jamo (what NFD input leaves behind when it cannot recompose) → the compatibility letters.
_CONJOINING = str.maketrans(
    {0x1100 + i: ch for i, ch in enumerate(CHOSEONG)}
    | {0x1161 + i: ch for i, ch in enumerate(JUNGSEONG)}
    | {0x11A8 + i: ch for i, ch in enumerate(JONGSEONG)}
)


def spell(syllable: str) -> str:
    """One Hangul syllable's jamo by the Unicode formula ('닭' → 'ㄷㅏㄺ'); anything else unchanged."""
    code = ord(syllable) - _SYLLABLE_BASE
    if not 0 <= code < _SYLLABLES:
        return syllable
    initial, rest = divmod(code, _PER_INITIAL)
    vowel, final = divmod(rest, 28)
    return CHOSEONG[initial] + JUNGSEONG[vowel] + (JONGSEONG[final - 1] if final else "")


@functools.cache
def _tables() -> tuple[dict[int, str], dict[int, str]]:
    """syllable → its jamo, and syllable → its initial, for ``str.translate`` (built on first use)."""
    syllables = [chr(_SYLLABLE_BASE + code) for code in range(_SYLLABLES)]
    return (
        {ord(s): spell(s) for s in syllables},
        {ord(s): CHOSEONG[i // _PER_INITIAL] for i, s in enumerate(syllables)},
    )


def jamo(text: str) -> str:
    """Hangul syllables taken apart into compatibility jamo ('닭갈비' → 'ㄷㅏㄺㄱㅏㄹㅂㅣ')."""
    return text.translate(_tables()[0])


def initials(text: str) -> str:
    """Each Hangul syllable replaced by its initial consonant, everything else kept (same length)."""
    return text.translate(_tables()[1])


def squash(text: str) -> str:
    """NFC, lower case, no spaces: '호박 고구마 ' → '호박고구마'."""
    return "".join(unicodedata.normalize("NFC", text).lower().split())


def choseong(text: str) -> str:
    """Initial consonants of Hangul syllables ('사과' → 'ㅅㄱ'); other characters pass through."""
    return initials(squash(text))


def index_text(name: str, category: str) -> str:
    """The stored search key of a product: squashed name and category, and the name's 초성."""
    return f"{squash(name)}|{squash(category)}|{choseong(name)}"


def normalize(text: str) -> str:
    """What both sides of a match are compared as: NFC, case-folded, letters and digits only.

    Spaces and punctuation go ('호박 고구마!' → '호박고구마'); NFD input recomposes, and stray conjoining
    jamo become the compatibility letters a keyboard types.
    """
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFC", text).casefold().translate(_CONJOINING))


def allowed_edits(jamo_count: int) -> int:
    """How many jamo a query of this length may have wrong and still find a name."""
    if jamo_count < 4:
        return 0
    return 1 if jamo_count < 10 else 2 if jamo_count < 18 else 3


# ------------------------------------------------------------------------------------------ queries


@dataclass(frozen=True, slots=True)
class Query:
    """A checked query: normalized text, its words, jamo, and for a query with 초성 its pattern."""

    text: str
    words: tuple[str, ...]
    jamo: str
    initials: str  # the text with every syllable replaced by its initial
    pattern: re.Pattern[str] | None  # set when the text holds 초성: what a matching stretch of name must be
    only_initials: bool
    edits: int


def parse_query(query: object) -> Query:
    """Check a shopper's query; ``InvalidInput`` for non-text, control characters, > 100 characters, or
    nothing searchable (empty, spaces, only punctuation)."""
    clean = validate.text(query, "query", max_len=MAX_QUERY_CHARS)
    text = normalize(clean)
    if not text:
        raise InvalidInput("type a product name, its 초성 or a category to search for", field="query")
    words = tuple(w for w in (normalize(part) for part in clean.split()) if w)
    pattern: re.Pattern[str] | None = None
    if any(ch in CHOSEONG for ch in text):
        parts = []
        for ch in text:
            i = CHOSEONG.find(ch)
            if i < 0:
                parts.append(re.escape(ch))
            else:  # any syllable this consonant begins, or the letter itself
                first = _SYLLABLE_BASE + i * _PER_INITIAL
                parts.append(f"[{chr(first)}-{chr(first + _PER_INITIAL - 1)}{ch}]")
        pattern = re.compile("".join(parts))
    spelled = jamo(text)
    only = all(ch in CHOSEONG for ch in text)
    return Query(text, words, spelled, initials(text), pattern, only, 0 if only else allowed_edits(len(spelled)))


def _region_key(region: object) -> str | None:
    if region is None:
        return None
    return normalize(validate.text(region, "region", max_len=64)) or None


def _page_bounds(limit: object, offset: object) -> tuple[int, int]:
    return (
        validate.whole_number(limit, "limit", low=1, high=MAX_LIMIT),
        validate.whole_number(offset, "offset", low=0, high=MAX_OFFSET),
    )


# ------------------------------------------------------------------------------------------ the index


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


@dataclass(slots=True, eq=False)
class _Item:
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
    def of(cls, row: ProductRow) -> _Item:
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


def _joined(keys: Sequence[str]) -> tuple[str, list[int]]:
    """Keys NUL-separated (one C-speed scan finds a needle in all of them) and where each starts."""
    lengths = list(map(len, keys))
    ends = itertools.accumulate(lengths)  # start of key i = the lengths before it + i separators
    return "\0".join(keys) + "\0", list(map(operator.add, map(operator.sub, ends, lengths), range(len(keys))))


Match = tuple[int, float, str]  # band, closeness within the band (0–100), how it matched


class _Catalog:
    """The searchable structures. Changed only by ``update`` and ``apply_fresh``, which never await: a
    search in another task sees the catalog before or after a change, never half of one."""

    def __init__(self) -> None:
        self.items: dict[int, _Item] = {}
        self.shops: dict[int, ShopRow] = {}
        self.region_keys: dict[int, str] = {}
        self.synonym_rows: tuple[tuple[str, str], ...] = ()
        self.partners: dict[str, tuple[str, ...]] = {}
        self.vocabulary: list[str] = []
        self.vocabulary_jamo: list[str] = []
        self.fingerprint: Fingerprint | None = None
        self.stamp_total = self.stamp_newest = 0
        # Every product (hidden ones too) by normalized name and by category; each name's jamo and 초성.
        self.by_key: dict[str, dict[int, _Item]] = {}
        self.by_category: dict[str, dict[int, _Item]] = {}
        self.jamo_of: dict[str, str] = {}
        self.initials_of: dict[str, str] = {}
        self._scans()

    # -- building
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
            item = self.items[row.id] = _Item.of(row)
            self._place(item)
            keys_moved |= self._file(item, old)
        if newest_gone:
            self.stamp_newest = max((item.updated_ms for item in self.items.values()), default=0)
        if synonyms is not None:
            self._take_synonyms(tuple(synonyms))
        if keys_moved or replace_all:
            self._scans()

    def _file(self, item: _Item, old: _Item | None) -> bool:
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

    def _place(self, item: _Item) -> None:
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
        """The fingerprint of what the catalog holds, as ``FINGERPRINT_SQL`` would count it."""
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

    # -- matching
    def _sweep(
        self,
        found: dict[int, Match],
        needle: str,
        band: int,
        kind: str,
        *,
        weight: float = 1.0,
        pattern: re.Pattern[str] | None = None,
    ) -> None:
        """Mark the products whose name holds ``needle`` (its 초성 with ``pattern``, which the name itself
        must then match at that place). Closeness: the whole name 100, a prefix 90–95, inside 85–90.

        The hot loop of every query, so written flat: one C-speed ``find`` per name that matches.
        """
        corpus = self.corpus if pattern is None else self.initials_corpus
        starts, keys, key_items, length = self.starts, self.keys, self.key_items, len(needle)
        at = 0
        while (hit := corpus.find(needle, at)) >= 0:
            k = bisect.bisect_right(starts, hit) - 1
            if pattern is not None and not pattern.match(self.corpus, hit):
                at = hit + 1
                continue
            start, size = starts[k], len(keys[k])
            at = start + size + 1
            if hit > start:
                closeness = weight * (85 + 5 * length / size)
            else:
                closeness = weight * (100.0 if length == size else 90 + 5 * length / size)
            for item in key_items[k].values():
                if item.visible:
                    known = found.get(item.id)
                    if known is None or (known[0] == band and known[1] < closeness):
                        found[item.id] = (band, closeness, kind)

    @staticmethod
    def _add(found: dict[int, Match], items: Iterable[_Item], match: Match) -> None:
        band, closeness, _ = match
        for item in items:
            if item.visible:
                known = found.get(item.id)
                if known is None or (known[0] == band and known[1] < closeness):
                    found[item.id] = match

    def match(self, q: Query, need: int) -> dict[int, Match]:
        """Every visible product the query finds, with its band — stopping before a lower band once the
        better ones alone fill ``need`` results (a lower band could not reach the page then). Bands are
        visited best first, so a product keeps the first band that finds it."""
        found: dict[int, Match] = {}
        self._sweep(found, q.text, TEXT, "name")
        if len(q.words) > 1:
            everywhere: set[int] | None = None
            for word in q.words:
                words: dict[int, Match] = {}
                self._sweep(words, word, TEXT, "name")
                ids = set(words).union(self.by_category.get(word, ()))
                everywhere = ids if everywhere is None else everywhere & ids
            self._add(found, (self.items[i] for i in everywhere or ()), (TEXT, 80.0, "name"))
        if len(found) >= need:
            return found

        self._add(found, self.by_category.get(q.text, {}).values(), (RELATED, 90.0, "related"))
        for rewritten, weight in self._rewrites(q):
            self._sweep(found, rewritten, RELATED, "related", weight=weight)
        if len(found) >= need:
            return found

        if q.pattern is not None:
            self._sweep(found, q.initials, INITIALS, "initials", pattern=q.pattern)
            if len(found) >= need:
                return found

        for k, closeness in self._near(q):
            self._add(found, self.key_items[k].values(), (TYPO, closeness, "typo"))
        for word in self._misspelt_synonyms(q):
            self._sweep(found, word, TYPO, "typo", weight=0.8)
        return found

    def _rewrites(self, q: Query) -> list[tuple[str, float]]:
        """The query with a synonym swapped in, and how much of a match each rewrite is worth."""
        out: list[tuple[str, float]] = []
        for word, others in self.partners.items():
            if word in q.text:
                out.extend((q.text.replace(word, other), 1.0 if word == q.text else 0.95) for other in others)
        return out[:_MAX_REWRITES]

    def _misspelt_synonyms(self, q: Query) -> list[str]:
        """The partners of a synonym word the query misspells: "오징오" → 오징어 → 한치."""
        if not q.edits or not self.vocabulary:
            return []
        cutoff = 100 * (1 - q.edits / len(q.jamo)) - 0.01
        near = process.extract(q.jamo, self.vocabulary_jamo, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
        return [other for _, _, i in near for other in self.partners[self.vocabulary[i]]][:_MAX_REWRITES]

    def _near(self, q: Query) -> list[tuple[int, float]]:
        """Keys within ``q.edits`` jamo edits of the query somewhere along them, with their closeness.

        Candidates first, by the pigeonhole principle: cut the query's jamo into edits + 1 pieces; with at
        most ``edits`` edits one piece is intact, so it occurs verbatim in every key worth scoring.
        """
        n, edits = len(q.jamo), q.edits
        if not edits:
            return []
        cuts = [round(i * n / (edits + 1)) for i in range(edits + 2)]
        corpus, starts, keys = self.jamo_corpus, self.jamo_starts, self.key_jamo
        candidates: set[int] = set()
        for piece in {q.jamo[cuts[i] : cuts[i + 1]] for i in range(edits + 1)}:
            at = 0
            while (found := corpus.find(piece, at)) >= 0:
                k = bisect.bisect_right(starts, found) - 1
                if len(keys[k]) >= n - edits:  # a much shorter name is not what was typed
                    candidates.add(k)
                at = starts[k] + len(keys[k]) + 1
        if not candidates:
            return []
        order = sorted(candidates)

        # partial_ratio aligns the shorter string (m jamo) with a stretch of the longer and counts Indel
        # operations over 2m: each wrong jamo costs at most 2, so e edits score at least 100 × (1 − e/m).
        def cutoff(m: int) -> float:
            return 100 * (1 - edits / m) - 0.01

        scored = process.extract(
            q.jamo, [keys[k] for k in order], scorer=fuzz.partial_ratio, score_cutoff=cutoff(n - edits), limit=None
        )
        return [
            (order[i], 0.7 * score + 0.3 * fuzz.ratio(q.jamo, keys[order[i]]))
            for _, score, i in scored
            if score >= cutoff(min(n, len(keys[order[i]])))
        ]

    # -- ranking
    def order(self, found: Mapping[int, Match], region_key: str | None, count: int) -> list[tuple[_Item, Match]]:
        """The best ``count`` found, best first: band, then in stock, then nearby, then closeness, name, id."""
        items = self.items
        ranked = [(item, m) for pid, m in found.items() if (item := items.get(pid)) is not None and item.visible]

        def rank(entry: tuple[_Item, Match]) -> tuple[int, bool, bool, float, str, int]:
            item, (band, closeness, _) = entry
            far = region_key is not None and item.region_key != region_key
            return -band, item.stock <= 0, far, -closeness, item.name, item.id

        if len(ranked) > 4 * count:
            return heapq.nsmallest(count, ranked, key=rank)
        ranked.sort(key=rank)
        return ranked[:count]


def _hit(item: _Item, match: Match, region_key: str | None) -> Hit:
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
        self.catalog = _Catalog()
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
        page = catalog.order(catalog.match(q, offset + limit), region_key, offset + limit)[offset:]
        return [_hit(item, m, region_key) for item, m in page]

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
    """Products matching ``query``, best first (see the module docstring): ``limit`` from ``offset``.

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
    ranked: list[tuple[_Item, Match]] = []
    basis = catalog.fingerprint
    for _ in range(5):  # one pass, or two when the index had to catch up; more only under heavy churn
        if found is None:
            basis = catalog.fingerprint  # what the ranking below is made from
            found = catalog.match(q, need)
            ranked = catalog.order(found, region_key, need + WINDOW_SLACK)
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
                ranked = catalog.order(found, region_key, need + WINDOW_SLACK)
    return [_hit(item, m, region_key) for item, m in ranked[offset:need]]


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


async def measure_latency(uow: UnitOfWork, index: SearchIndex, queries: list[str], rounds: int) -> tuple[float, float]:
    """(p50, p99) in milliseconds of ``search`` over ``queries`` × ``rounds`` (nearest rank), after one
    warm-up search that loads the index — time a cold start separately if it matters."""
    if not queries or rounds < 1:
        raise ValueError("measure_latency needs queries and at least one round")
    await search(uow, index, queries[0])
    samples = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            await search(uow, index, query)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()

    def percentile(p: float) -> float:
        return samples[max(0, math.ceil(p / 100 * len(samples)) - 1)]

    return percentile(50), percentile(99)
