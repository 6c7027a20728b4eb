"""Malformed input to every route the server mounts: never a 5xx, never a traceback, JSON errors on JSON routes.

The routes are read from the router ``web.app.make_web_app`` builds (with the Telegram webhook and
the payment gateway configured, so their routes are mounted too): a new route is fuzzed without
touching this file. Each route gets a fixed sweep of junk (empty, not UTF-8, nested 10,000 deep, a lone
surrogate, huge numbers, the wrong content type …) and then hypothesis' bodies, queries and paths,
some of them valid Kakao, Telegram, web chat and gateway bodies with one field replaced.

The routes that check a secret get it (the Kakao header, Telegram's secret token, a correct signature
over the payment webhook's body), so the junk reaches their parsers. Hypothesis runs derandomized and
without an example database: a CI run sends the same requests every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from chestnut.bootstrap import build
from chestnut.settings import Settings
from commerce.wallet.gateway import SIGNATURE_HEADER, sign_body
from tests.support.kakao_standin import skill_payload
from tests.support.pg_standin import SECRET_KEY, WEBHOOK_SECRET, PgStandIn
from tests.support.telegram_standin import BotApiStandIn
from web.app import make_web_app

Runner = asyncio.Runner
KAKAO_SECRET = "kakao-skill-secret-for-the-fuzz-0c1d"  # noqa: S105 - a test value
TELEGRAM_SECRET = "telegram_webhook-secret-for-the-fuzz"  # noqa: S105 - a test value
AUTH = {"X-Chestnut-Skill-Secret": KAKAO_SECRET, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
TRACEBACK = re.compile(rb"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "",
)
QUERY_NAMES = (
    "start",
    "end",
    "seq",
    "size",
    "old",
    "new",
    "levels",
    "since",
    "limit",
    "days",
    "paymentKey",
    "orderId",
    "amount",
    "code",
    "token",
    "q",
    "lang",
)


# ------------------------------------------------------------------------------------ JSON with odd parts


@dataclass(frozen=True)
class Raw:
    """JSON text that ``json.dumps`` would never write: a lone surrogate, NaN, a number past any limit."""

    text: str


ODD = (
    Raw('"\\ud800"'),
    Raw('"a\\udfffb"'),
    Raw('"\\u0000"'),
    Raw("18446744073709551616"),
    Raw("-18446744073709551617"),
    Raw("1" * 5000),
    Raw("1e999"),
    Raw("-1e999"),
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-0"),
    Raw("1.5e-400"),
    Raw("[" * 40 + "]" * 40),
    Raw('"' + "가" * 5000 + '"'),
)


def dumps(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{dumps(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**53, max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(ODD)
)
keys = st.text(max_size=12) | st.sampled_from((Raw('"\\ud800"'), "update_id", "userRequest", "text", "eventType"))
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),  # type: ignore[arg-type]
    max_leaves=12,
)


def telegram_update(update_id: int) -> dict[str, Any]:
    person = {"id": 880_001, "is_bot": False, "first_name": "퍼즈", "language_code": "ko"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 880_001, "type": "private", "first_name": "퍼즈"},
            "from": person,
            "text": "/start",
        },
    }


def templates() -> dict[str, list[Any]]:
    """Valid bodies of the JSON routes we know, to break one field at a time."""
    tg = telegram_update(5000)
    person = tg["message"]["from"]
    return {
        "/chat/api/message": [{"text": "사과", "id": "m1"}, {"payload": "home"}],
        "/kakao/skill": [skill_payload("fuzz-1", "안녕", {"p": "home"}), skill_payload("fuzz-2", "사과")],
        "/telegram/webhook": [
            tg,
            {"update_id": 5001, "callback_query": {"id": "cq", "from": person, "chat_instance": "x", "data": "home"}},
            {**tg, "message": {**tg["message"], "text": None, "contact": {"phone_number": "010", "user_id": 880_001}}},
            {**tg, "message": {**tg["message"], "text": None, "location": {"latitude": 37.5, "longitude": 127.0}}},
            {
                **tg,
                "message": {
                    **tg["message"],
                    "text": None,
                    "photo": [{"file_id": "f", "file_unique_id": "u", "width": 90, "height": 90}],
                },
            },
        ],
        "/payments/webhook": [
            {
                "eventType": "PAYMENT_STATUS_CHANGED",
                "data": {"paymentKey": "tgen_1", "orderId": "topup-aaaaaa", "status": "DONE", "totalAmount": 1000},
            }
        ],
    }


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths_in(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths_in(v, (*prefix, i))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


@st.composite
def broken_template(draw: st.DrawFn, route: str) -> bytes:
    template = draw(st.sampled_from(templates()[route]))
    if "update_id" in template:  # a fresh id, or the core drops the update as a repeat
        template["update_id"] = draw(st.integers(min_value=10_000, max_value=2**31))
    path = draw(st.sampled_from(paths_in(template)[1:]))
    return dumps(replaced(template, path, draw(json_values))).encode("utf-8", "surrogatepass")


def deep(depth: int, opener: str) -> bytes:
    closer = "]" if opener == "[" else "}"
    inner = '"a":' if opener == "{" else ""
    return ((opener + inner) * depth + "1" + closer * depth).encode()


JUNK: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("not JSON", b"hello"),
    ("not UTF-8", b'{"text": "\xff\xfe"}'),
    ("UTF-8 of a surrogate", b'{"text": "\xed\xa0\x80"}'),
    ("a BOM", b'\xef\xbb\xbf{"text": "a"}'),
    ("null", b"null"),
    ("a list", b'["text"]'),
    ("nested 10,000 deep", b"[" * 10_000),
    ("nested 10,000 deep, closed", deep(10_000, "[")),
    ("objects nested 2,000 deep", deep(2_000, "{")),
    ("nested 100,000 deep", b"[" * 100_000),
    ("a lone surrogate as text", b'{"text": "\\ud800"}'),
    ("a lone surrogate as a key", b'{"\\udc00": 1, "text": "a"}'),
    (
        "a lone surrogate as an utterance",
        dumps(replaced(templates()["/kakao/skill"][1], ("userRequest", "utterance"), ODD[0])).encode(),
    ),
    ("a NUL in text", b'{"text": "a\\u0000b"}'),
    ("a huge date", dumps(replaced(telegram_update(5002), ("message", "date"), ODD[3])).encode()),
    ("a huge update id", dumps(replaced(telegram_update(5003), ("update_id",), ODD[3])).encode()),
    ("5,000 digits", b'{"text": ' + b"1" * 5000 + b"}"),
    ("NaN", b'{"text": NaN}'),
    ("1e999", b'{"amount": 1e999}'),
]


# ------------------------------------------------------------------------------------ the server


@dataclass
class Fuzzer:
    client: TestClient[web.Request, web.Application]
    routes: list[tuple[str, str]]  # (method, path pattern) as the router has them
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())

    async def send(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = "application/json"
    ) -> None:
        headers = dict(AUTH)
        if content_type:
            headers["Content-Type"] = content_type
        if body is not None and path.startswith("/payments/webhook"):
            headers[SIGNATURE_HEADER] = sign_body(WEBHOOK_SECRET, body)
        async with self.client.request(method, path, data=body, headers=headers) as response:
            raw = await response.read()
            self.statuses[response.status] += 1
            self.check(method, path, body, response.status, response.content_type, raw)

    def check(self, method: str, path: str, body: bytes | None, status: int, content_type: str, raw: bytes) -> None:
        what = f"{method} {path[:80]} {(body or b'')[:80]!r} → {status}"
        if status >= 500:
            self.problems.append(f"{what}: {raw[:200]!r}")
        if TRACEBACK.search(raw):
            self.problems.append(f"{what}: a traceback in the body")
        if status >= 400 and method != "HEAD":
            if content_type == "application/json":
                try:
                    answer = json.loads(raw)
                except ValueError:
                    self.problems.append(f"{what}: an error that is not JSON: {raw[:100]!r}")
                    return
                if not (isinstance(answer, dict) and isinstance(answer.get("error"), str) and answer.get("message")):
                    self.problems.append(f"{what}: a JSON error without error and message: {answer!r}")
            elif content_type != "text/html" or method == "POST":
                self.problems.append(f"{what}: an error as {content_type!r}, not JSON")


def fill(pattern: str, segment: str) -> str:
    return re.sub(r"\{[^}]+\}", segment, pattern)


def route_list(web_app: web.Application) -> list[tuple[str, str]]:
    found = set()
    for route in web_app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        pattern = info.get("path") or info.get("formatter")
        if pattern:
            found.add((route.method, pattern))
    return sorted(found)


def fuzz_settings(tmp_path: Path, db_url: str, tg: BotApiStandIn, pg: PgStandIn) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        environment="test",
        kakao_skill_secret=SecretStr(KAKAO_SECRET),
        telegram_token=SecretStr(tg.token),
        telegram_base_url=tg.base_url,
        telegram_webhook_url="https://market.example.test/telegram/webhook",
        telegram_webhook_secret=SecretStr(TELEGRAM_SECRET),
        gateway_base_url=pg.base_url,
        gateway_secret_key=SecretStr(SECRET_KEY),
        gateway_webhook_secret=SecretStr(WEBHOOK_SECRET.decode()),
    )


async def quiet(api: BotApiStandIn, quiet_s: float = 0.3, limit_s: float = 10.0) -> None:
    """Until the bot has made no Bot API call for ``quiet_s``: the webhook answers before the update runs."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        count = len(api.calls)
        await asyncio.sleep(quiet_s)
        if len(api.calls) == count:
            return


