"""Members: joining, roles and keys (``service``), their rows (``rows``) and refusals (``errors``), the
verified phone (``identity``, ``sms``), and the pepper behind every hash of personal data on the ledger
(``pepper``)."""
