"""What happens to a wallet that others act on (``commerce.events``: how events travel)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopupConfirmed:
    """밤톨 arrived in a member's wallet (cash at the office, or the gateway's payment)."""

    member_id: int
    amount: int
