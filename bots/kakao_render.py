"""The one renderer from a ``Screen`` to a KakaoTalk SkillResponse 2.0, inside every Kakao limit.

Kakao drops an answer that breaks its limits (an invalid skill response, or nothing at all past
30 KB), and a shopper then sees silence. So every limit of ``shared/reference/kakao.md`` §3 is
enforced here, in one place, whatever the flows put on a screen:

- 1 to 3 outputs: surplus bubbles are merged into their neighbours (text joins text, text goes onto
  the card after it); an empty screen still answers with one short line;
- ``simpleText`` ≤ 1000 chars (longer text is split at line breaks, then merged);
- ``textCard`` (a bubble with a title or buttons): title ≤ 50, title + description ≤ 400 — a longer
  text goes first as a ``simpleText`` and the card keeps its last lines, right above its buttons;
- ``basicCard`` (a bubble with an image): title ≤ 50, description ≤ 230, the same way;
- ≤ 3 buttons per card: dial and web buttons stay on the card (a quick reply cannot carry them), tap
  buttons fill the rest, the surplus becomes quick replies;
- button and quick-reply labels ≤ 14 chars: the leading emoji goes first, then the end (with "…");
- ≤ 10 quick replies: the card surplus first, then the screen's menu — 처음으로 and 도움말 are always
  there (added when a screen has no menu, kept whatever else has to go);
- the whole answer ≤ 30 KB of UTF-8 (images are dropped, then text is cut, before that could happen).

Lengths are counted in UTF-16 code units (how KakaoTalk's clients count; an emoji counts 2), which is
never less than the number of characters, so a count that fits here fits Kakao's.

Tap buttons become ``action: "message"`` with ``messageText`` = the label (what the shopper sees echoed
as their own words) and ``extra`` = ``{"p": payload}``, which Kakao sends back in the next request's
``action.clientExtra``. Telegram's share-contact button has no Kakao counterpart: the flow's text already
asks for the number to be typed, so the button is left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bots.messages import Button, Reply, Screen
from bots.texts import t

MAX_OUTPUTS = 3
MAX_SIMPLE_TEXT = 1000
MAX_CARD_TITLE = 50
MAX_TEXT_CARD = 400  # title + description
MAX_BASIC_DESCRIPTION = 230
MAX_CARD_BUTTONS = 3
MAX_LABEL = 14
MAX_QUICK_REPLIES = 10
MAX_RESPONSE_BYTES = 30_000  # "30 KB": counted as 30,000 bytes to stay on the safe side of either reading
KEEP_PAYLOADS = ("home", "help")  # 처음으로 and 도움말: never dropped from the quick replies
ELLIPSIS = "…"


def klen(text: str) -> int:
    """Length as KakaoTalk counts it: UTF-16 code units (≥ the number of characters)."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` units, ending in "…" when something had to go."""
    if klen(text) <= limit:
        return text
    out, used = [], klen(ELLIPSIS)
    for ch in text:
        used += klen(ch)
        if used > limit:
            break
        out.append(ch)
    return "".join(out).rstrip() + ELLIPSIS


