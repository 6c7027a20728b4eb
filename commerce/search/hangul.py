"""Hangul taken apart, and text made comparable: what both a query and a product name become before
they are matched.

Hangul is taken apart by the arithmetic of the Unicode Standard (§3.12, Conjoining Jamo Behavior): a
precomposed syllable is ``0xAC00 + (L × 21 + V) × 28 + T`` with 19 initial consonants L, 21 vowels V and
27 final consonants T (or none). Each jamo is written as the compatibility letter people type (ㄱ, ㅘ,
ㄺ …), one symbol per jamo, so "ㅅㄱ" lines up with 사과 and "사곽" is one symbol away from it.
"""

from __future__ import annotations

import functools
import re
import unicodedata

CHOSEONG = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNGSEONG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONGSEONG = "ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"  # T = 1…27; T = 0 is "no final"
_SYLLABLE_BASE, _SYLLABLES, _PER_INITIAL = 0xAC00, 11172, 21 * 28

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


def normalize(text: str) -> str:
    """What both sides of a match are compared as: NFC, case-folded, letters and digits only.

    Spaces and punctuation go ('호박 고구마!' → '호박고구마'); NFD input recomposes, and stray conjoining
    jamo become the compatibility letters a keyboard types.
    """
    return _NOT_ALNUM.sub("", unicodedata.normalize("NFC", text).casefold().translate(_CONJOINING))


def initials_pattern(text: str) -> re.Pattern[str]:
    """What a stretch of name must be to match ``text`` syllable by syllable: a consonant any syllable
    it begins (or the letter itself), anything else only itself ("ㅅㄱ", "사ㄱ" → 사과)."""
    parts = []
    for ch in text:
        i = CHOSEONG.find(ch)
        if i < 0:
            parts.append(re.escape(ch))
        else:
            first = _SYLLABLE_BASE + i * _PER_INITIAL
            parts.append(f"[{chr(first)}-{chr(first + _PER_INITIAL - 1)}{ch}]")
    return re.compile("".join(parts))
