"""Logging for every ``chestnut`` process, configured here only, and no configured secret in any line.

Libraries print secrets as a matter of course: httpx logs each request's URL at INFO, and a Bot API
URL is ``…/bot<token>/getMe``; python-telegram-bot logs each call's parameters at DEBUG (the webhook's
secret token among them). So the handlers carry a filter that replaces every configured secret — each
``SecretStr`` of the settings, the database passwords, the master key's text — with ``[redacted]`` in
the message, the traceback and the stack of every record, whatever logger it came from. A secret
appears also in the forms it travels in: URL-encoded, and base64 as in HTTP Basic auth.

Every value is redacted, however short: a secret too short to be worth hiding is refused in
production (``chestnut.settings``), and in development a garbled log line is the lesser harm.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from chestnut.settings import Settings

REDACTED = "[redacted]"
FORMAT = "%(levelname)s %(name)s: %(message)s"


class RedactSecrets(logging.Filter):
    """Replaces each registered secret in a record before any handler formats it."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        for value in values:
            if value:
                self._secrets.update(v for v in _forms(value) if v)
        if self._secrets:
            # The longest first: a secret that contains another is replaced whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))

    def redact(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler reports it; nothing here to redact
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)  # what format() would add
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _forms(value: str) -> list[str]:
    """The secret and the encodings it is sent in (a URL path or query, an Authorization header)."""
    encoded = value.encode()
    return [
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        base64.b64encode(encoded).decode().rstrip("="),
        base64.b64encode(encoded + b":").decode().rstrip("="),  # HTTP Basic with the secret as the user
        base64.urlsafe_b64encode(encoded).decode().rstrip("="),
    ]


REDACTOR = RedactSecrets()


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """The process's logging: a handler on the root logger (unless one is there already, as
    ``logging.basicConfig`` does), and the redacting filter on every root handler."""
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler(stream or sys.stderr)
        stderr.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(stderr)
        root.setLevel(level.upper())
    for handler in root.handlers:
        handler.addFilter(REDACTOR)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in ``settings``: each ``SecretStr`` field, and the passwords in database URLs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    found = [
        value.get_secret_value()
        for name in type(settings).model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    ]
    for url in (settings.database_url, settings.replica_database_url):
        if url:
            try:
                password = make_url(url).password
            except ArgumentError:
                continue
            if password:
                found.append(str(password))
    return found


def keep_out_of_logs(settings: Settings | None = None, *values: str) -> None:
    """Redact these settings' secrets and these values from every log line from now on."""
    REDACTOR.add([*(secrets_of(settings) if settings is not None else ()), *values])
