"""Storage for the record and for every package above it: statements, units of work, the two backends.

- ``ops``: a statement (``Op``) and the batch builders ``read``, ``write``, ``write_many``, ``in_clause``;
- ``unit_of_work``: ``UnitOfWork`` (one transaction that runs batches) and ``Database`` (their factory);
- ``sqlite_connection``, ``sqlite_unit_of_work``, ``sqlite``: the embedded backend — one ``sqlite3``
  connection per thread, a writer's work as a savepoint, group commit and WAL checkpointing;
- ``postgres``: PostgreSQL through SQLAlchemy's async engine (asyncpg);
- ``backends``: ``open_database``, which opens the backend a URL names.

Schema lives in ``ledger.schema`` (and the other packages' schema modules) and is created by Alembic
(``migrations/``), never here.
"""