async def open_server(stack: contextlib.AsyncExitStack, tmp_path: Path, db_url: str) -> Fuzzer:
    tg, pg = BotApiStandIn(), PgStandIn()
    await tg.start()
    stack.push_async_callback(tg.close)
    await pg.start()
    stack.push_async_callback(pg.close)
    app = await build(fuzz_settings(tmp_path, db_url, tg, pg))
    stack.push_async_callback(app.close)
    web_app = make_web_app(app)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(web_app))
    await client.start_server()
    stack.push_async_callback(client.close)
    stack.push_async_callback(quiet, tg)  # first thing on the way out: let queued updates finish
    await tg.wait_for(lambda c: c.method == "setWebhook")  # the bot is up: the webhook route feeds it
    return Fuzzer(client, route_list(web_app))


@contextlib.contextmanager
def serving(tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Fuzzer, Runner]]:
    """The whole server in-process on its own event loop (hypothesis drives it from a plain function).
    Nothing may be logged as an error meanwhile: a Telegram update fails after its webhook answered."""
    caplog.set_level(logging.WARNING)
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        try:
            yield runner.run(open_server(stack, tmp_path, db_url)), runner
        finally:
            runner.run(stack.aclose())
    logged = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]  # this is teardown
    errors = [r for r in logged if r.levelno >= logging.ERROR]
    assert not errors, [
        f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in errors
    ]


