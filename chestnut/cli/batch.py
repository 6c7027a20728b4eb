"""``chestnut batch``: the money batches (settlement, cash-out, dividends, …) run, resumed, reported and
reconciled by hand; the scheduler runs the same batches on its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from chestnut.bootstrap import App
from chestnut.cli.command import progress_bar, run_command, settings, with_app


@click.group()
def batch() -> None:
    """Money batches: settlement, cash-out, dividends (each runs once per period, resuming after a crash)."""


def _print_runs(result: dict[str, Any]) -> None:
    for run in result.get("runs", []):
        click.echo(
            f"{run['kind']:>12} {run['period']:<16} {run['status']:<8} {run['phase']:<12} "
            f"items {run['items']:,}  amount {run['amount']:,}원  entries {run['entries']:,}"
            + (f"  error: {run['error']}" if run.get("error") else "")
        )


@batch.command("run")
@click.argument(
    "kind", type=click.Choice(["settlement", "cashout", "dividend", "housekeeping", "contributions", "trust"])
)
@click.option("--period", default=None, help="e.g. 2026-12-02T15 (settlement), 2026-12-02 (cashout), dividend-3")
@click.option("--json", "as_json", is_flag=True)
def batchrun_command(kind: str, period: str | None, as_json: bool) -> None:
    """Run a batch for its period now (the current one by default), or resume it, or report it done."""
    from chestnut.bootstrap import batch_context
    from scheduler.wiring import run_batch

    async def go(app: App) -> dict[str, Any]:
        with progress_bar(not as_json, f"{kind} batch") as update:
            report = await run_batch(
                batch_context(app), kind, period, progress=lambda run: update(run.items, max(run.items, 1))
            )
        return report.to_json()

    result = run_command(with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    _print_runs(result)
    for key in ("file", "housekeeping", "contributions", "trust"):
        if key in result:
            click.echo(f"{key}: {result[key]}")
    for line in result.get("results", []):
        click.echo(f"  {line['reference']}: {line['outcome']}" + (f" ({line['reason']})" if line["reason"] else ""))


@batch.command("status")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1, max=1000))
@click.option("--json", "as_json", is_flag=True)
def batch_status(limit: int, as_json: bool) -> None:
    """The latest batch runs (status, phase, cursor, totals) and dividends still to pay."""
    from scheduler import dividends, runs

    async def go(app: App) -> dict[str, Any]:
        async with app.db.snapshot() as snap:
            recent = await runs.recent_runs(snap, limit=limit)
            unpaid = await dividends.unpaid(snap)
        return {"runs": [r.to_json() for r in recent], "unpaid_dividends": [dividends.summary(d) for d in unpaid]}

    result = run_command(with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    if not result["runs"]:
        click.echo("no batch has run yet")
    _print_runs(result)
    for d in result["unpaid_dividends"]:
        click.echo(f"dividend {d['dividend']}: {d['amount']:,}원 declared, not fully paid yet")


@batch.command("reconcile")
@click.argument("result_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def batch_reconcile(result_file: str, as_json: bool) -> None:
    """Settle what a bank's result file confirms (CSV: reference, amount, status, reason), line by line."""
    from chestnut.bootstrap import batch_context
    from scheduler import cashout_batch as cashout

    async def go(app: App) -> dict[str, Any]:
        try:
            text = Path(result_file).read_text(encoding="utf-8-sig")  # noqa: ASYNC240 - one small file
        except (OSError, UnicodeDecodeError) as exc:
            raise cashout.ResultFileError(f"cannot read {result_file}: {exc}") from None
        results, refused = cashout.parse_result_file(text)
        ctx = batch_context(app)
        outcomes, _notices = await cashout.apply_results(app.services, app.db, results, ctx.announcer)
        lines = sorted([*outcomes, *refused], key=lambda o: o.line)
        return {"lines": [o.to_json() for o in lines]}

    result = run_command(with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for line in result["lines"]:
            reason = f" ({line['reason']})" if line["reason"] else ""
            click.echo(f"line {line['line']}: {line['reference']} {line['outcome']}{reason}")
    if any(line["outcome"] == "refused" for line in result["lines"]):
        sys.exit(1)


@batch.command("declare-dividend")
@click.option("--amount", required=True, type=click.IntRange(min=1), help="won, paid from fees:platform")
@click.option("--operator", "operator_id", required=True, type=int, help="the declaring operator's member id")
@click.option("--record-size", default=None, type=click.IntRange(min=1), help="record point (default: now)")
@click.option("--pay/--no-pay", default=True, show_default=True, help="pay it right away (else the scheduler does)")
@click.option("--json", "as_json", is_flag=True)
def batch_declare_dividend(amount: int, operator_id: int, record_size: int | None, pay: bool, as_json: bool) -> None:
    """Declare a dividend to BNM holders at a record point (a ledger size), and pay it."""
    from chestnut.bootstrap import batch_context
    from scheduler import dividends
    from scheduler.wiring import run_batch

    async def go(app: App) -> dict[str, Any]:
        async with app.db.unit_of_work() as uow:
            dividend = await dividends.declare(app.services, uow, operator_id, amount, record_size=record_size)
            await uow.commit()
        out: dict[str, Any] = {"declared": dividends.summary(dividend)}
        if pay:
            with progress_bar(not as_json, "dividend") as update:
                report = await run_batch(
                    batch_context(app),
                    "dividend",
                    dividend.period,
                    progress=lambda run: update(run.items, dividend.holders),
                )
            out.update(report.to_json())
        return out

    result = run_command(with_app(settings(), go), as_json=as_json)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    d = result["declared"]
    click.echo(
        f"dividend {d['dividend']}: {d['amount']:,}원 to {d['holders']:,} holders of {d['supply']:,} BNM units "
        f"at record point {d['record_size']:,} (entry {d['declared_seq']})"
    )
    _print_runs(result)
