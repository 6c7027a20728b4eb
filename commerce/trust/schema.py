"""Trust tables: abuse cases (an outcome of a rule, its evidence, the member's appeal, the decision).

A case never holds personal data: its evidence is the ledger sequence numbers the rule read and the
figures it computed, so anyone can check a case against the public ledger. Every change of a case is
also a signed entry (``abuse.hold``, ``abuse.appeal``, ``abuse.decide``): ``seq`` is the latest one.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from ledger.schema import metadata

abuse_cases = Table(
    "abuse_cases",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", BigInteger, nullable=False),
    Column("rule", String(32), nullable=False),  # review_burst | copy_paste | tied_reviewer | rating_pattern | …
    Column("subject", String(64), nullable=False),  # "review:12", "claims" — what the outcome applies to
    Column("outcome", String(24), nullable=False),  # hold_review | withhold_reward | claims_need_approval
    Column("reason", String(300), nullable=False),  # the plain-words explanation the member is shown
    Column("evidence", Text, nullable=False),  # JSON: the entries (seq) read and the figures computed
    Column("status", String(12), nullable=False),  # open | appealed | upheld | released
    Column("appeal", String(500), nullable=True),  # the member's words (private: the ledger has a digest)
    Column("seq", BigInteger, nullable=False),  # the case's latest signed entry
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("rule", "member_id", "subject", name="uq_abuse_cases_rule_subject"),
    Index("ix_abuse_cases_member", "member_id", "status"),
    Index("ix_abuse_cases_status", "status"),
)
