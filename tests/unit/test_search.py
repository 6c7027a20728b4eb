"""Korean text handling and ranking of the forgiving search, on an in-memory index (no database)."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from commerce.errors import InvalidInput
from commerce.search import hangul, matching
from commerce.search import service as search
from commerce.search.index import ProductRow, ShopRow
from commerce.search.service import SearchIndex

NEAR, FAR = 1, 2


def letter(conjoining: str) -> str:
    """The compatibility letter of a conjoining jamo, by its Unicode name (ᄀ CHOSEONG KIYEOK → ㄱ)."""
    name = unicodedata.name(conjoining)
    for kind in ("CHOSEONG", "JUNGSEONG", "JONGSEONG"):
        name = name.replace(f"HANGUL {kind} ", "HANGUL LETTER ")
    return unicodedata.lookup(name)


# ------------------------------------------------------------------------------------------ text


def test_squash_and_choseong_as_the_catalog_stores_them() -> None:
    assert hangul.squash("  호박 고구마 ") == "호박고구마"
    assert hangul.squash("Apple 사과") == "apple사과"
    assert hangul.choseong("사과") == "ㅅㄱ"
    assert hangul.choseong("호박 고구마") == "ㅎㅂㄱㄱㅁ"
    assert hangul.choseong("꿀사과 5kg") == "ㄲㅅㄱ5kg"
    assert search.index_text("호박 고구마", "채소") == "호박고구마|채소|ㅎㅂㄱㄱㅁ"


def test_every_syllable_decomposes_as_unicode_says() -> None:
    """Checked against an independent oracle: NFD into conjoining jamo, then each jamo's name."""
    for code in range(0xAC00, 0xD7A4):
        syllable = chr(code)
        expected = "".join(letter(j) for j in unicodedata.normalize("NFD", syllable))
        assert hangul.spell(syllable) == expected, syllable
        assert hangul.initials(syllable) == expected[0]
    assert hangul.jamo("닭갈비") == "ㄷㅏㄺㄱㅏㄹㅂㅣ"
    assert hangul.jamo("과일 5kg!") == "ㄱㅘㅇㅣㄹ 5kg!"
    assert hangul.initials("사과 5kg") == "ㅅㄱ 5kg"


def test_normalize_ignores_spacing_punctuation_case_and_normal_form() -> None:
    assert hangul.normalize("  호박  고구마! ") == "호박고구마"
    assert hangul.normalize(unicodedata.normalize("NFD", "호박고구마")) == "호박고구마"
    assert hangul.normalize("Shine-Muscat 2KG") == "shinemuscat2kg"
    assert hangul.normalize("\u1109\u1100") == "ㅅㄱ"  # conjoining initials typed alone
    assert hangul.normalize("(사과)·[배]") == "사과배"


def test_allowed_edits_grow_with_the_query() -> None:
    assert [matching.allowed_edits(n) for n in (1, 3, 4, 9, 10, 17, 18, 40)] == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize(
    "query",
    ["", "   ", "?!", "…·", "x" * 1000, "x" * 101, "사과\x00", "사\n과", "사\u200b과", "\ud800", None, 7, ["사과"]],
)
def test_bad_queries_are_refused(query: object) -> None:
    with pytest.raises(InvalidInput):
        matching.parse_query(query)


def test_parsed_query() -> None:
    q = matching.parse_query(" 호박  고구마 ")
    assert (q.text, q.words, q.pattern, q.edits) == ("호박고구마", ("호박", "고구마"), None, 2)
    q = matching.parse_query("사ㄱ")
    assert q.pattern is not None and q.initials == "ㅅㄱ" and not q.only_initials
    assert q.pattern.fullmatch("사과") and not q.pattern.fullmatch("수건")
    q = matching.parse_query("ㅅㄱ")
    assert q.only_initials and q.edits == 0
    assert matching.parse_query("x" * 100).text == "x" * 100


# ------------------------------------------------------------------------------------------ ranking

SHOPS = [ShopRow(NEAR, "수원시"), ShopRow(FAR, "청주시"), ShopRow(3, "수원시", verified=False)]


def product(
    pid: int, name: str, category: str = "채소", *, stock: int = 5, shop: int = NEAR, active: bool = True
) -> ProductRow:
    return ProductRow(pid, shop, name, category, "1kg", 1000 * pid, stock, active)


def names(index: SearchIndex, query: str, **kw: object) -> list[str]:
    return [h.name for h in index.rank(query, **kw)]  # type: ignore[arg-type]


