"""Dispatch: a campaign's messages, exactly once per member, resumable after a crash.

The recipients are chosen once, when the campaign starts (``fill``): one ``ad_recipients`` row per member
with a random open token. ``run`` then walks the pending rows in member order, a chunk at a time:

1. *claim* (one transaction): the campaign must be running; each member's consent is decided by
   ``ads.consent.decide`` for the channel it will go to (quiet hours included); the shop's per-member
   limit (ads in 7 days) is applied; the chosen rows become ``sending``, the others ``refused`` /
   ``capped`` / ``unreachable`` — or stay ``pending`` when only the night stops them (sent in the morning);
2. *re-check*: just before sending, consent is read again, so an opt-out during dispatch stops the next
   message;
3. *send* through the ``Outbox`` (the chat layer: Telegram paced per chat and overall, Kakao in batches of
   ≤ 100, web into the member's inbox);
4. *record* (one transaction): ``sent`` / ``blocked`` / ``unreachable`` with the time.

A crash between 1 and 4 leaves rows ``sending``. What became of them is read back from the campaign's
*journal* (``Journal``: an append-only file the dispatching process writes with ``write(2)`` just before
each message's request — ``a <member>`` — and after its answer — ``d <member> <outcome>``; a SIGKILL does
not lose what was written, the kernel holds it). On the next ``run``:

- answered (``d``) → the recorded outcome (``sent`` / ``blocked`` / ``unreachable``);
- never attempted (no line) → ``pending`` again, and sent now — nobody is skipped;
- attempted but unanswered (``a`` only): the request was on the wire when the process died, and no
  messenger API can say whether it arrived (the Bot API has no idempotency key, nor a way to read a chat)
  → ``unknown``, never sent again: nobody is messaged twice. At most the requests in flight at that moment
  (a handful; Kakao: one batch) end up so, and the producer's report counts them.

Without a journal (another host took over, or none configured) every ``sending`` row becomes ``unknown``.
Claiming the next chunk and sending the current one overlap, so the pacing never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ads import consent
from ads.campaigns import Campaign
from ads.campaigns import get as get_campaign
from ads.config import rules_of
from commerce.services import Services
from ledger.storage.ops import in_clause, write_many
from ledger.storage.unit_of_work import Database, UnitOfWork

WEEK_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True)
class Item:
    """One message to send: who, where, and the token its open button carries."""

    member_id: int
    channel: str
    external_id: str
    token: str
    lang: str


class SendLog(Protocol):
    """Where the outbox says what it put on the wire (``Journal``)."""

    def attempt(self, member_ids: Sequence[int]) -> None: ...

    def answered(self, outcomes: dict[int, str]) -> None: ...


class NoLog:
    def attempt(self, member_ids: Sequence[int]) -> None:
        return None

    def answered(self, outcomes: dict[int, str]) -> None:
        return None


class Outbox(Protocol):
    """The chat layer's side of dispatch (``bots.ad_outbox.AdOutbox``)."""

    async def targets(self, uow: UnitOfWork, member_ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        """(channel, external id, language) each member would be reached on; absent: nowhere."""
        ...

    async def send(self, db: Database, campaign: Campaign, items: Sequence[Item], log: SendLog) -> dict[int, str]:
        """Send and return each member's outcome: ok | blocked | unreachable.

        ``log.attempt(members)`` just before the request that carries their message starts, and
        ``log.answered(outcomes)`` as soon as its answer is in."""
        ...

    async def record(self, uow: UnitOfWork, items: Sequence[Item], outcomes: dict[int, str], now_ms: int) -> None:
        """Remember identities that were blocked or unreachable."""
        ...


@dataclass
class DispatchReport:
    campaign_id: int
    status: str = "done"  # done | paused | ended | quiet_hours (some wait for the morning)
    sent: int = 0
    blocked: int = 0
    unreachable: int = 0
    refused: int = 0
    capped: int = 0
    deferred: int = 0
    recovered: int = 0  # rows found 'sending' after a crash, in flight then: now 'unknown'
    resumed: int = 0  # rows found 'sending' after a crash that had not been attempted: pending again
    settled: int = 0  # rows found 'sending' after a crash whose answer the journal had
    outcomes: dict[str, int] = field(default_factory=dict)


async def fill(market: Services, uow: UnitOfWork, campaign: Campaign) -> int:
    """Choose the recipients once: consenting members of the audience, each with a random open token."""
    if campaign.filled:
        rows = await uow.fetch("SELECT COUNT(*) FROM ad_recipients WHERE campaign_id = :c", {"c": campaign.id})
        return int(rows[0][0])
    aud = campaign.audience
    ids = await consent.candidates(uow, categories=aud.categories, regions=aud.regions, now_ms=market.clock())
    ids = [i for i in ids if i != campaign.producer_id]
    if ids and (aud.markets or aud.past_buyers):
        where, params = [], {}
        if aud.past_buyers:
            where.append("o.shop_id = :shop")
            params["shop"] = campaign.shop_id
        if aud.markets:
            clause, mp = in_clause("mk", list(aud.markets))
            where.append(f"s.market IN {clause}")
            params.update(mp)
        rows = await uow.fetch(
            "SELECT DISTINCT o.buyer_id FROM orders o JOIN shops s ON s.id = o.shop_id "
            f"WHERE o.paid_seq IS NOT NULL AND ({' OR '.join(where)})",
            params,
        )
        buyers = {int(r[0]) for r in rows}
        ids = [i for i in ids if i in buyers]
    await uow.batch(
        [
            write_many(
                "INSERT INTO ad_recipients (campaign_id, member_id, status, token, paid) "
                "VALUES (:c, :m, 'pending', :t, 0)",
                [{"c": campaign.id, "m": m, "t": secrets.token_urlsafe(16)} for m in ids],
            )
        ]
        if ids
        else []
    )
    return len(ids)


_STATUS = {"ok": "sent", "blocked": "blocked", "unreachable": "unreachable", "refused": "refused"}


class Journal:
    """What left this process for one campaign: ``a <member>`` before the request, ``d <member> <outcome>
    <ms>`` after. ``os.write`` on an ``O_APPEND`` file: microseconds, and it survives a SIGKILL."""

    def __init__(self, path: Path, clock: Callable[[], int]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.clock = path, clock
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def attempt(self, member_ids: Sequence[int]) -> None:
        if member_ids:
            os.write(self._fd, b"".join(b"a %d\n" % m for m in member_ids))

    def answered(self, outcomes: dict[int, str]) -> None:
        if outcomes:
            now = self.clock()
            os.write(self._fd, b"".join(b"d %d %s %d\n" % (m, o.encode(), now) for m, o in outcomes.items()))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    @staticmethod
    def read(path: Path) -> tuple[bool, set[int], dict[int, tuple[str, int]]]:
        """Whether there is a journal, the members attempted, and the answers (outcome, ms) recorded;
        a torn last line is ignored."""
        attempted: set[int] = set()
        answered: dict[int, tuple[str, int]] = {}
        try:
            lines = path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return False, attempted, answered
        for line in lines:
            parts = line.split()
            with contextlib.suppress(ValueError, IndexError):
                if parts[0] == b"a" and len(parts) == 2:
                    attempted.add(int(parts[1]))
                elif parts[0] == b"d" and len(parts) == 4 and parts[2].decode() in _STATUS:
                    answered[int(parts[1])] = (parts[2].decode(), int(parts[3]))
        return True, attempted, answered


async def recover(db: Database, campaign_id: int, journal: Path | None = None) -> tuple[int, int, int]:
    """Rows left 'sending' by a crash: (unknown, pending again, answered) — see the module docstring."""
    known, attempted, answered = Journal.read(journal) if journal is not None else (False, set(), {})
    async with db.unit_of_work() as uow:
        rows = await uow.fetch(
            "SELECT member_id FROM ad_recipients WHERE campaign_id = :c AND status = 'sending'" + uow.for_update,
            {"c": campaign_id},
        )
        ids = [int(r[0]) for r in rows]
        if not ids:
            return 0, 0, 0
        done = [m for m in ids if m in answered]
        fresh = [m for m in ids if known and m not in answered and m not in attempted]
        lost = [m for m in ids if m not in answered and m not in fresh]
        writes = []
        if done:
            writes.append(
                write_many(
                    "UPDATE ad_recipients SET status = :st, sent_ms = :at WHERE campaign_id = :c AND member_id = :m",
                    [
                        {"c": campaign_id, "m": m, "st": _STATUS[answered[m][0]], "at": answered[m][1]}
                        if answered[m][0] == "ok"
                        else {"c": campaign_id, "m": m, "st": _STATUS[answered[m][0]], "at": None}
                        for m in done
                    ],
                )
            )
        if fresh:
            writes.append(
                write_many(
                    "UPDATE ad_recipients SET status = 'pending', channel = NULL "
                    "WHERE campaign_id = :c AND member_id = :m",
                    [{"c": campaign_id, "m": m} for m in fresh],
                )
            )
        if lost:
            writes.append(
                write_many(
                    "UPDATE ad_recipients SET status = 'unknown', reason = 'crash' "
                    "WHERE campaign_id = :c AND member_id = :m",
                    [{"c": campaign_id, "m": m} for m in lost],
                )
            )
        await uow.batch(writes)
        await uow.commit()
    return len(lost), len(fresh), len(done)


async def _recent_counts(uow: UnitOfWork, shop_id: int, member_ids: Sequence[int], since_ms: int) -> dict[int, int]:
    clause, params = in_clause("m", list(member_ids))
    rows = await uow.fetch(
        "SELECT r.member_id, COUNT(*) FROM ad_recipients r JOIN ad_campaigns c ON c.id = r.campaign_id "
        f"WHERE c.shop_id = :shop AND r.status = 'sent' AND r.sent_ms >= :since AND r.member_id IN {clause} "
        "GROUP BY r.member_id",
        {**params, "shop": shop_id, "since": since_ms},
    )
    return {int(m): int(n) for m, n in rows}


class Dispatcher:
    """Runs one campaign's dispatch to the end, a pause, or the quiet hours (call ``run`` again to resume).

    One dispatcher per campaign at a time (the server's ``ads.runner`` holds a lease for it): ``run``
    starts by recovering what a previous, dead one left ``sending``. ``journal_dir`` keeps the journals
    (``$CHESTNUT_HOME/ads``); ``None``: no journal, a crash leaves its in-flight chunk ``unknown``.
    """

    def __init__(
        self,
        db: Database,
        market: Services,
        outbox: Outbox,
        *,
        chunk: int | None = None,
        journal_dir: Path | None = None,
        depth: int = 2,
    ) -> None:
        self.db, self.market, self.outbox = db, market, outbox
        rate = rules_of(market).telegram_rate_per_s
        self.chunk = chunk or max(1, min(200, int(rate / 10)))  # about a tenth of a second of messages
        self.journal_dir, self.depth = journal_dir, max(1, depth)

    def journal_path(self, campaign_id: int) -> Path | None:
        return None if self.journal_dir is None else self.journal_dir / f"campaign-{campaign_id}.journal"

    async def run(self, campaign_id: int) -> DispatchReport:
        report = DispatchReport(campaign_id)
        path = self.journal_path(campaign_id)
        report.recovered, report.resumed, report.settled = await recover(self.db, campaign_id, path)
        journal = Journal(path, self.market.clock) if path is not None else None
        inflight: set[asyncio.Task[None]] = set()
        claim = asyncio.create_task(self._claim(campaign_id, 0, report))
        try:
            while True:
                items, cursor, stop = await claim
                if stop or cursor is None:
                    report.status = stop or "done"
                    break
                claim = asyncio.create_task(self._claim(campaign_id, cursor, report))  # overlaps the send
                while len(inflight) >= self.depth:  # the next chunk queues behind the one being paced
                    finished, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                    for task in finished:
                        task.result()
                # Re-read consent only now, when this chunk's turn has come: an opt-out while the chunks
                # before it were going out stops its message.
                campaign, items, withdrawn = await self._recheck(campaign_id, items)
                if campaign.status != "running":  # paused or ended since the claim: back to pending
                    await self._release(campaign_id, items)
                    items = []
                task = asyncio.create_task(self._send_and_record(campaign, items, withdrawn, report, journal))
                inflight.add(task)
        finally:
            for task in inflight:
                with contextlib.suppress(Exception):
                    await task
            leftover, _cursor, _stop = await claim  # a chunk claimed but not sent: give it back
            if leftover:
                await self._release(campaign_id, leftover)
            if journal is not None:
                journal.close()
        for task in inflight:
            task.result()  # a send that failed (not for a person's reason) fails the run; rerun recovers it
        if report.deferred and report.status == "done":
            report.status = "quiet_hours"
        if report.status == "done" and journal is not None:
            journal.remove()
        return report

    async def _send_and_record(
        self,
        campaign: Campaign,
        items: list[Item],
        withdrawn: set[int],
        report: DispatchReport,
        journal: Journal | None,
    ) -> None:
        outcomes: dict[int, str] = dict.fromkeys(withdrawn, "refused")
        if items:
            outcomes.update(await self.outbox.send(self.db, campaign, items, journal or NoLog()))
        await self._record(campaign.id, items, outcomes, report)

    async def _claim(self, campaign_id: int, cursor: int, report: DispatchReport) -> tuple[list[Item], int | None, str]:
        """The next chunk after ``cursor``, the new cursor (None: this pass is at its end), and a stop."""
        rules = rules_of(self.market)
        async with self.db.unit_of_work() as uow:
            campaign = await get_campaign(uow, campaign_id, lock=True)
            if campaign.status != "running":
                return [], None, campaign.status
            rows = await uow.fetch(
                "SELECT member_id, token FROM ad_recipients WHERE campaign_id = :c AND status = 'pending' "
                "AND member_id > :cur ORDER BY member_id LIMIT :n",
                {"c": campaign_id, "cur": cursor, "n": self.chunk},
            )
            if not rows:
                return [], None, ""
            ids = [int(r[0]) for r in rows]
            tokens = {int(r[0]): str(r[1]) for r in rows}
            now = self.market.clock()
            held = await consent.load(uow, ids)
            targets = await self.outbox.targets(uow, ids)
            recent = await _recent_counts(uow, campaign.shop_id, ids, now - WEEK_MS)
            items: list[Item] = []
            updates: list[dict[str, object]] = []
            for m in ids:
                target = targets.get(m)
                if target is None:
                    updates.append({"m": m, "st": "unreachable", "ch": None, "why": "no_identity"})
                    report.unreachable += 1
                    continue
                channel, external_id, lang = target
                decision = consent.decide(
                    held[m],
                    categories=campaign.audience.categories,
                    regions=campaign.audience.regions,
                    now_ms=now,
                    quiet=rules.quiet,
                    channel=channel,
                )
                if decision.reason == "quiet_hours":
                    report.deferred += 1  # stays pending: the morning's run sends it
                elif not decision.ok:
                    updates.append({"m": m, "st": "refused", "ch": channel, "why": decision.reason})
                    report.refused += 1
                elif recent.get(m, 0) >= campaign.per_member_limit:
                    updates.append({"m": m, "st": "capped", "ch": channel, "why": "per_member_limit"})
                    report.capped += 1
                else:
                    updates.append({"m": m, "st": "sending", "ch": channel, "why": None})
                    items.append(Item(m, channel, external_id, tokens[m], lang))
            await uow.batch(
                [
                    write_many(
                        "UPDATE ad_recipients SET status = :st, channel = :ch, reason = :why "
                        "WHERE campaign_id = :c AND member_id = :m AND status = 'pending'",
                        [{**u, "c": campaign_id} for u in updates],
                    )
                ]
                if updates
                else []
            )
            await uow.commit()
        return items, ids[-1], ""

    async def _recheck(self, campaign_id: int, items: list[Item]) -> tuple[Campaign, list[Item], set[int]]:
        """Consent read again just before sending: a withdrawal since the claim stops the message."""
        rules = rules_of(self.market)
        async with self.db.snapshot() as snap:
            campaign = await get_campaign(snap, campaign_id)
            held = await consent.load(snap, [i.member_id for i in items])
        now = self.market.clock()
        keep, withdrawn = [], set()
        for item in items:
            decision = consent.decide(
                held[item.member_id],
                categories=campaign.audience.categories,
                regions=campaign.audience.regions,
                now_ms=now,
                quiet=rules.quiet,
                channel=item.channel,
            )
            if decision.ok:
                keep.append(item)
            else:
                withdrawn.add(item.member_id)
        return campaign, keep, withdrawn

    async def _record(
        self, campaign_id: int, items: Sequence[Item], outcomes: dict[int, str], report: DispatchReport
    ) -> None:
        now = self.market.clock()
        status = _STATUS
        params = [
            {"c": campaign_id, "m": m, "st": status.get(o, "pending"), "now": now if o == "ok" else None}
            for m, o in outcomes.items()
        ]
        async with self.db.unit_of_work() as uow:
            await uow.batch(
                [
                    write_many(
                        "UPDATE ad_recipients SET status = :st, sent_ms = :now "
                        "WHERE campaign_id = :c AND member_id = :m AND status = 'sending'",
                        params,
                    )
                ]
                if params
                else []
            )
            await self.outbox.record(uow, items, outcomes, now)
            await uow.commit()
        for o in outcomes.values():
            key = status.get(o, "pending")
            report.outcomes[key] = report.outcomes.get(key, 0) + 1
            if key == "sent":
                report.sent += 1
            elif key == "blocked":
                report.blocked += 1
            elif key == "unreachable":
                report.unreachable += 1
            elif key == "refused":
                report.refused += 1

    async def _release(self, campaign_id: int, items: Sequence[Item]) -> None:
        if not items:
            return
        async with self.db.unit_of_work() as uow:
            await uow.batch(
                [
                    write_many(
                        "UPDATE ad_recipients SET status = 'pending', channel = NULL "
                        "WHERE campaign_id = :c AND member_id = :m AND status = 'sending'",
                        [{"c": campaign_id, "m": i.member_id} for i in items],
                    )
                ]
            )
            await uow.commit()
