"""Every word the chat says, looked up and filled in: Korean first, English complete.

The texts live in the catalogues, ``bots.locales.<lang>.<flow>``. Flows and adapters never hold
literals; they ask ``t(lang, key, **values)``. Amounts are formatted here, once:
``won(12000)`` → "12,000원", and BNM units (1 unit = 0.001 BNM) as "1.250 BNM", with integer
arithmetic only. ``tests/unit/test_texts.py`` checks that both catalogues have the same keys and the
same placeholders.

A Korean particle after a value depends on how the value's last syllable sounds (사과는, 귤은), so a
catalogue never writes "은(는)": it names the particle as the placeholder's format, ``{name:은}`` →
"사과는" / "귤은", and ``!q`` quotes the value first, ``{query!q:으로}`` → "'사과'로". The particles
are 은/는, 이/가, 을/를, 과/와 and 으로/로, written in either form (``particle``).
"""

from __future__ import annotations

import datetime as dt
import string

from bots import locales

# Korean is the default and every other language is complete (tests/unit/test_texts.py).
CATALOGUES: dict[str, dict[str, str]] = {lang: locales.catalogue(lang) for lang in ("ko", "en")}
LANGS = tuple(CATALOGUES)


def t(lang: str, key: str, **values: object) -> str:
    catalogue = CATALOGUES.get(lang, CATALOGUES["ko"])
    template = catalogue.get(key) or CATALOGUES["ko"][key]
    return _FORMATTER.vformat(template, (), values) if values else template


def won(amount: int, lang: str = "ko") -> str:
    return f"{amount:,}원" if lang == "ko" else f"{amount:,} won"


def bnm(units: int) -> str:
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 1000)
    return f"{sign}{whole:,}.{frac:03d} BNM"


def _clock(lang: str, moment: dt.datetime) -> str:
    hour = moment.hour % 12 or 12
    half = t(lang, "time.am" if moment.hour < 12 else "time.pm")
    if moment.minute:
        return t(lang, "time.hour_min", half=half, hour=hour, minute=f"{moment.minute:02d}")
    return t(lang, "time.hour", half=half, hour=hour)


def window(lang: str, start: dt.datetime, end: dt.datetime, today: dt.date) -> str:
    """A delivery window as people say it: "내일 오전 9시~오후 1시", "12월 9일(수) 오후 1시~7시"."""
    days = (start.date() - today).days
    if 0 <= days <= 2:
        day = t(lang, ("time.today", "time.tomorrow", "time.day_after")[days])
    else:
        weekday = t(lang, "time.weekdays").split(",")[start.weekday()]
        day = t(lang, "time.date", month=start.month, day=start.day, weekday=weekday)
    end_text = _clock(lang, end)
    if lang == "ko" and (start.hour < 12) == (end.hour < 12) and end.hour != 0:
        end_text = end_text.split(" ", 1)[1]  # "오후 1시~7시", not "오후 1시~오후 7시"
    return t(lang, "time.range", day=day, start=_clock(lang, start), end=end_text)


def labels(key: str) -> set[str]:
    """A text in every language: how a typed menu label (Telegram's reply keyboard) is recognised."""
    return {catalogue[key] for catalogue in CATALOGUES.values() if key in catalogue}


# ------------------------------------------------------------------------------------ particles

# particle → (after a final consonant, after a vowel); 으로/로 also takes 로 after ㄹ (서울로, 부산으로)
PARTICLES: dict[str, tuple[str, str]] = {
    form: pair for pair in (("은", "는"), ("이", "가"), ("을", "를"), ("과", "와"), ("으로", "로")) for form in pair
}