def test_bands_come_before_stock_and_stock_before_region() -> None:
    index = SearchIndex.from_rows(
        [
            product(1, "고구마", stock=0),  # the exact name, sold out
            product(2, "밤고구마", shop=FAR),
            product(3, "꿀고구마"),
            product(4, "고구머"),  # one jamo off: a typo match only
            product(5, "감자"),
        ],
        SHOPS,
    )
    hits = index.rank("고구마", region="수원시", limit=10)
    assert [(h.name, h.match, h.in_stock, h.nearby) for h in hits] == [
        ("꿀고구마", "name", True, True),
        ("밤고구마", "name", True, False),
        ("고구마", "name", False, True),
        ("고구머", "typo", True, True),
    ]
    assert names(index, "고구마", region="청주시") == ["밤고구마", "꿀고구마", "고구마", "고구머"]
    # Without a region: in stock first, then closeness (both inside here), then the name.
    assert names(index, "고구마") == ["꿀고구마", "밤고구마", "고구마", "고구머"]
    scores = [h.score for h in hits]
    assert scores[3] < min(scores[:3]) and all(0 <= s <= 100 for s in scores)


def test_closeness_orders_within_a_band() -> None:
    index = SearchIndex.from_rows(
        [product(1, "청송 사과 선물세트"), product(2, "사과즙"), product(3, "사과"), product(4, "꿀사과")], SHOPS
    )
    assert names(index, "사과") == ["사과", "사과즙", "꿀사과", "청송 사과 선물세트"]
    assert names(index, "ㅅㄱ") == ["사과", "사과즙", "꿀사과", "청송 사과 선물세트"]


def test_initials_mixed_and_typos() -> None:
    index = SearchIndex.from_rows(
        [product(1, "사과", "과일"), product(2, "수건", "생활용품"), product(3, "고구마"), product(4, "호박고구마")],
        SHOPS,
    )
    assert names(index, "ㅅㄱ") == ["사과", "수건"]
    assert names(index, "사ㄱ") == ["사과"]
    assert names(index, "ㄱㄱㅁ") == ["고구마", "호박고구마"]
    assert names(index, "ㅎㅂ ㄱㄱㅁ") == ["호박고구마"]
    assert names(index, "사곽")[0] == "사과"
    assert names(index, "고구모") == ["고구마", "호박고구마"]
    assert names(index, "호박고그마")[0] == "호박고구마"
    assert [h.match for h in index.rank("사곽")][:1] == ["typo"]
    assert names(index, "사") == ["사과"]  # one syllable: found where it occurs, never guessed at
    assert names(index, "샤") == []


def test_spacing_words_and_categories() -> None:
    index = SearchIndex.from_rows(
        [product(1, "청송 꿀사과 5kg", "과일"), product(2, "배", "과일"), product(3, "호박고구마")], SHOPS
    )
    assert names(index, "호박 고구마") == names(index, "호박고구마") == ["호박고구마"]
    assert names(index, "꿀사과5 kg") == ["청송 꿀사과 5kg"]
    assert names(index, "사과 청송") == ["청송 꿀사과 5kg"]
    assert names(index, "과일 사과") == ["청송 꿀사과 5kg"]
    assert names(index, "과일") == ["배", "청송 꿀사과 5kg"]
    assert {h.match for h in index.rank("과일")} == {"related"}
    assert names(index, unicodedata.normalize("NFD", "호박 고구마")) == ["호박고구마"]


def test_synonyms_both_ways() -> None:
    index = SearchIndex.from_rows(
        [product(1, "한치", "수산"), product(2, "오징어", "수산"), product(3, "햇감자"), product(4, "호박고구마")],
        SHOPS,
        [("오징어", "한치"), ("감자", "햇감자"), ("고구마", "호박고구마")],
    )
    assert names(index, "오징어") == ["오징어", "한치"]
    assert names(index, "한치") == ["한치", "오징어"]
    assert names(index, "감자") == ["햇감자"]
    assert names(index, "한치 1kg") == []  # every word must be found: "1kg" is in no name
    assert names(index, "오징오") == ["오징어", "한치"]
    assert [h.match for h in index.rank("한치")] == ["name", "related"]


def test_hidden_products_and_paging() -> None:
    rows = [product(i, f"사과 {i}호", "과일") for i in range(1, 13)]
    rows += [product(20, "사과 숨김", active=False), product(21, "사과 검증 전", shop=3)]
    index = SearchIndex.from_rows(rows, SHOPS)
    every = names(index, "사과", limit=50)
    assert len(every) == 12 and "사과 숨김" not in every and "사과 검증 전" not in every
    pages = [names(index, "사과", limit=5, offset=o) for o in (0, 5, 10)]
    assert [name for page in pages for name in page] == every
    assert names(index, "사과", offset=12) == []
    bad: list[dict[str, Any]] = [{"limit": 0}, {"limit": 51}, {"offset": -1}, {"offset": 1001}, {"limit": True}]
    for kw in [*bad, {"region": ""}, {"region": "수원\x07"}]:
        with pytest.raises(InvalidInput):
            index.rank("사과", **kw)


