"""Matching a query against the catalog: which products it finds, in which band, and in what order.

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
closer match, then name. Only active products of verified shops are found. Everything here is pure: it
reads a ``commerce.search.index.Catalog`` and never the database.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from commerce import validate
from commerce.errors import InvalidInput
from commerce.search.hangul import CHOSEONG, initials, initials_pattern, jamo, normalize
from commerce.search.index import Catalog, Item

MAX_QUERY_CHARS = 100  # the longest product name is 60 characters

TEXT, RELATED, INITIALS, TYPO = 3, 2, 1, 0  # bands, best first
_MAX_REWRITES = 16


def allowed_edits(jamo_count: int) -> int:
    """How many jamo a query of this length may have wrong and still find a name."""
    if jamo_count < 4:
        return 0
    return 1 if jamo_count < 10 else 2 if jamo_count < 18 else 3


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
    pattern = initials_pattern(text) if any(ch in CHOSEONG for ch in text) else None
    spelled = jamo(text)
    only = all(ch in CHOSEONG for ch in text)
    return Query(text, words, spelled, initials(text), pattern, only, 0 if only else allowed_edits(len(spelled)))


Match = tuple[int, float, str]  # band, closeness within the band (0–100), how it matched


def _sweep(
    catalog: Catalog,
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
    corpus = catalog.corpus if pattern is None else catalog.initials_corpus
    starts, keys, key_items, length = catalog.starts, catalog.keys, catalog.key_items, len(needle)
    at = 0
    while (hit := corpus.find(needle, at)) >= 0:
        k = bisect.bisect_right(starts, hit) - 1
        if pattern is not None and not pattern.match(catalog.corpus, hit):
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


def _add(found: dict[int, Match], items: Iterable[Item], match: Match) -> None:
    band, closeness, _ = match
    for item in items:
        if item.visible:
            known = found.get(item.id)
            if known is None or (known[0] == band and known[1] < closeness):
                found[item.id] = match


def match(catalog: Catalog, q: Query, need: int) -> dict[int, Match]:
    """Every visible product the query finds, with its band — stopping before a lower band once the
    better ones alone fill ``need`` results (a lower band could not reach the page then). Bands are
    visited best first, so a product keeps the first band that finds it."""
    found: dict[int, Match] = {}
    _sweep(catalog, found, q.text, TEXT, "name")
    if len(q.words) > 1:
        everywhere: set[int] | None = None
        for word in q.words:
            words: dict[int, Match] = {}
            _sweep(catalog, words, word, TEXT, "name")
            ids = set(words).union(catalog.by_category.get(word, ()))
            everywhere = ids if everywhere is None else everywhere & ids
        _add(found, (catalog.items[i] for i in everywhere or ()), (TEXT, 80.0, "name"))
    if len(found) >= need:
        return found

    _add(found, catalog.by_category.get(q.text, {}).values(), (RELATED, 90.0, "related"))
    for rewritten, weight in _rewrites(catalog, q):
        _sweep(catalog, found, rewritten, RELATED, "related", weight=weight)
    if len(found) >= need:
        return found

    if q.pattern is not None:
        _sweep(catalog, found, q.initials, INITIALS, "initials", pattern=q.pattern)
        if len(found) >= need:
            return found

    for k, closeness in _near(catalog, q):
        _add(found, catalog.key_items[k].values(), (TYPO, closeness, "typo"))
    for word in _misspelt_synonyms(catalog, q):
        _sweep(catalog, found, word, TYPO, "typo", weight=0.8)
    return found


def _rewrites(catalog: Catalog, q: Query) -> list[tuple[str, float]]:
    """The query with a synonym swapped in, and how much of a match each rewrite is worth."""
    out: list[tuple[str, float]] = []
    for word, others in catalog.partners.items():
        if word in q.text:
            out.extend((q.text.replace(word, other), 1.0 if word == q.text else 0.95) for other in others)
    return out[:_MAX_REWRITES]


def _misspelt_synonyms(catalog: Catalog, q: Query) -> list[str]:
    """The partners of a synonym word the query misspells: "오징오" → 오징어 → 한치."""
    if not q.edits or not catalog.vocabulary:
        return []
    cutoff = 100 * (1 - q.edits / len(q.jamo)) - 0.01
    near = process.extract(q.jamo, catalog.vocabulary_jamo, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
    return [other for _, _, i in near for other in catalog.partners[catalog.vocabulary[i]]][:_MAX_REWRITES]


def _near(catalog: Catalog, q: Query) -> list[tuple[int, float]]:
    """Keys within ``q.edits`` jamo edits of the query somewhere along them, with their closeness.

    Candidates first, by the pigeonhole principle: cut the query's jamo into edits + 1 pieces; with at
    most ``edits`` edits one piece is intact, so it occurs verbatim in every key worth scoring.
    """
    n, edits = len(q.jamo), q.edits
    if not edits:
        return []
    cuts = [round(i * n / (edits + 1)) for i in range(edits + 2)]
    corpus, starts, keys = catalog.jamo_corpus, catalog.jamo_starts, catalog.key_jamo
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


def order(catalog: Catalog, found: Mapping[int, Match], region_key: str | None, count: int) -> list[tuple[Item, Match]]:
    """The best ``count`` found, best first: band, then in stock, then nearby, then closeness, name, id."""
    items = catalog.items
    ranked = [(item, m) for pid, m in found.items() if (item := items.get(pid)) is not None and item.visible]

    def rank(entry: tuple[Item, Match]) -> tuple[int, bool, bool, float, str, int]:
        item, (band, closeness, _) = entry
        far = region_key is not None and item.region_key != region_key
        return -band, item.stock <= 0, far, -closeness, item.name, item.id

    if len(ranked) > 4 * count:
        return heapq.nsmallest(count, ranked, key=rank)
    ranked.sort(key=rank)
    return ranked[:count]
