"""The chat's own tables: conversation state, handled-message keys, who can be reached where, and the
notifications waiting to be pushed (``bots.outbox``).

Conversation state is per member, not per channel, so a member who starts on Telegram can carry on in
KakaoTalk; it lives in the database so a restart or a second worker loses nothing.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from ledger.schema import metadata

bot_conversations = Table(
    "bot_conversations",
    metadata,
    Column("member_id", BigInteger, primary_key=True),
    Column("state", String(32), nullable=False),  # what the flow waits for: "" (a choice), "signup.phone", …
    Column("data", Text, nullable=False),  # JSON object, the flow's notes (a product draft, a shop id)
    Column("updated_ms", BigInteger, nullable=False),
)

bot_inbox = Table(
    "bot_inbox",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("key", String(64), primary_key=True),  # Telegram "<bot id>:<update id>", web message id
    Column("member_id", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_bot_inbox_created", "created_ms"),
)

bot_reach = Table(
    "bot_reach",
    metadata,
    Column("channel", String(16), primary_key=True),
    Column("external_id", String(128), primary_key=True),
    Column("member_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # ok | blocked | unreachable
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_bot_reach_member", "member_id"),
)

push_outbox = Table(
    "push_outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),  # the event's name (OrderDelivered) or "notice"
    Column("data", Text, nullable=False),  # JSON: the event's ids, or the notice (member, kind, data)
    Column("status", String(12), nullable=False),  # pending | sending | sent | failed
    Column("attempts", Integer, nullable=False),  # deliveries that ended in a failure worth retrying
    Column("due_ms", BigInteger, nullable=False),  # not sent before (the backoff after a failure)
    Column("claim", String(32), nullable=True),  # the sender that holds it while 'sending'
    Column("lease_ms", BigInteger, nullable=True),  # … until then; past it another sender takes it over
    Column("answered", Text, nullable=False),  # JSON: "channel:external id" → outcome, as each answer came
    Column("error", String(200), nullable=True),  # the last failure
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Index("ix_push_outbox_due", "status", "due_ms"),
)
