"""Secrets in production: too short, repeated, commonly used or placeholder values refuse to start, and the
refusal names the setting and says why, without repeating the value."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from chestnut.settings import SECRET_MIN_CHARS, SettingsError, load_settings, secret_settings

WEAK = ["x", "12345678", "changeme123"]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in list(os.environ):
        if name.startswith("CHESTNUT_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _refusal(env: pytest.MonkeyPatch, values: dict[str, str]) -> str:
    env.setenv("CHESTNUT_ENVIRONMENT", "production")
    for name, value in values.items():
        env.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.code == "settings_invalid"
    return info.value.message


def test_every_secret_setting_is_checked() -> None:
    assert set(secret_settings()) == {
        "telegram_token",
        "telegram_webhook_secret",
        "kakao_skill_secret",
        "kakao_rest_key",
        "gateway_secret_key",
        "gateway_webhook_secret",
        "sms_key",
        "ads_open_key",
        "payout_bank_key",
        "replica_token",
    }


@pytest.mark.parametrize("name", secret_settings())
@pytest.mark.parametrize("value", WEAK)
def test_a_short_secret_is_refused_in_production(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    variable = f"CHESTNUT_{name.upper()}"
    message = _refusal(clean_env, {variable: value})
    assert message.startswith(f"invalid settings: {variable} is too short ({len(value)} character")
    assert f"at least {SECRET_MIN_CHARS}" in message
    assert "whoever" in message  # and what a guessed value would let anyone do
    if len(value) > 1:
        assert value not in message  # the value itself is never repeated


def test_the_refusal_says_what_the_skill_secret_guards(clean_env: pytest.MonkeyPatch) -> None:
    message = _refusal(clean_env, {"CHESTNUT_KAKAO_SKILL_SECRET": "x"})
    assert message == (
        "invalid settings: CHESTNUT_KAKAO_SKILL_SECRET is too short (1 character; production needs at least 16): "
        "whoever guesses it can call /kakao/skill as any KakaoTalk user"
    )


@pytest.mark.parametrize("value", ["qwertyuiopasdfgh", "QwertyuiopAsdfgh", "1qaz2wsx3edc4rfv"])
def test_a_common_password_of_any_length_is_refused_in_production(clean_env: pytest.MonkeyPatch, value: str) -> None:
    message = _refusal(clean_env, {"CHESTNUT_GATEWAY_WEBHOOK_SECRET": value})
    assert "CHESTNUT_GATEWAY_WEBHOOK_SECRET is a commonly used password" in message
    assert value not in message


@pytest.mark.parametrize("value", ["changemechangeme", "aaaaaaaaaaaaaaaaaaaa", "ab12ab12ab12ab12"])
def test_a_short_piece_repeated_is_refused_in_production(clean_env: pytest.MonkeyPatch, value: str) -> None:
    message = _refusal(clean_env, {"CHESTNUT_ADS_OPEN_KEY": value})
    assert "CHESTNUT_ADS_OPEN_KEY repeats one short piece" in message


def test_an_empty_secret_is_refused_in_production(clean_env: pytest.MonkeyPatch) -> None:
    message = _refusal(clean_env, {"CHESTNUT_SMS_KEY": ""})
    assert "CHESTNUT_SMS_KEY is empty; unset it, or set a secret of at least 16 characters" in message


def test_every_weak_secret_is_named_at_once(clean_env: pytest.MonkeyPatch) -> None:
    weak = {"CHESTNUT_KAKAO_SKILL_SECRET": "12345678", "CHESTNUT_TELEGRAM_WEBHOOK_SECRET": "changeme"}
    message = _refusal(clean_env, {**weak, "CHESTNUT_SMS_KEY": secrets.token_urlsafe(24)})
    assert "CHESTNUT_KAKAO_SKILL_SECRET is too short" in message
    assert "CHESTNUT_TELEGRAM_WEBHOOK_SECRET is a placeholder" in message
    assert "CHESTNUT_SMS_KEY" not in message


def test_strong_secrets_start_in_production(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHESTNUT_ENVIRONMENT", "production")
    for name in secret_settings():
        clean_env.setenv(f"CHESTNUT_{name.upper()}", secrets.token_urlsafe(24))
    clean_env.setenv("CHESTNUT_TELEGRAM_TOKEN", "7000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    clean_env.setenv("CHESTNUT_KAKAO_REST_KEY", secrets.token_hex(16))  # 32 hex digits, as Kakao issues
    settings = load_settings()
    assert settings.environment == "production"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_short_secrets_are_production_s_concern_only(clean_env: pytest.MonkeyPatch, environment: str) -> None:
    """``make run`` (development) and the test environment keep working with short secrets; only a
    placeholder is refused outside development (tests/integration/test_keys.py)."""
    clean_env.setenv("CHESTNUT_ENVIRONMENT", environment)
    clean_env.setenv("CHESTNUT_KAKAO_SKILL_SECRET", "12345678")
    settings = load_settings()
    assert settings.kakao_skill_secret is not None
    assert settings.kakao_skill_secret.get_secret_value() == "12345678"


def test_make_run_s_defaults_load(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.environment == "development"
    assert all(getattr(settings, name) is None for name in secret_settings())
