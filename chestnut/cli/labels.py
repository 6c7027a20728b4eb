"""``chestnut labels``: printable QR labels pointing at a shop's provenance pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from chestnut.bootstrap import App
from chestnut.cli.command import run_command, settings, with_app


@click.command()
@click.argument("shop", type=click.IntRange(min=1))
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), help="default: labels-shop-<id>.pdf")
@click.option("--base-url", default=None, help="where the pages are served (default: CHESTNUT_PUBLIC_URL)")
def labels(shop: int, out: str | None, base_url: str | None) -> None:
    """A printable sheet of QR labels (one per product of SHOP) pointing at the provenance pages.

    The format follows the file name: .pdf (every page, A4) or .png (the first page).
    """
    from commerce.shops import catalog
    from commerce.shops import labels as label_sheet
    from commerce.shops import service as shops

    target = Path(out or f"labels-shop-{shop}.pdf")
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in label_sheet.FORMATS:
        raise click.BadParameter("the file must end in .pdf or .png", param_hint="--out")
    s = settings()

    async def go(app: App) -> dict[str, Any]:
        async with app.db.snapshot() as snap:
            the_shop = await shops.get(snap, shop)
            products = await catalog.list_products(snap, shop_id=the_shop.id, limit=1000)
        items = [label_sheet.LabelItem(p.id, p.name, p.origin_region) for p in products]
        data = label_sheet.sheet(items, base_url or s.public_url, fmt)
        return {"shop": the_shop.name, "labels": len(items), "data": data}

    result = run_command(with_app(s, go, initialize=False))
    target.write_bytes(result["data"])
    click.echo(f"{result['labels']} labels for {result['shop']} → {target}")
