"""The cash-out batch (daily): pending cash-outs become one bank transfer file, paid through a payout.

1. ``lines`` — each pending cash-out gets a payout line (reference ``CO-<id>``) in ``payout_lines``, in
   chunks with the cursor; one whose bank account is no longer registered fails at once and the member
   has the BTL back with that reason (``commerce.wallet.cashouts.cashout_failed``).
2. ``file`` — the run's lines are written to ``$CHESTNUT_HOME/payouts/cashout-<period>.csv`` (bank code,
   account, holder, amount, reference), replaced atomically, so a rerun writes the same file.
3. After the run, ``submit`` hands the lines still ``sent`` to the payout (``scheduler.payout``). A bank
   API answers at once; a file-only payout answers nothing and the bank's result file comes back through
   ``chestnut batch reconcile``. Either way each result goes through ``apply_results``: ``paid`` posts the
   hold (the BTL is burned into ``reserve:cash`` only now), ``failed`` voids it with the bank's reason.

Results are checked line by line against our own lines — an unknown reference, a changed amount, a
duplicate in the file, or an outcome contradicting an earlier one is refused on its own line and
changes nothing; a result already applied is answered as such, never applied twice.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from commerce.errors import InvalidState
from commerce.services import Services
from commerce.wallet import cashouts
from commerce.wallet import queries as wallet_queries
from ledger.errors import ChestnutError
from ledger.storage.ops import write_many
from ledger.storage.unit_of_work import Database, UnitOfWork
from scheduler.notices import Announcer, Notice, stage, tell
from scheduler.payout import Payout, PayoutLine, PayoutResult
from scheduler.runs import Advance, Run

KIND = "cashout"
CHUNK = 200
UNREGISTERED = "the bank account is no longer registered"
FILE_COLUMNS = ("bank_code", "account", "holder", "amount", "reference")
RESULT_COLUMNS = ("reference", "amount", "status", "reason")


def reference(cashout_id: int) -> str:
    return f"CO-{cashout_id}"


def payout_file(out_dir: Path, period: str) -> Path:
    return out_dir / f"cashout-{period}.csv"


@dataclass
class CashoutBatch:
    market: Services
    out_dir: Path
    chunk: int = CHUNK
    kind: str = KIND
    first_phase: str = "lines"

    async def step(self, uow: UnitOfWork, run: Run) -> Advance:
        if run.phase == "lines":
            return await self._lines(uow, run)
        return await self._file(uow, run)

    async def _lines(self, uow: UnitOfWork, run: Run) -> Advance:
        rows = await uow.fetch(
            "SELECT c.id, c.member_id, c.amount, b.bank_code, b.account_no, b.holder FROM cashouts c "
            "LEFT JOIN bank_accounts b ON b.id = c.bank_account_id AND b.member_id = c.member_id "
            "LEFT JOIN payout_lines p ON p.cashout_id = c.id "
            "WHERE c.status = 'pending' AND c.id > :cursor AND p.cashout_id IS NULL ORDER BY c.id LIMIT :n",
            {"cursor": run.cursor, "n": self.chunk},
        )
        if not rows:
            return Advance("file", 0)
        lines: list[dict[str, object]] = []
        entries, total, notices = 0, 0, []
        for cid, mid, amount, bank, account, holder in rows:
            if bank is None:
                await cashouts.cashout_failed(self.market, uow, int(cid), UNREGISTERED)
                entries += 1
                notices.append(Notice(int(mid), "cashout.failed", {"cashout": int(cid), "reason": UNREGISTERED}))
                continue
            lines.append(
                {
                    "ref": reference(int(cid)),
                    "run": run.id,
                    "c": int(cid),
                    "bank": str(bank),
                    "acct": str(account),
                    "holder": str(holder),
                    "amount": int(amount),
                }
            )
            total += int(amount)
        if lines:
            await uow.batch(
                [
                    write_many(
                        "INSERT INTO payout_lines (reference, run_id, cashout_id, bank_code, account_no, holder, "
                        "amount, status) VALUES (:ref, :run, :c, :bank, :acct, :holder, :amount, 'sent')",
                        lines,
                    )
                ]
            )
        return Advance(
            "lines",
            int(rows[-1][0]),
            items=len(lines),
            amount=total,
            entries=entries,
            notices=tuple(notices),
        )

    async def _file(self, uow: UnitOfWork, run: Run) -> Advance:
        lines = await run_lines(uow, run.id)
        write_payout_file(payout_file(self.out_dir, run.period), lines)
        return Advance("file", 0, done=True)


async def run_lines(uow: UnitOfWork, run_id: int, *, status: str | None = None) -> list[PayoutLine]:
    rows = await uow.fetch(
        "SELECT reference, cashout_id, bank_code, account_no, holder, amount, status FROM payout_lines "
        "WHERE run_id = :run" + (" AND status = :status" if status else "") + " ORDER BY cashout_id",
        {"run": run_id, **({"status": status} if status else {})},
    )
    return [PayoutLine(str(r), int(c), str(b), str(a), str(h), int(m), str(s)) for r, c, b, a, h, m, s in rows]


def write_payout_file(path: Path, lines: Sequence[PayoutLine]) -> None:
    """The bank transfer file, replaced atomically (mode 0600: it names people and their accounts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FILE_COLUMNS)
    for line in lines:
        writer.writerow((line.bank_code, line.account_no, line.holder, line.amount, line.reference))
    tmp = path.with_suffix(".csv.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(out.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class LineOutcome:
    line: int  # 1-based line number in the result file (0 for an API answer's position)
    reference: str
    outcome: str  # paid | failed | already | refused
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "reference": self.reference, "outcome": self.outcome, "reason": self.reason}


