"""The message catalogues: English is complete, placeholders agree, amounts read as a person says them."""

from __future__ import annotations

import string

from bots.texts import CATALOGUES, bnm, t, won


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_exists_in_every_language_with_the_same_placeholders() -> None:
    ko, en = CATALOGUES["ko"], CATALOGUES["en"]
    assert ko.keys() == en.keys(), sorted(ko.keys() ^ en.keys())
    for key in ko:
        assert _fields(ko[key]) == _fields(en[key]), key
        assert ko[key].strip() and en[key].strip(), key


def test_amounts_are_formatted_with_integers_only() -> None:
    assert won(12_000) == "12,000원"
    assert won(12_000, "en") == "12,000 won"
    assert won(-500) == "-500원"
    assert bnm(1_250) == "1.250 BNM"
    assert bnm(5) == "0.005 BNM"
    assert bnm(-1_001) == "-1.001 BNM"
    assert bnm(12_345_678) == "12,345.678 BNM"


def test_an_unknown_language_falls_back_to_korean() -> None:
    assert t("fr", "menu.home") == t("ko", "menu.home")


def test_every_abuse_outcome_and_status_has_its_words_and_a_push() -> None:
    from bots.pushes import notice_push
    from commerce.abuse import OUTCOMES
    from scheduler.notices import Notice

    for outcome in OUTCOMES:
        push = notice_push(Notice(7, "abuse.case", {"case": 12, "rule": "copy_paste", "outcome": outcome}))
        assert push is not None and push.text_key == f"push.abuse.{outcome}" and push.payload == "ab:12", outcome
        assert t("ko", f"abuse.outcome.{outcome}")
    for status in ("open", "appealed", "upheld", "released"):
        assert t("ko", f"abuse.status.{status}")
    assert notice_push(Notice(7, "abuse.case", {"case": 12, "outcome": "no_such_outcome"})) is None
    assert notice_push(Notice(7, "abuse.case", {"case": 12})) is None  # data missing: no push, no crash
