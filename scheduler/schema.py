"""The scheduler's tables: batch runs (progress kept with the money), dividends, payout lines, the lease.

APScheduler only *triggers* a batch; whether a batch already ran, how far it got and what it paid lives
here, written in the same transaction as the ledger entries of each chunk. So a crash, a restart or a
second trigger resumes from the cursor and never pays twice (``scheduler.runs``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from ledger.schema import metadata

batch_runs = Table(
    "batch_runs",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # settlement | cashout | dividend | housekeeping
    Column("period", String(40), nullable=False),  # 2026-12-02T15 (hourly), 2026-12-02 (daily), dividend-7 …
    Column("status", String(12), nullable=False),  # running | done | failed
    Column("phase", String(24), nullable=False),  # a batch's step (auto_confirm → settle, lines → submit …)
    Column("cursor", BigInteger, nullable=False),  # the last key handled in this phase (order id, holder index)
    Column("items", BigInteger, nullable=False),  # things done: orders settled, holders paid, lines sent
    Column("amount", BigInteger, nullable=False),  # won moved by this run
    Column("entries", BigInteger, nullable=False),  # ledger entries appended by this run
    Column("chunks", BigInteger, nullable=False),
    Column("error", Text, nullable=True),
    Column("started_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("finished_ms", BigInteger, nullable=True),
    UniqueConstraint("kind", "period", name="uq_batch_runs_kind_period"),
)

dividends = Table(
    "dividends",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("amount", BigInteger, nullable=False),  # won declared
    Column("record_size", BigInteger, nullable=False),  # the record point: holdings after entries 0..size-1
    Column("supply", BigInteger, nullable=False),  # BNM units held by members at the record point
    Column("holders", BigInteger, nullable=False),  # members who receive at least 1 won
    Column("digest", String(64), nullable=False),  # SHA-256 of the allocation list (see dividends.py)
    Column("declared_seq", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # declared | paid
    Column("declared_by", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
)

payout_lines = Table(
    "payout_lines",
    metadata,
    Column("reference", String(40), primary_key=True),  # what the bank echoes back: CO-<cashout id>
    Column("run_id", BigInteger, nullable=False),
    Column("cashout_id", BigInteger, nullable=False, unique=True),
    Column("bank_code", String(3), nullable=False),
    Column("account_no", String(20), nullable=False),  # personal data: never on the ledger
    Column("holder", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),  # sent | paid | failed
    Column("reason", String(200), nullable=True),
    Column("result_ms", BigInteger, nullable=True),
    Index("ix_payout_lines_run", "run_id"),
)

scheduler_lease = Table(
    "scheduler_lease",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)

order_reminders = Table(
    "order_reminders",
    metadata,
    Column("order_id", BigInteger, primary_key=True),  # a paid order whose producer was reminded once
    Column("sent_ms", BigInteger, nullable=False),
)