class ResultFileError(ChestnutError):
    code = "bad_result_file"


def parse_result_file(text: str) -> tuple[list[tuple[int, PayoutResult]], list[LineOutcome]]:
    """A bank result file (CSV: reference, amount, status, reason) → results, and lines refused as unreadable."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:3]] != list(RESULT_COLUMNS[:3]):
        raise ResultFileError(f"a result file starts with the header {','.join(RESULT_COLUMNS)}")
    results, refused = [], []
    for n, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        ref = row[0].strip() if row else ""
        if len(row) < 3:
            refused.append(LineOutcome(n, ref, "refused", "expected reference, amount, status[, reason]"))
            continue
        amount_text, status = row[1].strip(), row[2].strip().lower()
        if not amount_text.isdigit() or len(amount_text) > 15:
            refused.append(LineOutcome(n, ref, "refused", f"amount {amount_text!r} is not a whole number of won"))
            continue
        if status not in ("paid", "failed"):
            refused.append(LineOutcome(n, ref, "refused", f"status {status!r} is not paid or failed"))
            continue
        reason = row[3].strip() if len(row) > 3 and row[3].strip() else None
        results.append((n, PayoutResult(ref, int(amount_text), status, reason)))
    return results, refused


async def apply_results(
    market: Services, db: Database, results: Sequence[tuple[int, PayoutResult]], announcer: Announcer | None = None
) -> tuple[list[LineOutcome], list[Notice]]:
    """Settle what the bank confirms, one line per transaction; each refusal names its line and reason.
    Each member's notice goes to ``announcer`` with its line (``notices.stage``), and is returned too."""
    outcomes: list[LineOutcome] = []
    notices: list[Notice] = []
    seen: set[str] = set()
    for n, result in results:
        if result.reference in seen:
            outcomes.append(LineOutcome(n, result.reference, "refused", "duplicate reference in this file"))
            continue
        seen.add(result.reference)
        try:
            async with db.unit_of_work() as uow:
                outcome, notice = await _apply_one(market, uow, n, result)
                left = await stage(announcer, uow, [notice] if notice is not None else [])
                await uow.commit()
        except ChestnutError as exc:
            outcome, notice, left = LineOutcome(n, result.reference, "refused", exc.message), None, ()
        outcomes.append(outcome)
        await tell(announcer, left)
        if notice is not None:
            notices.append(notice)
    return outcomes, notices


async def _apply_one(
    market: Services, uow: UnitOfWork, n: int, result: PayoutResult
) -> tuple[LineOutcome, Notice | None]:
    rows = await uow.fetch(
        f"SELECT cashout_id, amount, status FROM payout_lines WHERE reference = :r{uow.for_update}",
        {"r": result.reference},
    )
    if not rows:
        return LineOutcome(n, result.reference, "refused", "unknown reference"), None
    cashout_id, amount, status = int(rows[0][0]), int(rows[0][1]), str(rows[0][2])
    if result.amount != amount:
        return LineOutcome(n, result.reference, "refused", f"amount {result.amount:,} differs from {amount:,}"), None
    if status != "sent":
        if status == result.status:
            return LineOutcome(n, result.reference, "already", f"already {status}"), None
        return LineOutcome(n, result.reference, "refused", f"already {status}; the bank now says {result.status}"), None
    cashout = await wallet_queries.get_cashout(uow, cashout_id, lock=True)
    if cashout.status != "pending":
        raise InvalidState(f"cash-out {cashout_id} is {cashout.status}", cashout=cashout_id)
    if result.status == "paid":
        await cashouts.cashout_paid(market, uow, cashout_id)
        notice = Notice(cashout.member_id, "cashout.paid", {"cashout": cashout_id, "amount": amount})
    else:
        reason = (result.reason or "the bank refused the transfer")[:200]
        await cashouts.cashout_failed(market, uow, cashout_id, reason)
        notice = Notice(cashout.member_id, "cashout.failed", {"cashout": cashout_id, "reason": reason})
    await uow.execute(
        "UPDATE payout_lines SET status = :s, reason = :why, result_ms = :now WHERE reference = :r",
        {"s": result.status, "why": result.reason, "now": market.clock(), "r": result.reference},
    )
    return LineOutcome(n, result.reference, result.status, result.reason), notice


async def submit(
    market: Services, db: Database, payout: Payout, run: Run, announcer: Announcer | None = None
) -> tuple[list[LineOutcome], list[Notice]]:
    """Hand the run's unsettled lines to the payout (no transaction open meanwhile) and apply its answer."""
    async with db.snapshot() as snap:
        lines = await run_lines(snap, run.id, status="sent")
    if not lines:
        return [], []
    results = await payout.submit(f"{run.kind}-{run.period}", lines)
    return await apply_results(market, db, list(enumerate(results, start=1)), announcer)
