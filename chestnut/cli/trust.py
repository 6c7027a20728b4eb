"""``chestnut trust``: the abuse rules over the public ledger."""

from __future__ import annotations

import json
from typing import Any

import click

from chestnut.bootstrap import App
from chestnut.cli.command import run_command, settings, with_app


@click.group()
def trust() -> None:
    """Abuse rules over the public ledger."""


@trust.command("scan")
@click.option("--json", "as_json", is_flag=True)
def trust_scan(as_json: bool) -> None:
    """Run every abuse rule over the ledger; open (and record on the ledger) the new cases."""
    from commerce.trust import abuse

    async def go(app: App) -> list[dict[str, Any]]:
        async with app.db.unit_of_work() as uow:
            opened = await abuse.scan(app.services, uow)
            await uow.commit()
        return [
            {
                "case": c.id,
                "member": c.member_id,
                "rule": c.rule,
                "outcome": c.outcome,
                "seq": c.seq,
                "reason": c.reason,
            }
            for c in opened
        ]

    result = run_command(with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps({"opened": result}, ensure_ascii=False))
    else:
        for c in result:
            click.echo(f"case {c['case']}: member {c['member']} {c['rule']} → {c['outcome']} (entry #{c['seq']})")
        click.echo(f"{len(result)} new case(s)")
