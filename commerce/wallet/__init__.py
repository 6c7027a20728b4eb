"""Wallets: balances, top-ups, cash-outs and history (``service``); the payment gateway for card and bank
top-ups (``gateway``)."""
