"""The BNM price chart: Korean labels in a font with Hangul, English on request, and with no trades no line
through the message (pytest turns matplotlib's missing-glyph warnings into failures)."""

from __future__ import annotations

import io
import os

import pytest
from matplotlib.figure import Figure
from PIL import Image

from web import exchange as market_api
from web.exchange import chart_figure, hangul_font

NOW = 1_798_729_200_000
DAY = 86_400_000
WHITE = (255, 255, 255)


def _decoded(fig: Figure) -> Image.Image:
    out = io.BytesIO()
    fig.savefig(out, format="png")
    out.seek(0)
    with Image.open(out) as image:
        assert image.format == "PNG"
        return image.convert("RGB")


def _hangul_font_or_skip() -> str:
    font = hangul_font()
    if font is None:
        message = "no font with Hangul on this machine (`make browser` installs fonts-nanum)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return font


def test_with_no_trades_there_is_no_line_only_the_message_in_the_middle() -> None:
    fig = chart_figure([], 12_000, 7, NOW)
    ax = fig.axes[0]
    assert len(ax.lines) == 0 and ax.get_legend() is None
    (message,) = ax.texts
    assert "12,000" in message.get_text()
    image = _decoded(fig)
    assert image.size == (640, 320)
    renderer = fig.canvas.get_renderer()
    frame, text = ax.get_window_extent(renderer), message.get_window_extent(renderer)
    assert abs((frame.x0 + frame.x1) / 2 - (text.x0 + text.x1) / 2) < 2
    assert abs((frame.y0 + frame.y1) / 2 - (text.y0 + text.y1) / 2) < 2
    # Inside the frame, every pixel that is not white belongs to the message: nothing runs across it.
    stray, inked = [], 0
    for y in range(int(frame.y0) + 3, int(frame.y1) - 2):
        for x in range(int(frame.x0) + 3, int(frame.x1) - 2):
            if image.getpixel((x, image.height - 1 - y)) == WHITE:
                continue
            if text.x0 - 1 <= x <= text.x1 + 1 and text.y0 - 1 <= y <= text.y1 + 1:
                inked += 1
            else:
                stray.append((x, y))
    assert stray == [], f"{len(stray)} pixels outside the message, e.g. {stray[:5]}"
    assert inked > 200  # the message itself was drawn


def test_labels_are_korean_in_a_hangul_font_and_english_on_request() -> None:
    font = _hangul_font_or_skip()
    points = [(NOW - 2 * DAY, 11_800), (NOW - DAY, 12_300), (NOW - DAY // 2, 12_100)]
    fig = chart_figure(points, 12_000, 7, NOW)
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    assert ax.get_title().startswith("밤나무(BNM) 시세") and ax.get_xlabel() == "며칠 전"
    assert [t.get_text() for t in legend.get_texts()] == ["기준가 12,000원"]
    for text in (ax.title, ax.xaxis.label, *legend.get_texts()):
        assert text.get_fontproperties().get_file() == font, text.get_text()
    assert len(ax.lines) == 2  # the trades and the dashed reference
    assert _decoded(fig).size == (640, 320)

    english = chart_figure(points, 12_000, 7, NOW, "en").axes[0]
    assert english.get_title() == "BNM price, last 7 days (KRW per BNM)" and english.get_xlabel() == "days ago"


def test_without_a_hangul_font_the_chart_is_english_not_empty_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(market_api, "hangul_font", lambda: None)
    fig = chart_figure([], 12_000, 7, NOW)
    assert fig.axes[0].get_title().startswith("BNM price") and "no trades yet" in fig.axes[0].texts[0].get_text()
    assert _decoded(fig).size == (640, 320)  # and no missing-glyph warning (an error here)
