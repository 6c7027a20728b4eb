"""Wallets in both tokens: top-ups (``service``), cash-outs (``cashouts``), balances, holds and history
(``queries``), the payment gateway adapter (``gateway``), and the rows, errors and events of these."""
