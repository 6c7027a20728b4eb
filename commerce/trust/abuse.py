"""Abuse detection: explainable rules over the public ledger, each outcome with its evidence.

Rules first, no model: every case names the rule, the figures it computed and the ledger entries
(``seq``) it read, so the member, an operator or anyone with the ledger can check it. The rules read
``commerce.trust.standing.Facts`` (the ledger's own record) and nothing private:

- ``review_burst``: ``burst_count`` or more reviews by one member within ``burst_window_ms``.
- ``copy_paste``: one member's same text (ignoring spaces, punctuation and case; at least
  ``copy_min_chars`` letters) on ``copy_products`` or more different products.
- ``tied_reviewer``: a review of a shop the reviewer owns, or delivers for (the courier of one of its orders).
- ``rating_pattern``: ``pattern_count`` or more reviews within a day that are all 1★ across as many
  shops (review bombing), or all 5★ for one shop (boosting).
- ``habitual_returns``: ``returns_min_claims`` or more claims across two or more shops, at a claim rate
  (claims per delivered order) of at least ``returns_factor`` × the market's and ``returns_min_rate_bp``.

Outcomes: a review is *held* for an operator (hidden from pages; ``reviews.status = 'held'``); the
member's rewards are *withheld* while a review case is open (``rewards_withheld``: the ads and referral
payers ask before paying); further claims *need an operator's approval* (``require_claims_allowed``
refuses them with the office's number until an operator releases the case). Each outcome is one
operator-signed ``abuse.hold`` entry; the member's ``abuse.appeal`` and the operator's ``abuse.decide``
follow it. The member is told why (``AbuseCaseOpened`` after commit; ``notices`` for any screen) and how
to appeal. Scanning is idempotent: a case is unique per (rule, member, subject).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from commerce import validate
from commerce.errors import InvalidState, NotAllowed
from commerce.members import service as members
from commerce.services import Services
from commerce.trust.queries import get
from commerce.trust.rows import Case
from commerce.trust.standing import Facts, ReviewFact, load_facts, market_claim_rate_bp, standing
from ledger.keys import ROLE_OPERATOR
from ledger.requests import Request
from ledger.storage.unit_of_work import UnitOfWork

OUTCOMES = ("hold_review", "withhold_reward", "claims_need_approval")
MAX_APPEAL = 500
DAY_MS = 86_400_000
_LETTERS = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class AbuseRules:
    burst_count: int = 5
    burst_window_ms: int = 10 * 60_000
    copy_min_chars: int = 8
    copy_products: int = 3
    pattern_count: int = 4
    returns_min_claims: int = 3
    returns_factor: int = 3
    returns_min_rate_bp: int = 3000


@dataclass(frozen=True, slots=True)
class AbuseCaseOpened:
    """After commit: tell the member why, and how to appeal."""

    case_id: int
    member_id: int


@dataclass(frozen=True, slots=True)
class Finding:
    member_id: int
    rule: str
    subject: str
    outcome: str
    reason: str
    evidence: dict[str, Any]
    review_id: int | None = None


def _norm(text: str) -> str:
    return _LETTERS.sub("", text).lower()


# ----------------------------------------------------------------------------------------- rules


def _hold(member: int, rule: str, review: ReviewFact, reason: str, evidence: dict[str, Any]) -> Finding:
    return Finding(member, rule, f"review:{review.review}", "hold_review", reason, evidence, review_id=review.review)


def _review_findings(facts: Facts, rules: AbuseRules) -> list[Finding]:
    """The review rules over each reviewer's reviews in time order."""
    by_member: dict[int, list[ReviewFact]] = defaultdict(list)
    for r in facts.reviews:
        if r.member is not None:
            by_member[r.member].append(r)
    couriers_of_shop: dict[int, set[int]] = defaultdict(set)
    for order, courier in facts.courier.items():
        shop = facts.order_shop.get(order)
        if shop is not None:
            couriers_of_shop[shop].add(courier)
    found: list[Finding] = []
    for member, mine in by_member.items():
        mine.sort(key=lambda r: (r.time_ms, r.seq))
        found += _review_burst(member, mine, rules)
        found += _copy_paste(member, mine, rules)
        found += _tied_reviewer(member, mine, facts, couriers_of_shop)
        found += _rating_pattern(member, mine, rules)
    return found