@pytest.fixture
def fuzzer(tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Fuzzer, Runner]]:
    """On SQLite: hypothesis' share of the time budget goes to examples, not to a second backend."""
    with serving(tmp_path, sqlite_url, caplog) as served:
        yield served


@pytest.fixture
def fuzzer_on_both(tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Fuzzer, Runner]]:
    """On SQLite and PostgreSQL (which stores no U+0000 and has integer columns that overflow)."""
    with serving(tmp_path, db_url, caplog) as served:
        yield served


FUZZ = settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def report(name: str, fz: Fuzzer) -> None:
    print(f"\n{name}: {fz.sent} requests, statuses {dict(sorted(fz.statuses.items()))}")
    assert not fz.problems, f"{len(fz.problems)} problems, the first ones:\n" + "\n".join(fz.problems[:200])


def test_every_route_takes_the_junk_sweep(fuzzer_on_both: tuple[Fuzzer, Runner]) -> None:
    fz, runner = fuzzer_on_both
    assert ("POST", "/chat/api/message") in fz.routes and ("POST", "/telegram/webhook") in fz.routes
    assert ("POST", "/payments/webhook") in fz.routes and ("POST", "/kakao/skill") in fz.routes
    for method, pattern in fz.routes:
        for segment in ("0", "-1", "18446744073709551616", "%ED%A0%80", "%FF", "..%2F..", "가"):
            runner.run(fz.send(method, fill(pattern, segment)))
        path = fill(pattern, "1")
        if method == "POST":
            for _why, body in JUNK:
                for content_type in ("application/json", "text/plain", None):
                    runner.run(fz.send(method, path, body, content_type))
        else:  # a body where none is read: a few kinds are enough
            for why, body in JUNK:
                if why in ("empty", "not UTF-8", "nested 10,000 deep", "a lone surrogate as text"):
                    runner.run(fz.send(method, path, body))
    report("junk sweep", fz)


def test_hypothesis_bodies_to_every_route(fuzzer: tuple[Fuzzer, Runner]) -> None:
    fz, runner = fuzzer
    known = templates()
    body_routes = sorted({p for m, p in fz.routes if m == "POST"})

    @st.composite
    def bodies(draw: st.DrawFn, path: str) -> bytes:
        kind = draw(st.sampled_from(("json", "template", "deep", "bytes", "text")))
        if kind == "template" and path in known:
            return draw(broken_template(path))
        if kind == "deep":
            return deep(draw(st.integers(min_value=20, max_value=20_000)), draw(st.sampled_from("[{")))
        if kind == "bytes":
            return draw(st.binary(max_size=200))
        if kind == "text":
            return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
        return dumps(draw(json_values)).encode("utf-8", "surrogatepass")

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[str, str, bytes, str]:
        if draw(st.integers(0, 9)):
            method, path = "POST", draw(st.sampled_from(body_routes))
            if not draw(st.integers(0, 19)):
                method = draw(st.sampled_from(METHODS))
        else:
            method, path = draw(st.sampled_from(fz.routes))
        content_type = "application/json" if draw(st.integers(0, 3)) else draw(st.sampled_from(CONTENT_TYPES))
        return method, fill(path, "1"), draw(bodies(path)), content_type

    @FUZZ
    @given(requests())
    def one(request: tuple[str, str, bytes, str]) -> None:
        runner.run(fz.send(*request))

    one()
    report("hypothesis bodies", fz)


def test_hypothesis_queries_and_paths_to_every_route(fuzzer: tuple[Fuzzer, Runner]) -> None:
    fz, runner = fuzzer

    values = (
        st.text(max_size=20).map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe=""))
        | st.integers().map(str)
        | st.sampled_from(("", "%FF", "%ED%A0%80", "1e9", "0x10", "18446744073709551616", "1" * 40, "%00"))
    )

    @settings(FUZZ, max_examples=500)
    @given(
        st.sampled_from(fz.routes),
        values,
        st.dictionaries(st.sampled_from(QUERY_NAMES), values, max_size=4),
    )
    def one(route: tuple[str, str], segment: str, query: dict[str, str]) -> None:
        method, pattern = route
        path = fill(pattern, segment or "x")
        if query:
            path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        runner.run(fz.send(method, path, None, None))

    one()
    report("hypothesis queries and paths", fz)
