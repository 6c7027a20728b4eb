"""A messenger stand-in for pushes: keeps what was pushed to whom, and says it arrived."""

from __future__ import annotations

from dataclasses import dataclass, field

from bots.messages import Screen
from bots.notify import PushOutcome


@dataclass
class Inbox:
    channel: str = "kakao"
    got: list[tuple[str, Screen]] = field(default_factory=list)

    async def push(self, external_id: str, screen: Screen) -> PushOutcome:
        self.got.append((external_id, screen))
        return "ok"