def short_label(label: str) -> str:
    """A button label within 14 units: drop a leading emoji first, then cut the end."""
    label = " ".join(label.split())
    if klen(label) <= MAX_LABEL:
        return label or "·"
    first, _, rest = label.partition(" ")
    if rest and not any(ch.isalnum() for ch in first):
        label = rest
    return cut(label, MAX_LABEL) or "·"


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` units, broken at line ends where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while klen(line) > limit:  # one line longer than a whole piece: break it hard
            head = _prefix(line, limit)
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if current and klen(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def _prefix(text: str, limit: int) -> str:
    """The longest start of ``text`` within ``limit`` units (at least one character)."""
    used = 0
    for i, ch in enumerate(text):
        used += klen(ch)
        if used > limit:
            return text[: max(i, 1)]
    return text


# ---------------------------------------------------------------------------------------- widgets


def _quick_reply(button: Button) -> dict[str, Any]:
    assert button.payload is not None
    label = short_label(button.label)
    return {"label": label, "action": "message", "messageText": label, "extra": {"p": button.payload}}


def _card_button(button: Button) -> dict[str, Any] | None:
    label = short_label(button.label)
    if button.payload is not None:
        return {"label": label, "action": "message", "messageText": label, "extra": {"p": button.payload}}
    if button.phone is not None:
        return {"label": label, "action": "phone", "phoneNumber": button.phone}
    if button.url is not None:
        return {"label": label, "action": "webLink", "webLinkUrl": button.url}
    return None  # share_contact / share_location: Kakao has no such button; the text asks for typing


@dataclass
class _Bubble:
    """One output being built: plain text, or a card (title, image, buttons)."""

    text: str
    title: str | None = None
    image_url: str | None = None
    buttons: list[Button] = field(default_factory=list)

    @property
    def is_card(self) -> bool:
        return bool(self.title or self.image_url or self.buttons)

    @property
    def room(self) -> int:
        """How many units of description this bubble can hold."""
        if not self.is_card:
            return MAX_SIMPLE_TEXT
        if self.image_url:
            return MAX_BASIC_DESCRIPTION
        return MAX_TEXT_CARD - klen(self.title or "")

    def component(self, lang: str) -> dict[str, Any]:
        if not self.is_card:
            return {"simpleText": {"text": self.text or t(lang, "kakao.empty_reply")}}
        card: dict[str, Any] = {}
        if self.title:
            card["title"] = self.title
        if self.text or not self.title:
            card["description"] = self.text or t(lang, "kakao.choose_below")
        rendered = [c for c in (_card_button(b) for b in self.buttons) if c is not None]
        if rendered:
            card["buttons"] = rendered
        if self.image_url:
            card["thumbnail"] = {"imageUrl": self.image_url}
            return {"basicCard": card}
        return {"textCard": card}


def _bubbles(reply: Reply, surplus: list[Button]) -> list[_Bubble]:
    """A reply as one card or text bubble, with a text bubble before it when its text is too long."""
    title = cut(" ".join(reply.title.split()), MAX_CARD_TITLE) if reply.title else None
    buttons = [b for b in reply.all_buttons if not (b.share_contact or b.share_location)]
    fixed = [i for i, b in enumerate(buttons) if b.payload is None]  # dial / web: only a card carries them
    taps = [i for i, b in enumerate(buttons) if b.payload is not None]
    on_card = set(fixed[:MAX_CARD_BUTTONS])
    on_card.update(taps[: MAX_CARD_BUTTONS - len(on_card)])
    surplus.extend(buttons[i] for i in taps if i not in on_card)  # dial/web buttons past three are left out
    card = _Bubble(reply.text.strip(), title, reply.image_url, [b for i, b in enumerate(buttons) if i in on_card])
    if klen(card.text) <= card.room:
        return [card]
    # Too long for the card: the head goes first as plain text, the card keeps the tail.
    if card.title:
        head_text = f"{card.title}\n{card.text}"
        card.title = None
    else:
        head_text = card.text
    pieces = split_text(head_text, MAX_SIMPLE_TEXT)
    tail = pieces.pop()
    if klen(tail) > card.room:
        tail_pieces = split_text(tail, card.room)
        card.text = tail_pieces.pop()
        pieces.append("\n".join(tail_pieces))
    else:
        card.text = tail
    if not card.is_card:  # nothing but text left: keep the pieces as text
        pieces.append(card.text)
        return [_Bubble(p) for p in pieces if p]
    return [*(_Bubble(p) for p in pieces if p), card]


def _merge(bubbles: list[_Bubble], surplus: list[Button]) -> list[_Bubble]:
    """At most three bubbles: join neighbours that fit together, then fold cards into text if needed."""
    while len(bubbles) > MAX_OUTPUTS:
        for i in range(len(bubbles) - 1):
            a, b = bubbles[i], bubbles[i + 1]
            if a.is_card:
                continue
            joined = f"{a.text}\n\n{b.text}" if a.text and b.text else a.text or b.text
            if klen(joined) <= b.room:
                b.text = joined
                del bubbles[i]
                break
        else:
            break
    if len(bubbles) <= MAX_OUTPUTS:
        return bubbles
    # Nothing fits together any more (very long screens): keep the last two as they are and fold all
    # the earlier ones into one text, cut to fit; their tap buttons move to the quick replies.
    head, keep = bubbles[: -MAX_OUTPUTS + 1], bubbles[-MAX_OUTPUTS + 1 :]
    surplus[:0] = [btn for b in head for btn in b.buttons if btn.payload is not None]
    text = "\n\n".join(part for b in head for part in (b.title, b.text) if part)
    return [_Bubble(cut(text, MAX_SIMPLE_TEXT)), *keep]


def _quick_replies(
    surplus: list[Button], menu: tuple[Button, ...], on_cards: set[str], lang: str
) -> list[dict[str, Any]]:
    """Card surplus then the menu, one per payload, at most ten, always keeping 처음으로 and 도움말."""
    chosen: list[Button] = []
    seen = set(on_cards) - set(KEEP_PAYLOADS)
    always = [Button(t(lang, key), payload=p) for key, p in (("menu.home", "home"), ("menu.help", "help"))]
    for b in [*surplus, *(m for m in menu if m.payload is not None), *always]:
        if b.payload is not None and b.payload not in seen:
            seen.add(b.payload)
            chosen.append(b)
    # 처음으로 and 도움말 are always there, even when the flow left them out of the menu or put them
    # on a card; past ten, the choices before them give way.
    kept = [b for b in chosen if b.payload in KEEP_PAYLOADS]
    others = [b for b in chosen if b.payload not in KEEP_PAYLOADS]
    others = others[: MAX_QUICK_REPLIES - len(kept)]
    ordered = [b for b in chosen if b in kept or b in others]
    return [_quick_reply(b) for b in ordered]


def response_size(response: dict[str, Any]) -> int:
    return len(json.dumps(response, ensure_ascii=False, separators=(",", ":")).encode())


def render(screen: Screen) -> dict[str, Any]:
    """``screen`` as a SkillResponse 2.0 that Kakao accepts."""
    surplus: list[Button] = []
    bubbles = [b for reply in screen.replies for b in _bubbles(reply, surplus) if b.text or b.is_card]
    bubbles = _merge(bubbles, surplus) or [_Bubble("")]
    on_cards = {btn.payload for b in bubbles for btn in b.buttons if btn.payload is not None}
    quick = _quick_replies(surplus, screen.menu, on_cards, screen.lang)
    response = _response([b.component(screen.lang) for b in bubbles], quick)
    if response_size(response) <= MAX_RESPONSE_BYTES:
        return response
    # Only a huge image URL or pathological text gets here: drop the images, then keep one short text.
    for b in bubbles:
        b.image_url = None
        b.text = cut(b.text, b.room)
    response = _response([b.component(screen.lang) for b in bubbles], quick)
    if response_size(response) <= MAX_RESPONSE_BYTES:
        return response
    text = "\n\n".join(b.text for b in bubbles)
    return _response([_Bubble(cut(text, 500)).component(screen.lang)], quick[:MAX_QUICK_REPLIES])


def _response(outputs: list[dict[str, Any]], quick: list[dict[str, Any]]) -> dict[str, Any]:
    template: dict[str, Any] = {"outputs": outputs}
    if quick:
        template["quickReplies"] = quick
    return {"version": "2.0", "template": template}


def text_response(text: str, menu: tuple[Button, ...] = (), lang: str = "ko") -> dict[str, Any]:
    """One kind line (and the menu) — for answers the adapter gives on its own (errors, slow turns)."""
    return render(Screen((Reply(text),), menu, lang=lang))
