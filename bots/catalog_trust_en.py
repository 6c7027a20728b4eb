"""English — the trust features' chat texts (the ledger login button, the producer's QR label)."""

from __future__ import annotations

TRUST_EN: dict[str, str] = {
    "trust.my_ledger": "📒 My ledger",
    "trust.label": "🏷️ Get a QR label",
    "trust.label_text": "The QR label for {name}. Print it and stick it on: shoppers scan it to check the origin and every record themselves.\nCode: {code}",
}
