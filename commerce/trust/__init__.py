"""Trust: abuse rules and cases (``abuse``), what screens read of the cases (``queries``), their rows
(``rows``) and refusals (``errors``), members' standing from ledger entries (``standing``), their tables
(``schema``)."""
