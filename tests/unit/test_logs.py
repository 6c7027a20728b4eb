"""The log filter: every configured secret, in every form it travels in, leaves no trace in a log line."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from chestnut import logs
from chestnut.settings import Settings

SECRETS = {
    "telegram_token": "7000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "telegram_webhook_secret": "wh-Secret_0123456789abcdef",
    "kakao_skill_secret": "kakao skill/secret?&=+ 1234",  # a character of each kind a URL encodes
    "kakao_rest_key": "0123456789abcdef0123456789abcdef",
    "gateway_secret_key": "live_sk_Zx81NmA9RkQ3dXpPq2",
    "gateway_webhook_secret": "gw-hook-7Hn2Kd9Lq4Ws1Xe5",
    "sms_key": "NCSAYU7YDBXYORXC",
    "ads_open_key": "ads-open-kP3mV8rT2yQ6wZ9n",
    "payout_bank_key": "bank-key-Lz4Gh7Jc2Vb9Nm5Q",
    "replica_token": "reader-Qm7Hx2Lp9Vd4Kt6Wz3",
}


@pytest.fixture
def settings() -> Settings:
    return Settings(
        **{name: SecretStr(value) for name, value in SECRETS.items()},
        database_url="postgresql+asyncpg://chestnut:pg-Pass_w0rd-9876@db.internal/chestnut",
        replica_database_url="postgresql+asyncpg://replica:replica-Pw_5432-abcd@db.internal/replica",
    )


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, logs.RedactSecrets]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    redactor = logs.RedactSecrets()
    handler.addFilter(redactor)
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, out, redactor
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_every_secret_setting_is_one_to_redact(settings: Settings) -> None:
    secret_fields = {n for n, v in Settings.model_fields.items() if "SecretStr" in str(v.annotation)}
    assert secret_fields == set(SECRETS)  # a new secret setting: add it here, and it is redacted too
    assert set(logs.secrets_of(settings)) == {*SECRETS.values(), "pg-Pass_w0rd-9876", "replica-Pw_5432-abcd"}


def test_no_secret_survives_in_any_part_of_a_record(
    settings: Settings, logged: tuple[logging.Logger, io.StringIO, logs.RedactSecrets]
) -> None:
    logger, out, redactor = logged
    redactor.add(logs.secrets_of(settings))
    token = SECRETS["telegram_token"]
    logger.info('HTTP Request: POST %s "HTTP/1.1 200 OK"', f"https://api.telegram.org/bot{token}/getMe")
    logger.debug("parameters %r", {"secret_token": SECRETS["telegram_webhook_secret"]})
    logger.warning("skill secret in a query: ?s=%s", quote(SECRETS["kakao_skill_secret"], safe=""))
    basic = base64.b64encode(f"{SECRETS['gateway_secret_key']}:".encode()).decode()
    logger.debug("Authorization: Basic %s", basic)
    logger.debug("all: " + " ".join(SECRETS.values()))  # a message with no arguments
    logger.info("connecting to %s", settings.database_url)
    try:
        raise RuntimeError(f"Client error '404 Not Found' for url 'https://api.telegram.org/bot{token}/getMe'")
    except RuntimeError:
        logger.exception("telegram failed")
    logger.info("where it was logged from", stack_info=True, extra={"key": SECRETS["sms_key"]})
    text = out.getvalue()

    for name, value in SECRETS.items():
        for form in (value, quote(value, safe=""), base64.b64encode(value.encode()).decode().rstrip("=")):
            assert form not in text, f"{name} ({form}) is in the log"
    assert basic not in text and "pg-Pass_w0rd-9876" not in text
    assert "https://api.telegram.org/bot[redacted]/getMe" in text  # the rest of the line is kept
    assert "Traceback" in text and "RuntimeError: Client error '404 Not Found'" in text
    assert "postgresql+asyncpg://chestnut:[redacted]@db.internal/chestnut" in text


def test_a_line_with_no_secret_is_left_as_it_was(
    logged: tuple[logging.Logger, io.StringIO, logs.RedactSecrets],
) -> None:
    logger, out, redactor = logged
    redactor.add(["0123456789abcdef0123456789abcdef"])
    logger.info("order %d paid: %s", 42, "9,000원")
    logger.info("%d%% done", 100)
    assert out.getvalue() == "INFO test.logs: order 42 paid: 9,000원\nINFO test.logs: 100% done\n"


def test_configure_puts_the_filter_on_the_handlers_and_registered_secrets_are_redacted(
    settings: Settings,
) -> None:
    root = logging.getLogger()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root.addHandler(handler)
    try:
        logs.configure("INFO")
        assert logs.REDACTOR in handler.filters
        logs.keep_out_of_logs(settings, "extra-value-to-hide-1234")
        logging.getLogger("httpx").warning("token %s extra %s", SECRETS["telegram_token"], "extra-value-to-hide-1234")
    finally:
        root.removeHandler(handler)
        for other in root.handlers:  # pytest's own: as they were
            other.removeFilter(logs.REDACTOR)
    assert out.getvalue() == "token [redacted] extra [redacted]\n"
