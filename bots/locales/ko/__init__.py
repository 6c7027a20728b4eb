"""한국어 — the default catalogue, one module per flow. Short sentences, polite 해요체, amounts as "12,000원".

A particle after a value is named as its format, ``{name:을}`` (``bots.texts`` chooses 을 or 를). Button
labels stay within 14 characters (KakaoTalk's limit) where they are fixed words.
"""
