"""``chestnut``: the command line. Each command builds the app through bootstrap and closes it after.

Typed errors print one readable line (or a JSON object with ``--json``) and exit 2; ``ledger verify``
exits 1 when the ledger does not verify. No command prints a traceback for an expected refusal.

One module per command group, each named as the command is (``chestnut batch …`` lives in
``chestnut.cli.batch``); ``command`` holds what they all share. Each command imports what it runs only
when it runs, so ``chestnut --help`` starts at once.
"""

from __future__ import annotations

import os

import click

from chestnut.cli import batch, bench, db, demo, keys, labels, ledger, replica, serve, trust


@click.group()
def main() -> None:
    """Chestnut (밤나무 장터): a cooperative's direct-trade market on a signed hash-chain ledger."""
    from chestnut import logs

    logs.configure(os.environ.get("CHESTNUT_LOG_LEVEL", "INFO"))


main.add_command(serve.serve)
main.add_command(db.db)
main.add_command(keys.keys)
main.add_command(ledger.ledger)
main.add_command(demo.demo)
main.add_command(batch.batch)
main.add_command(replica.replica)
main.add_command(labels.labels)
main.add_command(trust.trust)
main.add_command(bench.bench)