# ------------------------------------------------------------------------------------------ properties

syllables = st.integers(0, 11171).map(lambda code: chr(0xAC00 + code))
hangul_names = st.lists(syllables, min_size=1, max_size=6).map("".join)
DISTRACTORS = [product(100 + i, n) for i, n in enumerate(["사과", "고구마", "호박고구마", "한치", "대파 1단", "감자"])]


def with_distractors(name: str) -> SearchIndex:
    return SearchIndex.from_rows([product(1, name, stock=0, shop=FAR), *DISTRACTORS], SHOPS)


@given(hangul_names)
@settings(max_examples=300, deadline=None)
def test_a_name_is_found_by_itself_and_by_its_choseong(name: str) -> None:
    assume(name not in {d.name for d in DISTRACTORS})
    index = with_distractors(name)
    exact = [(h.match, h.score) for h in index.rank(name, limit=50) if h.product_id == 1]
    assert exact == [("name", 100.0)]
    assert 1 in [h.product_id for h in index.rank(hangul.choseong(name), limit=50)]


def one_jamo_changed(draw: st.DrawFn, name: str) -> str:
    """The name with one jamo of one syllable replaced, or a final consonant added or dropped."""
    i = draw(st.integers(0, len(name) - 1))
    initial, rest = divmod(ord(name[i]) - 0xAC00, 21 * 28)
    vowel, final = divmod(rest, 28)
    part = draw(st.sampled_from(["initial", "vowel", "final"]))
    if part == "initial":
        initial = draw(st.integers(0, 18).filter(lambda x: x != initial))
    elif part == "vowel":
        vowel = draw(st.integers(0, 20).filter(lambda x: x != vowel))
    else:
        final = draw(st.integers(0, 27).filter(lambda x: x != final))
    return name[:i] + chr(0xAC00 + (initial * 21 + vowel) * 28 + final) + name[i + 1 :]


@st.composite
def misspelt(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.lists(syllables, min_size=2, max_size=6).map("".join))
    return name, one_jamo_changed(draw, name)


@given(misspelt())
@settings(max_examples=300, deadline=None)
def test_a_name_of_two_or_more_syllables_is_found_with_one_jamo_wrong(case: tuple[str, str]) -> None:
    """The guarantee: any one jamo of a name of two or more syllables replaced (an initial, a vowel or a
    final — adding or dropping a final included) still finds it. (One-syllable names are found by
    their exact syllable or 초성 only: one wrong jamo in two or three leaves too little to go on.)"""
    name, query = case
    assume(name not in {d.name for d in DISTRACTORS})
    hits = with_distractors(name).rank(query, limit=50)
    assert 1 in [h.product_id for h in hits], (name, query)


@given(st.text(max_size=120))
@settings(max_examples=300, deadline=None)
def test_any_text_gives_hits_or_invalid_input(query: str) -> None:
    index = with_distractors("고구마 말랭이")
    try:
        hits = index.rank(query, region=query[:64] if query.strip() else None)
    except InvalidInput:
        return
    assert len(hits) <= 6


# ------------------------------------------------------------------------------------------ updates

RENAMES = ["사과", "꿀사과", "고구마", "호박 고구마", "한치", "대파", "배"]


@given(
    st.lists(
        st.tuples(
            st.integers(1, 8),
            st.sampled_from(RENAMES),
            st.sampled_from(["과일", "채소"]),
            st.integers(0, 3),
            st.booleans(),
            st.integers(-5, 5),
        ),
        max_size=25,
    )
)
@settings(max_examples=300, deadline=None)
def test_updating_in_place_ends_where_a_fresh_build_does(
    changes: list[tuple[int, str, str, int, bool, int]],
) -> None:
    """Renames, moves between categories, stock and visibility changes, clocks going back and forth:
    the incrementally updated index answers exactly like one built from the final rows."""
    rows = {i: ProductRow(i, NEAR, RENAMES[i % len(RENAMES)], "과일", "1kg", 1000, 5, True, 100) for i in range(1, 5)}
    index = SearchIndex.from_rows(rows.values(), SHOPS)
    for pid, name, category, stock, active, tick in changes:
        stamp = rows[pid].updated_ms + tick if pid in rows else 100 + tick
        rows[pid] = ProductRow(pid, NEAR, name, category, "1kg", 1000, stock, active, stamp)
        index.catalog.update([rows[pid]])
    fresh = SearchIndex.from_rows(rows.values(), SHOPS)
    assert index.catalog.measure() == fresh.catalog.measure()
    assert sorted(index.catalog.keys) == sorted(fresh.catalog.keys)
    for query in ["사과", "ㅅㄱ", "고구마", "과일", "채소", "고구모", "한치"]:
        assert index.rank(query, limit=20) == fresh.rank(query, limit=20), query
