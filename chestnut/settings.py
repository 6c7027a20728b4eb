"""Settings, read from the environment (prefix ``CHESTNUT_``) and an optional ``.env`` file.

Secrets are ``SecretStr`` so they never print. Outside development a placeholder secret refuses to
start: a cooperative's money must not run on ``changeme``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.errors import ChestnutError

PLACEHOLDER_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "placeholder",
        "secret",
        "password",
        "xxx",
        "todo",
        "test",
        "token",
    }
)


class SettingsError(ChestnutError):
    code = "settings_invalid"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHESTNUT_", env_file=".env", extra="ignore")

    # -- deployment
    environment: Literal["development", "test", "production"] = "development"
    home: Path = Path("./var")

    # -- database
    database_url: str | None = None
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"

    # -- ledger
    ledger_origin: str = "chestnut.coop/ledger"
    master_key_file: Path | None = None
    checkpoint_interval_s: float = 5.0

    # -- chat (what the bots say about the cooperative)
    office_phone: str = "031-000-0000"  # the market office, shown on every "call a person" button
    topup_page_url: str | None = None  # the gateway's checkout page for top-ups, when there is one
    trial_topup: int = 50_000  # development only: play money a `make run` visitor may take once (0: off)

    # -- telegram (all optional; with a token, serve brings the bot up)
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None

    # -- kakao
    kakao_skill_secret: SecretStr | None = None
    kakao_skill_header: str = "X-Chestnut-Skill-Secret"
    kakao_bot_id: str | None = None
    kakao_rest_key: SecretStr | None = None
    kakao_api_base: str | None = None

    # -- payment gateway (Toss Payments–style confirm API; top-ups by gateway are off until all are set)
    gateway_base_url: str | None = None  # e.g. https://api.tosspayments.com
    gateway_secret_key: SecretStr | None = None  # Basic auth "secret_key:" for confirm and look-ups
    gateway_webhook_secret: SecretStr | None = None  # HMAC-SHA256 key of X-Chestnut-Signature
    gateway_timeout_s: float = 10.0

    @field_validator("ledger_origin")
    @classmethod
    def _origin_is_a_note_key_name(cls, value: str) -> str:
        # The origin doubles as the checkpoint key name (C2SP): no spaces, no '+', not empty.
        if not value or any(c.isspace() or c == "+" for c in value):
            raise ValueError("ledger_origin must be non-empty with no spaces or '+'")
        return value

    @model_validator(mode="after")
    def _no_placeholder_secrets_outside_development(self) -> Settings:
        if self.environment == "development":
            return self
        for name in (
            "telegram_token",
            "telegram_webhook_secret",
            "kakao_skill_secret",
            "kakao_rest_key",
            "gateway_secret_key",
            "gateway_webhook_secret",
        ):
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"CHESTNUT_{name.upper()} is a placeholder; set a real secret for {self.environment}")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'chestnut.db').resolve()}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or (self.home / "master.key")


def load_settings() -> Settings:
    """Read settings, turning pydantic's validation report into one readable refusal."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from None
