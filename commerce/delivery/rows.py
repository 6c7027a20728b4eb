"""Addresses, a cart's delivery choice and delivery jobs as they are stored (``commerce.schema``): frozen
dataclasses, one mapper per table, each reading its row by column name."""

from __future__ import annotations

from dataclasses import dataclass, fields

from commerce.delivery.windows import Window
from commerce.statements import Named


@dataclass(frozen=True, slots=True)
class Address:
    id: int
    member_id: int
    label: str
    text: str
    detail: str
    region: str | None
    recipient_name: str | None  # None: the member themself
    recipient_phone: str | None  # None: the member's own phone
    lat_e6: int | None
    lon_e6: int | None
    used_ms: int | None
    ref: str

    @property
    def location(self) -> tuple[float, float] | None:
        if self.lat_e6 is None or self.lon_e6 is None:
            return None
        return self.lat_e6 / 1e6, self.lon_e6 / 1e6

    def full(self) -> str:
        """The address as a courier reads it: the street and the 동/호수 line."""
        return f"{self.text} {self.detail}".strip()

    @classmethod
    def from_row(cls, row: Named) -> Address:
        values = {name: row[name] for name in ADDRESS_COLUMNS}
        return cls(**{**values, "detail": values["detail"] or ""})


@dataclass(frozen=True, slots=True)
class CartChoice:
    """Where the member chose to have their cart at a shop go, until it becomes an order."""

    address_id: int | None
    pickup_at: str | None
    window_start_ms: int | None
    window_end_ms: int | None

    @property
    def window(self) -> Window | None:
        if self.window_start_ms is None or self.window_end_ms is None:
            return None
        return Window(self.window_start_ms, self.window_end_ms)

    @classmethod
    def from_row(cls, row: Named) -> CartChoice:
        return cls(**{name: row[name] for name in CART_CHOICE_COLUMNS})


@dataclass(frozen=True, slots=True)
class Job:
    """An order's delivery, as its courier works it."""

    order_id: int
    region: str
    courier_id: int | None
    status: str  # open | pickup | assigned | picked_up | delivered | locked
    wrong_attempts: int

    @classmethod
    def from_row(cls, row: Named) -> Job:
        return cls(**{name: row[name] for name in JOB_COLUMNS})


ADDRESS_COLUMNS = tuple(f.name for f in fields(Address))
CART_CHOICE_COLUMNS = tuple(f.name for f in fields(CartChoice))
JOB_COLUMNS = tuple(f.name for f in fields(Job))
