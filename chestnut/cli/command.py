"""What every command shares: the settings, the app built and closed around it, errors, progress bars.

A typed refusal (``ChestnutError``) prints one readable line, or a JSON object with ``--json``, and
exits 2; anything else is a bug: one line for the person at the terminal, the traceback in a file,
exit 3.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from chestnut.bootstrap import App, build
from chestnut.settings import Settings, load_settings
from ledger.errors import ChestnutError

T = TypeVar("T")


def run_command(coro: Coroutine[Any, Any, T], *, as_json: bool = False) -> T:
    try:
        return asyncio.run(coro)
    except ChestnutError as exc:
        if as_json:
            click.echo(json.dumps(exc.to_json(), ensure_ascii=False))
        else:
            click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        # A bug, not a refusal: one line for the person at the terminal, the traceback in a file.
        report = _save_traceback()
        message = f"internal error ({type(exc).__name__}); details were written to {report}"
        if as_json:
            click.echo(json.dumps({"error": "internal_error", "message": message}, ensure_ascii=False))
        else:
            click.echo(f"error: {message}", err=True)
        sys.exit(3)


def _save_traceback() -> str:
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="chestnut-error-", suffix=".log")
    with os.fdopen(fd, "w") as out:
        traceback.print_exc(file=out)
    return path


def settle_heap() -> None:
    """Once a process has started: what it made while starting (modules, classes, functions, the app's
    wiring — ~150,000 objects) moves out of the cycle collector's sight for good. A full collection
    walked all of them every time, 90–160 ms on these VMs (seen in bench ads, every few seconds while
    members were seeded), a pause every chat turn and ad open in flight waited through."""
    gc.collect()
    gc.freeze()


async def with_app(settings: Settings, fn: Callable[[App], Awaitable[T]], **build_kw: Any) -> T:
    app = await build(settings, **build_kw)
    settle_heap()
    try:
        return await fn(app)
    finally:
        await app.close()


@contextmanager
def progress_bar(enabled: bool, description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on a terminal; silent otherwise (``--json``, pipes, CI)."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=__import__("rich.console").console.Console(stderr=True),
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def settings() -> Settings:
    """The settings from the environment, kept out of the logs; a refusal exits 2 with one line."""
    from chestnut import logs

    try:
        loaded = load_settings()
    except ChestnutError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    logs.keep_out_of_logs(loaded)
    return loaded
