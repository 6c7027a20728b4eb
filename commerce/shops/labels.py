"""QR labels: one label per product pointing at its public provenance page, as a PNG or a printable sheet.

A label is the QR code of ``<public url>/p/<product code>`` with the product's name and the code under
it, so a shopper without a camera app can still type the code. A sheet is A4 at 200 dpi, 3 × 5 labels
a page (PNG: the first page; PDF: every page). QR matrices come from segno (pure Python), drawing from
Pillow; Korean text uses a Nanum or Noto CJK font where the machine has one, else only the code is
printed under the QR (the page itself always shows the name).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from commerce.shops import product_code

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf",
    "/usr/share/fonts/truetype/nanum/NanumSquareRoundB.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
)
DPI = 200
A4 = (1654, 2339)  # pixels at 200 dpi
COLUMNS, ROWS = 3, 5
FORMATS = ("png", "pdf")

FontT = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class LabelItem:
    product_id: int
    name: str
    origin: str


def page_url(base_url: str, product_id: int) -> str:
    return f"{base_url.rstrip('/')}/p/{product_code.encode(product_id)}"


@functools.lru_cache(maxsize=8)
def _font(size: int) -> tuple[FontT, bool]:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size), True
    return ImageFont.load_default(), False


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label_image(item: LabelItem, base_url: str, *, width: int = 520) -> Image.Image:
    """One label: the QR code, the name (and origin) and the printed code."""
    qr = segno.make(page_url(base_url, item.product_id), error="m")
    scale = max(2, (width - 40) // (qr.symbol_size(border=2)[0]))
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=scale, border=2)
    buf.seek(0)
    qr_img = Image.open(buf).convert("RGB")
    big, korean = _font(34)
    small, _ = _font(24)
    height = qr_img.height + 130
    img = Image.new("RGB", (width, height), "white")
    img.paste(qr_img, ((width - qr_img.width) // 2, 6))
    draw = ImageDraw.Draw(img)
    y: int = qr_img.height + 10
    lines: list[tuple[str, FontT]] = []
    if korean:
        lines.append((_fit(item.name, 16), big))
        lines.append((_fit(item.origin, 22), small))
    lines.append(
        (
            f"밤나무 장터 {product_code.encode(item.product_id)}" if korean else product_code.encode(item.product_id),
            small,
        )
    )
    for text, font in lines:
        box = draw.textbbox((0, 0), text, font=font)
        draw.text(((width - (box[2] - box[0])) // 2, y), text, fill="black", font=font)
        y += int(box[3] - box[1]) + 12
    return img


def label_png(item: LabelItem, base_url: str) -> bytes:
    out = io.BytesIO()
    label_image(item, base_url).save(out, format="PNG", optimize=True)
    return out.getvalue()


def sheet(items: Sequence[LabelItem], base_url: str, fmt: str = "pdf") -> bytes:
    """Printable A4 pages of labels: PDF (every page) or PNG (the first page)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    cell_w, cell_h = A4[0] // COLUMNS, A4[1] // ROWS
    pages: list[Image.Image] = []
    per_page = COLUMNS * ROWS
    for start in range(0, max(1, len(items)), per_page):
        page = Image.new("RGB", A4, "white")
        draw = ImageDraw.Draw(page)
        for i, item in enumerate(items[start : start + per_page]):
            label = label_image(item, base_url, width=cell_w - 40)
            label.thumbnail((cell_w - 20, cell_h - 20))
            x, y = (i % COLUMNS) * cell_w, (i // COLUMNS) * cell_h
            page.paste(label, (x + (cell_w - label.width) // 2, y + (cell_h - label.height) // 2))
            draw.rectangle((x + 4, y + 4, x + cell_w - 4, y + cell_h - 4), outline=(200, 200, 200), width=1)
        pages.append(page)
    out = io.BytesIO()
    if fmt == "png":
        pages[0].save(out, format="PNG", optimize=True)
    else:
        pages[0].save(out, format="PDF", resolution=DPI, save_all=True, append_images=pages[1:])
    return out.getvalue()
