"""Trust: abuse rules and cases (``abuse``), members' standing from ledger entries (``standing``), their
tables (``schema``)."""
