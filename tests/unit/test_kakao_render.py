"""The Kakao renderer against Kakao's limits, checked by a validator written from kakao.md alone.

Two sources of screens: every screen the real dialogue produces when a Kakao user taps through it
(a crawl from home over every tap-back button), and random screens far past every limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.dialogue import FloodGate
from bots.kakao_render import render
from bots.messages import Button, Reply, Screen
from chestnut.bootstrap import App, build
from chestnut.settings import Settings
from tests.support.chat import ChatUser
from tests.support.kakao_standin import check_skill_response, taps, units
from tests.support.market import cast


def ok(screen: Screen) -> dict[str, object]:
    resp = render(screen)
    problems = check_skill_response(resp)
    assert not problems, problems
    return resp


def payloads(resp: dict[str, object]) -> list[str]:
    return [b["extra"]["p"] for b in taps(resp)]  # type: ignore[arg-type]


HOME = Button("🏠 처음으로", payload="home")
HELP = Button("❓ 도움말", payload="help")


# ----------------------------------------------------------------------------------- real screens


@pytest.fixture
async def kakao_app(tmp_path: Path, sqlite_url: str) -> AsyncIterator[App]:
    app = await build(Settings(home=tmp_path / "home", database_url=sqlite_url, environment="test"))
    try:
        await cast(app)
        yield app
    finally:
        await app.close()


async def test_every_screen_a_kakao_user_can_reach_renders_within_the_limits(kakao_app: App) -> None:
    """Breadth-first over every tap-back button from home (up to 120 screens): each one renders within
    every limit, and every tap button of the screen stays reachable (on a card or as a quick reply)."""
    kakao_app.dialogue.flood = FloodGate(10_000, 1.0)  # a crawler taps faster than any person
    user = ChatUser(kakao_app.dialogue, "kakao", "s1", "이할머니")
    seen: set[str] = set()
    frontier = ["home", "help", "more", "mk", "re", "orders", "w"]
    rendered = 0
    while frontier and rendered < 120:
        payload = frontier.pop(0)
        if payload in seen:
            continue
        seen.add(payload)
        await user.send(payload=payload)
        screen = user.last
        assert screen is not None
        resp = ok(screen)
        rendered += 1
        shown = set(payloads(resp))
        wanted = {b.payload for b in user.buttons() if b.payload}
        if len(wanted) <= 10 + 3 * len(resp["template"]["outputs"]):  # type: ignore[index]
            assert wanted <= shown, f"{payload}: buttons lost {wanted - shown}"
        assert {"home", "help"} <= shown, f"{payload}: 처음으로/도움말 missing"
        frontier += [p for p in sorted(shown) if p not in seen]
    # free text, a stale button, a language switch: the other ways in
    for send in (
        {"text": "사과"},
        {"text": "ㅅㄱ"},
        {"text": "아무말"},
        {"payload": "nosuchverb:1"},
        {"payload": "lang:en"},
    ):
        await user.send(**send)  # type: ignore[arg-type]
        assert user.last is not None
        ok(user.last)
        rendered += 1
    assert rendered >= 10


# ----------------------------------------------------------------------------------- the rules


def test_tap_buttons_carry_their_payload_and_label_as_kakao_sends_them_back() -> None:
    resp = ok(Screen((Reply("고르세요", buttons=((Button("사과 1kg", payload="p:1"),),)),), (HOME, HELP)))
    card = resp["template"]["outputs"][0]["textCard"]  # type: ignore[index]
    assert card["buttons"] == [
        {"label": "사과 1kg", "action": "message", "messageText": "사과 1kg", "extra": {"p": "p:1"}}
    ]
    assert [q["extra"]["p"] for q in resp["template"]["quickReplies"]] == ["home", "help"]  # type: ignore[index]


def test_phone_and_web_buttons_stay_on_the_card_and_share_contact_is_left_out() -> None:
    reply = Reply(
        "전화번호를 숫자로 적어 주세요.",
        buttons=(
            (Button("📱 번호 보내기", share_contact=True),),
            (Button("☎️ 전화하기", phone="031-000-0000"), Button("충전 페이지", url="https://pay.example/t")),
            (Button("a", payload="a"), Button("b", payload="b"), Button("c", payload="c")),
        ),
    )
    resp = ok(Screen((reply,), (HOME, HELP)))
    buttons = resp["template"]["outputs"][0]["textCard"]["buttons"]  # type: ignore[index]
    assert [b["action"] for b in buttons] == ["phone", "webLink", "message"]
    assert buttons[0]["phoneNumber"] == "031-000-0000"
    assert payloads(resp) == ["a", "b", "c", "home", "help"]
    assert "번호 보내기" not in str(resp)


def test_long_labels_lose_the_emoji_first_then_the_end() -> None:
    resp = ok(
        Screen(
            (
                Reply(
                    "x",
                    buttons=(
                        (
                            Button("🔁 지난번과 똑같이 다시 주문하기", payload="re"),
                            Button("🧑‍💼 운영 관리실 가기", payload="op"),
                        ),
                    ),
                ),
            )
        )
    )
    labels = [b["label"] for b in resp["template"]["outputs"][0]["textCard"]["buttons"]]  # type: ignore[index]
    assert labels[1] == "운영 관리실 가기"
    assert labels[0].startswith("지난번과") and labels[0].endswith("…") and units(labels[0]) <= 14


def test_quick_replies_stop_at_ten_and_always_keep_home_and_help() -> None:
    many = tuple(Button(f"가게 {i}", payload=f"s:{i}") for i in range(20))
    resp = ok(Screen((Reply("가게를 골라 주세요", buttons=tuple((b,) for b in many)),), (HOME, HELP)))
    quick = payloads(resp)[3:]
    assert len(quick) == 10 and quick[-2:] == ["home", "help"]
    assert payloads(resp)[:3] == ["s:0", "s:1", "s:2"]


def test_a_long_text_card_keeps_all_its_words_and_its_buttons_come_last() -> None:
    text = "\n".join(f"{i}번째 줄: 김씨네 과수원 사과 1kg 6,000원, 청송에서 어제 땄어요." for i in range(40))
    resp = ok(
        Screen((Reply(text, title="주문 확인", buttons=((Button("결제하기", payload="pay:1"),),)),), (HOME, HELP))
    )
    outputs = resp["template"]["outputs"]  # type: ignore[index]
    assert "textCard" in outputs[-1] and outputs[-1]["textCard"]["buttons"][0]["extra"] == {"p": "pay:1"}
    joined = "\n".join(next(iter(o.values())).get("text") or next(iter(o.values())).get("description") for o in outputs)
    for i in range(40):
        assert f"{i}번째 줄" in joined


def test_many_bubbles_merge_into_three_outputs() -> None:
    resp = ok(Screen(tuple(Reply(f"소식 {i}") for i in range(9)), (HOME, HELP)))
    outputs = resp["template"]["outputs"]  # type: ignore[index]
    joined = "\n".join(o["simpleText"]["text"] for o in outputs)
    assert len(outputs) == 3 and [f"소식 {i}" for i in range(9)] == [p for p in joined.split("\n") if p]


def test_an_image_becomes_a_basic_card_and_an_empty_screen_still_says_something() -> None:
    resp = ok(Screen((Reply("청송 사과", title="사과 1kg", image_url="https://img.example/a.jpg"),)))
    card = resp["template"]["outputs"][0]["basicCard"]  # type: ignore[index]
    assert card["thumbnail"]["imageUrl"] == "https://img.example/a.jpg" and card["title"] == "사과 1kg"
    ok(Screen(()))


# ----------------------------------------------------------------------------------- random screens

label = st.text(min_size=1, max_size=30)
button = st.one_of(
    st.builds(lambda lbl, p: Button(lbl, payload=p), label, st.text("abc:0123456789", min_size=1, max_size=64)),
    st.builds(lambda lbl: Button(lbl, phone="010-1234-5678"), label),
    st.builds(lambda lbl: Button(lbl, url="https://example.com/x"), label),
    st.builds(lambda lbl: Button(lbl, share_contact=True), label),
)
reply = st.builds(
    Reply,
    text=st.text(max_size=1500) | st.just("가" * 1200) | st.just("🍎\n" * 700),
    title=st.none() | st.text(max_size=80),
    image_url=st.none() | st.just("https://img.example/" + "x" * 100),
    buttons=st.lists(st.lists(button, max_size=4).map(tuple), max_size=4).map(tuple),
)
screen = st.builds(
    Screen,
    replies=st.lists(reply, max_size=8).map(tuple),
    menu=st.lists(button, max_size=6).map(lambda m: (HOME, *m, HELP)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(screen)
def test_any_screen_at_all_renders_within_every_limit(s: Screen) -> None:
    resp = ok(s)
    assert {"home", "help"} <= set(payloads(resp))
