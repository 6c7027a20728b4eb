"""The message catalogues: English is complete, placeholders agree, amounts read as a person says them."""

from __future__ import annotations

import re
import string

import pytest

from bots import locales
from bots.texts import CATALOGUES, bnm, particle, t, won


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_exists_in_every_language_with_the_same_placeholders() -> None:
    ko, en = CATALOGUES["ko"], CATALOGUES["en"]
    assert ko.keys() == en.keys(), sorted(ko.keys() ^ en.keys())
    for key in ko:
        assert _fields(ko[key]) == _fields(en[key]), key
        assert ko[key].strip() and en[key].strip(), key


def test_each_languages_modules_are_the_same_and_hold_the_same_keys() -> None:
    ko, en = locales.modules("ko"), locales.modules("en")
    assert [name.rsplit(".", 1)[1] for name in ko] == [name.rsplit(".", 1)[1] for name in en]
    for (ko_name, ko_texts), (en_name, en_texts) in zip(ko.items(), en.items(), strict=True):
        assert ko_texts.keys() == en_texts.keys(), (ko_name, en_name, sorted(ko_texts.keys() ^ en_texts.keys()))


def test_a_key_in_two_modules_is_refused_naming_the_key_and_both_modules() -> None:
    parts = {
        "bots.locales.ko.shopper": {"cart.open": "🛒 장바구니"},
        "bots.locales.ko.checkout": {"cart.open": "장바구니"},
    }
    with pytest.raises(locales.DuplicateKey) as refused:
        locales.merge(parts)
    assert (refused.value.key, refused.value.first, refused.value.second) == (
        "cart.open",
        "bots.locales.ko.shopper",
        "bots.locales.ko.checkout",
    )
    assert "'cart.open'" in str(refused.value) and "bots.locales.ko.shopper" in str(refused.value)
    assert locales.merge({"a": {"x": "1"}, "b": {"y": "2"}}) == {"x": "1", "y": "2"}
    with pytest.raises(locales.DuplicateKey, match=re.escape("bots.locales.ko.common and a.new.module")):
        locales.merge({**locales.modules("ko"), "a.new.module": {"menu.home": "🏠 홈"}})


def test_amounts_are_formatted_with_integers_only() -> None:
    assert won(12_000) == "12,000원"
    assert won(12_000, "en") == "12,000 won"
    assert won(-500) == "-500원"
    assert bnm(1_250) == "1.250 BNM"
    assert bnm(5) == "0.005 BNM"
    assert bnm(-1_001) == "-1.001 BNM"
    assert bnm(12_345_678) == "12,345.678 BNM"


@pytest.mark.parametrize(
    ("word", "which", "expected"),
    [
        ("사과", "은", "사과는"),
        ("배추", "는", "배추는"),
        ("귤", "는", "귤은"),
        ("감", "가", "감이"),
        ("배", "이", "배가"),
        ("귤", "를", "귤을"),
        ("사과", "을", "사과를"),
        ("밤", "와", "밤과"),
        ("사과", "과", "사과와"),
        ("서울", "으로", "서울로"),  # ㄹ takes 로
        ("부산", "로", "부산으로"),
        ("대구", "으로", "대구로"),
        ("3", "는", "3은"),  # 삼
        ("2", "은", "2는"),  # 이
        ("7", "를", "7을"),  # 칠
        ("7", "으로", "7로"),  # 칠: ㄹ takes 로
        ("6", "으로", "6으로"),  # 육
        ("10", "는", "10은"),  # 십
        ("100", "가", "100이"),  # 백
        ("12,000원", "를", "12,000원을"),
        ("20000", "는", "20000은"),  # 이만
        ("1.5", "이", "1.5가"),  # 일 점 오
        ("010-****-5678", "으로", "010-****-5678로"),  # …팔
        ("1.250 BNM", "를", "1.250 BNM을"),  # 비엔엠
        ("'사과'", "으로", "'사과'로"),  # quotes are not read
        ("'ㅅㄱ'", "로", "'ㅅㄱ'으로"),  # 시옷기역
        ("apple", "은", "apple는"),  # other letters: as ending in a vowel
        ("50%", "을", "50%를"),  # 퍼센트
        ("", "은", "는"),
    ],
)
def test_a_particle_follows_the_sound_of_the_last_syllable(word: str, which: str, expected: str) -> None:
    assert word + particle(word, which) == expected


def test_catalogues_name_the_particle_and_it_agrees_with_the_value() -> None:
    assert t("ko", "search.found", query="사과") == "'사과'로 찾았어요. 골라 주세요."
    assert t("ko", "search.found", query="감") == "'감'으로 찾았어요. 골라 주세요."
    assert t("ko", "producer.add_product.ask_category", name="귤").startswith("'귤'은 어떤")
    assert t("ko", "producer.add_product.ask_category", name="배추").startswith("'배추'는 어떤")
    assert t("ko", "producer.order.accepted", id=3).startswith("주문 #3을 받았어요")
    assert t("ko", "producer.order.accepted", id=2).startswith("주문 #2를 받았어요")
    assert t("en", "search.found", query="apple") == "Found for 'apple'. Please choose."
    both_forms = re.compile(r"\((은|는|이|가|을|를|과|와|으)\)")  # "은(는)", "(으)로": the reader chooses
    assert not [key for key, text in CATALOGUES["ko"].items() if both_forms.search(text)]


def test_a_text_naming_a_button_by_its_emoji_label_names_one_that_exists() -> None:
    for lang, catalogue in CATALOGUES.items():
        texts = set(catalogue.values())
        for key, text in catalogue.items():
            for quoted in re.findall(r"'([^'{}\s][^'{}]*)'", text):
                if not quoted[0].isalnum() and quoted[0] not in string.punctuation:  # "'📱 전화번호 보내기'"
                    assert quoted in texts, (lang, key, quoted)


def test_an_unknown_language_falls_back_to_korean() -> None:
    assert t("fr", "menu.home") == t("ko", "menu.home")


def test_every_abuse_outcome_and_status_has_its_words_and_a_push() -> None:
    from bots.pushes import notice_push
    from commerce.trust.abuse import OUTCOMES
    from scheduler.notices import Notice

    for outcome in OUTCOMES:
        push = notice_push(Notice(7, "abuse.case", {"case": 12, "rule": "copy_paste", "outcome": outcome}))
        assert push is not None and push.text_key == f"push.abuse.{outcome}" and push.payload == "ab:12", outcome
        assert t("ko", f"abuse.outcome.{outcome}")
    for status in ("open", "appealed", "upheld", "released"):
        assert t("ko", f"abuse.status.{status}")
    assert notice_push(Notice(7, "abuse.case", {"case": 12, "outcome": "no_such_outcome"})) is None
    assert notice_push(Notice(7, "abuse.case", {"case": 12})) is None  # data missing: no push, no crash