def _review_burst(member: int, mine: list[ReviewFact], rules: AbuseRules) -> list[Finding]:
    """A sliding window over the member's reviews in time order."""
    start = 0
    burst: set[int] = set()
    for end in range(len(mine)):
        while mine[end].time_ms - mine[start].time_ms > rules.burst_window_ms:
            start += 1
        if end - start + 1 >= rules.burst_count:
            burst.update(range(start, end + 1))
    seqs = [mine[i].seq for i in sorted(burst)]
    return [
        _hold(
            member,
            "review_burst",
            mine[i],
            f"짧은 시간({rules.burst_window_ms // 60_000}분) 안에 후기를 {len(burst)}개 올리셨어요.",
            {"reviews": seqs, "window_min": rules.burst_window_ms // 60_000, "count": len(burst)},
        )
        for i in sorted(burst)
    ]


def _copy_paste(member: int, mine: list[ReviewFact], rules: AbuseRules) -> list[Finding]:
    """The same words on several products."""
    by_text: dict[str, list[ReviewFact]] = defaultdict(list)
    for r in mine:
        if len(_norm(r.text)) >= rules.copy_min_chars:
            by_text[_norm(r.text)].append(r)
    found = []
    for same in by_text.values():
        products = {r.product for r in same}
        if len(products) >= rules.copy_products:
            found += [
                _hold(
                    member,
                    "copy_paste",
                    r,
                    f"같은 글을 서로 다른 물건 {len(products)}개의 후기에 올리셨어요.",
                    {"reviews": [x.seq for x in same], "products": sorted(products)},
                )
                for r in same
            ]
    return found


def _tied_reviewer(
    member: int, mine: list[ReviewFact], facts: Facts, couriers_of_shop: dict[int, set[int]]
) -> list[Finding]:
    """The reviewer owns or delivers for the shop."""
    found = []
    for r in mine:
        if r.shop is None:
            continue
        if facts.shop_owner.get(r.shop) == member:
            found.append(
                _hold(
                    member,
                    "tied_reviewer",
                    r,
                    "직접 운영하시는 가게의 물건 후기예요.",
                    {"review": r.seq, "tie": "owner"},
                )
            )
        elif member in couriers_of_shop.get(r.shop, set()):
            deliveries = sorted(
                facts.courier_seq[o]
                for o, c in facts.courier.items()
                if c == member and facts.order_shop.get(o) == r.shop
            )
            found.append(
                _hold(
                    member,
                    "tied_reviewer",
                    r,
                    "직접 배달을 맡으시는 가게의 물건 후기예요.",
                    {"review": r.seq, "tie": "courier", "deliveries": deliveries[:10]},
                )
            )
    return found


def _rating_pattern(member: int, mine: list[ReviewFact], rules: AbuseRules) -> list[Finding]:
    """All-1★ across shops, or all-5★ for one shop, within a day (the first such day only)."""
    for i in range(len(mine)):
        day = [r for r in mine[i:] if r.time_ms - mine[i].time_ms <= DAY_MS]
        if len(day) < rules.pattern_count:
            continue
        shops = {r.shop for r in day}
        if all(r.rating == 1 for r in day) and len(shops) >= rules.pattern_count:
            why = f"하루 사이에 서로 다른 가게 {len(shops)}곳에 별 하나 후기만 올리셨어요."
        elif all(r.rating == 5 for r in day) and len(shops) == 1:
            why = f"하루 사이에 한 가게에 별 다섯 후기만 {len(day)}개 올리셨어요."
        else:
            continue
        return [
            _hold(
                member, "rating_pattern", r, why, {"reviews": [x.seq for x in day], "ratings": [x.rating for x in day]}
            )
            for r in day
        ]
    return []


def _return_findings(facts: Facts, rules: AbuseRules) -> list[Finding]:
    market_bp = market_claim_rate_bp(facts)
    threshold = max(rules.returns_factor * market_bp, rules.returns_min_rate_bp)
    found = []
    for member in sorted({c.member for c in facts.claims if c.member is not None}):
        s = standing(facts, member)
        if s.claims >= rules.returns_min_claims and s.claim_shops >= 2 and s.claim_rate_bp >= threshold:
            found.append(
                Finding(
                    member,
                    "habitual_returns",
                    "claims",
                    "claims_need_approval",
                    f"문제 신고가 {s.claims}건(가게 {s.claim_shops}곳, 받은 주문의 {s.claim_rate_bp // 100}%)으로 "
                    f"장터 평균({market_bp // 100}%)보다 훨씬 많아요. "
                    "앞으로의 신고는 시장 사무실이 확인한 뒤 접수해요.",
                    {
                        "claims": [c.seq for c in facts.claims if c.member == member],
                        "delivered": s.delivered,
                        "claim_rate_bp": s.claim_rate_bp,
                        "market_rate_bp": market_bp,
                    },
                )
            )
    return found


def findings(facts: Facts, rules: AbuseRules | None = None) -> list[Finding]:
    """Every rule over the facts: a pure function, so anyone can rerun it on the public entries."""
    r = rules or AbuseRules()
    out: dict[tuple[str, int, str], Finding] = {}
    for f in [*_review_findings(facts, r), *_return_findings(facts, r)]:
        if f.review_id is not None and f.review_id in facts.held_reviews:
            continue
        out.setdefault((f.rule, f.member_id, f.subject), f)
    return list(out.values())


# -------------------------------------------------------------------------------------- outcomes


async def _open_case(market: Services, uow: UnitOfWork, f: Finding) -> Case | None:
    now = market.clock()
    evidence = json.dumps(f.evidence, ensure_ascii=False, sort_keys=True)
    inserted = await uow.fetch(
        "INSERT INTO abuse_cases (member_id, rule, subject, outcome, reason, evidence, status, seq, created_ms, "
        "updated_ms) VALUES (:m, :r, :s, :o, :why, :e, 'open', 0, :now, :now) "
        "ON CONFLICT (rule, member_id, subject) DO NOTHING RETURNING id",
        {
            "m": f.member_id,
            "r": f.rule,
            "s": f.subject,
            "o": f.outcome,
            "why": f.reason[:300],
            "e": evidence,
            "now": now,
        },
    )
    if not inserted:
        return None
    case_id = int(inserted[0][0])
    body: dict[str, Any] = {"case": case_id, "member": f.member_id, "rule": f.rule, "outcome": f.outcome}
    body["evidence"] = f.evidence
    if f.review_id is not None:
        body["review"] = f.review_id
        await uow.execute("UPDATE reviews SET status = 'held' WHERE id = :id", {"id": f.review_id})
    recorded = await market.ledger.record(uow, Request(actor=ROLE_OPERATOR, kind="abuse.hold", body=body))
    await uow.execute("UPDATE abuse_cases SET seq = :seq WHERE id = :id", {"seq": recorded.seq, "id": case_id})
    uow.publish(AbuseCaseOpened(case_id, f.member_id))
    return await get(uow, case_id)


async def scan(market: Services, uow: UnitOfWork, *, rules: AbuseRules | None = None) -> list[Case]:
    """Run every rule over the whole ledger; open the new cases (with their outcomes). Idempotent."""
    facts = await load_facts(uow)
    opened = []
    for f in findings(facts, rules):
        case = await _open_case(market, uow, f)
        if case is not None:
            opened.append(case)
    # Rewards wait while a member has an open review case: one case per member, pointing at the others.
    review_members = sorted({c.member_id for c in opened if c.outcome == "hold_review"})
    for member in review_members:
        cases = [c.id for c in opened if c.member_id == member and c.outcome == "hold_review"]
        case = await _open_case(
            market,
            uow,
            Finding(
                member,
                "review_spam",
                "rewards",
                "withhold_reward",
                "후기가 잠시 가려진 동안에는 후기·추천 보상을 드리지 않고 보류해요.",
                {"cases": cases},
            ),
        )
        if case is not None:
            opened.append(case)
    return opened


async def appeal(market: Services, uow: UnitOfWork, member_id: int, case_id: int, text: str) -> Case:
    """The member's appeal: their words stay here, the ledger gets a salted digest (``abuse.appeal``)."""
    clean = validate.text(text, "text", max_len=MAX_APPEAL, multiline=True)
    member = await members.get(uow, member_id)
    case = await get(uow, case_id)
    if case.member_id != member.id:
        raise NotAllowed("only the member a case is about may appeal it", case=case.id)
    if case.status != "open":
        raise InvalidState(f"case {case.id} is {case.status}", case=case.id, state=case.status)
    ref = await market.personal_ref(uow, "abuse.appeal", clean)
    recorded = await market.ledger.record(
        uow,
        Request(actor=member.key_label, kind="abuse.appeal", body={"case": case.id, "prev": case.seq, "text_ref": ref}),
    )
    await uow.execute(
        "UPDATE abuse_cases SET status = 'appealed', appeal = :a, seq = :seq, updated_ms = :now WHERE id = :id",
        {"a": clean, "seq": recorded.seq, "now": market.clock(), "id": case.id},
    )
    return await get(uow, case.id)


async def decide(market: Services, uow: UnitOfWork, operator_id: int, case_id: int, *, release: bool) -> Case:
    """An operator's decision: release (the review shows again, rewards and claims resume) or uphold."""
    await members.require_role(uow, operator_id, "operator")
    case = await get(uow, case_id)
    if not case.is_open:
        raise InvalidState(f"case {case.id} is {case.status}", case=case.id, state=case.status)
    body: dict[str, Any] = {"case": case.id, "prev": case.seq, "by": operator_id}
    body["decision"] = "release" if release else "uphold"
    if case.subject.startswith("review:"):
        body["review"] = int(case.subject.split(":", 1)[1])
        if release:
            await uow.execute("UPDATE reviews SET status = 'visible' WHERE id = :id", {"id": body["review"]})
    recorded = await market.ledger.record(uow, Request(actor=ROLE_OPERATOR, kind="abuse.decide", body=body))
    await uow.execute(
        "UPDATE abuse_cases SET status = :s, seq = :seq, updated_ms = :now WHERE id = :id",
        {"s": "released" if release else "upheld", "seq": recorded.seq, "now": market.clock(), "id": case.id},
    )
    return await get(uow, case.id)


APPEAL_HINT = "이의가 있으시면 이의 신청을 하시거나 시장 사무실({phone})에 전화해 주세요."