_JONGSEONG = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # a syllable's final, T = 1…27
# How a number ends when read aloud (Sino-Korean): its last digit (일 이 삼 사 오 육 칠 팔 구) …
_DIGIT_FINAL = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
# … or, after zeros, its unit: 십 백 천 within a group of four digits, then 만 억 조 경 for the groups
_TENS_FINAL = {1: "ㅂ", 2: "ㄱ", 3: "ㄴ"}
_GROUP_FINAL = {1: "ㄴ", 2: "ㄱ", 3: "", 4: "ㅇ"}
# Latin capitals read as letter names (BNM → 비엔엠): only 엘, 엠, 엔 and 알 end in a consonant
_LETTER_FINAL = {"L": "ㄹ", "M": "ㅁ", "N": "ㄴ", "R": "ㄹ"}
_DOUBLED = {"ㄲ": "ㄱ", "ㄸ": "ㄷ", "ㅃ": "ㅂ", "ㅆ": "ㅅ", "ㅉ": "ㅈ"}


def _number_final(digits: str) -> str:
    """How the whole number ``digits`` ends when read: 3 삼, 10 십, 12,000 만, 0 영."""
    groups = []
    while digits:
        digits, group = digits[:-4], digits[-4:]
        groups.append(group)
    for index, group in enumerate(groups):
        value = group.lstrip("0")
        if not value:
            continue
        if index:
            return _GROUP_FINAL.get(index, "")
        zeros = len(value) - len(value.rstrip("0"))
        return _TENS_FINAL[zeros] if zeros else _DIGIT_FINAL[value[-1]]
    return _DIGIT_FINAL["0"]


def final_sound(word: str) -> str:
    """The final consonant ``word`` ends with as spoken ("" for a vowel), as a compatibility jamo.

    Trailing punctuation and quotes are skipped. Hangul syllables by their final jamo; a lone
    consonant (a typed 초성, "ㅅㄱ") by its name (시옷, 기역), which ends in that consonant; digits as
    the number is read; Latin capitals as letter names; other letters and signs (including "%",
    퍼센트) as ending in a vowel.
    """
    end = len(word)
    while end and not (word[end - 1].isalnum() or word[end - 1] == "%"):
        end -= 1
    if not end:
        return ""
    last = word[end - 1]
    code = ord(last)
    if 0xAC00 <= code <= 0xD7A3:
        final = (code - 0xAC00) % 28
        return _JONGSEONG[final - 1] if final else ""
    if 0x3131 <= code <= 0x314E:  # ㄱ … ㅎ: 기역 … 히읗, 쌍기역 …
        return _DOUBLED.get(last, last)
    if last in _DIGIT_FINAL:
        start = end
        while start and (word[start - 1] in _DIGIT_FINAL or word[start - 1] == ","):
            start -= 1
        if start >= 2 and word[start - 1] == "." and word[start - 2] in _DIGIT_FINAL:
            return _DIGIT_FINAL[last]  # after a decimal point digits are read one by one
        return _number_final(word[start:end].replace(",", ""))
    start = end
    while start and word[start - 1].isascii() and word[start - 1].isalpha():
        start -= 1
    if word[start:end].isupper():  # an abbreviation, read letter by letter (BNM, SMS)
        return _LETTER_FINAL.get(last, "")
    return ""


def particle(word: str, which: str) -> str:
    """The form of the particle ``which`` (은 or 는, 이/가, 을/를, 과/와, 으로/로) that follows ``word``."""
    after_consonant, after_vowel = PARTICLES[which]
    final = final_sound(word)
    if after_consonant == "으로":
        return after_vowel if final in ("", "ㄹ") else after_consonant
    return after_consonant if final else after_vowel


class _CatalogueFormatter(string.Formatter):
    """``str.format`` plus the particle formats and ``!q`` (see the module docstring)."""

    def convert_field(self, value: object, conversion: str | None) -> object:
        if conversion == "q":
            return f"'{value}'"
        return super().convert_field(value, conversion)

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec in PARTICLES:
            text = str(value)
            return text + particle(text, format_spec)
        return str(super().format_field(value, format_spec))


_FORMATTER = _CatalogueFormatter()
