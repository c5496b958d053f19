"""Settings from the environment: one frozen dataclass, checked at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from knowledge.catalogue import DEFAULT_SEED

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


class ConfigError(ValueError):
    """A setting has a bad value; the message names the variable and what is wrong."""


class StartupError(RuntimeError):
    """A setting is well formed but what it names cannot be used (a port in use, a database
    folder that cannot be written, a catalogue that cannot be read); the message names the
    variable and the cause in one line."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment. See .env.example for each variable."""

    token: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    db_path: Path = Path("data/contest-bot.db")
    seed_path: Path = DEFAULT_SEED
    organizer_chat_id: int | None = None
    organizer_ids: frozenset[int] = field(default_factory=frozenset)
    log_level: str = "INFO"
    sandbox_port: int = 8080
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_connections: int = 40  # Telegram's default: updates delivered at once
    port: int = 8080
    host: str = "0.0.0.0"
    sla_minutes: int = 30
    max_open_tickets: int = 3
    escalation_interval_seconds: int = 30
    show_staff_names: bool = False
    broadcast_rate: float = 25.0
    timezone: str = "Asia/Shanghai"
    backup_every_hours: float = 6.0  # 0: no automatic backups
    backup_dir: Path | None = None  # None: a backups/ folder beside the database
    backup_keep: int = 8
    user_burst: int = 3  # messages and presses one contestant may send at once
    user_per_minute: int = 40  # … and refilled per minute; 0: no limit
    digest_time: time | None = None  # the daily digest in the organizers' group; None: off

    @property
    def sandbox(self) -> bool:
        """No token: run against the local Bot API emulator."""
        return not self.token

    def __repr__(self) -> str:  # never print the token or the webhook secret
        return f"Settings(sandbox={self.sandbox}, db_path={self.db_path!s}, ...)"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; raise ConfigError naming the first bad one."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token = get("TELEGRAM_BOT_TOKEN")
        if token is not None and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", token):
            raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC…)")
        api_base_url = get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
        if not re.match(r"https?://", api_base_url):
            raise ConfigError("TELEGRAM_API_BASE_URL must start with http:// or https://")
        log_level = (get("LOG_LEVEL") or "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        webhook_url = get("WEBHOOK_URL")
        if webhook_url is not None and not webhook_url.startswith(
            ("https://", "http://127.0.0.1")
        ):
            raise ConfigError("WEBHOOK_URL must be an https:// address Telegram can reach")
        webhook_secret = get("WEBHOOK_SECRET")
        if webhook_secret is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", webhook_secret
        ):
            raise ConfigError("WEBHOOK_SECRET may only use A-Z, a-z, 0-9, _ and - (1-256 chars)")
        if webhook_url is not None and webhook_secret is None:
            raise ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        host = get("HOST") or "0.0.0.0"
        if not re.fullmatch(r"[A-Za-z0-9.:-]+", host):
            raise ConfigError("HOST must be an address to listen on, such as 0.0.0.0 or 127.0.0.1")
        timezone = get("TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"TIMEZONE {timezone!r} is not a known time zone") from exc
        return cls(
            token=token,
            api_base_url=api_base_url,
            db_path=Path(get("CONTEST_BOT_DB") or "data/contest-bot.db"),
            seed_path=_seed(get("CONTEST_BOT_SEED")),
            organizer_chat_id=_int(get("ORGANIZER_CHAT_ID"), "ORGANIZER_CHAT_ID"),
            organizer_ids=frozenset(_ids(get("ORGANIZER_IDS"))),
            log_level=log_level,
            sandbox_port=_port(get("SANDBOX_PORT"), "SANDBOX_PORT", 8080),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_max_connections=_connections(get("WEBHOOK_MAX_CONNECTIONS")),
            port=_port(get("PORT"), "PORT", 8080),
            host=host,
            sla_minutes=_positive(get("SLA_MINUTES"), "SLA_MINUTES", 30),
            max_open_tickets=_positive(get("MAX_OPEN_TICKETS"), "MAX_OPEN_TICKETS", 3),
            escalation_interval_seconds=_positive(
                get("ESCALATION_INTERVAL_SECONDS"), "ESCALATION_INTERVAL_SECONDS", 30, zero=True
            ),
            show_staff_names=_bool(get("SHOW_STAFF_NAMES"), "SHOW_STAFF_NAMES"),
            broadcast_rate=_rate(get("BROADCAST_RATE")),
            timezone=timezone,
            backup_every_hours=_hours(get("BACKUP_EVERY_HOURS")),
            backup_dir=Path(backup_dir) if (backup_dir := get("BACKUP_DIR")) else None,
            backup_keep=_positive(get("BACKUP_KEEP"), "BACKUP_KEEP", 8),
            user_burst=_positive(get("USER_BURST"), "USER_BURST", 3),
            user_per_minute=_positive(get("USER_PER_MINUTE"), "USER_PER_MINUTE", 40, zero=True),
            digest_time=_clock_time(get("DIGEST_TIME"), "DIGEST_TIME"),
        )

    @property
    def backups(self) -> Path:
        """Where automatic backups go: BACKUP_DIR, or backups/ beside the database."""
        return self.backup_dir or self.db_path.parent / "backups"


def _seed(value: str | None) -> Path:
    if value is None:
        return DEFAULT_SEED
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"CONTEST_BOT_SEED {value!r} is not a readable catalogue file")
    return path


def _int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be an integer chat id, got {value!r}") from None


def _ids(value: str | None) -> list[int]:
    if value is None:
        return []
    ids = []
    for part in re.split(r"[,\s]+", value):
        if part:
            parsed = _int(part, "ORGANIZER_IDS")
            assert parsed is not None
            ids.append(parsed)
    return ids


def _positive(value: str | None, name: str, default: int, *, zero: bool = False) -> int:
    if value is None:
        return default
    if not value.isdigit() or (int(value) == 0 and not zero):
        raise ConfigError(f"{name} must be a {'non-negative' if zero else 'positive'} integer")
    return int(value)


def _connections(value: str | None) -> int:
    connections = _positive(value, "WEBHOOK_MAX_CONNECTIONS", 40)
    if connections > 100:
        raise ConfigError("WEBHOOK_MAX_CONNECTIONS must be 1-100 (Telegram's limit)")
    return connections


def _port(value: str | None, name: str, default: int) -> int:
    port = _positive(value, name, default, zero=True)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name} must be a TCP port (0-65535)")
    return port


def _bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false")


def _clock_time(value: str | None, name: str) -> time | None:
    """HH:MM on a 24-hour clock; empty or "off": None."""
    if value is None or value.lower() == "off":
        return None
    found = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
    if found is None:
        raise ConfigError(f"{name} must be a time of day as HH:MM (24-hour clock) or off")
    return time(int(found.group(1)), int(found.group(2)))


def _rate(value: str | None) -> float:
    if value is None:
        return 25.0
    try:
        rate = float(value)
    except ValueError:
        raise ConfigError("BROADCAST_RATE must be a number of messages per second") from None
    if not 0 < rate <= 30:
        raise ConfigError("BROADCAST_RATE must be above 0 and at most 30 (Telegram's limit)")
    return rate


def _hours(value: str | None) -> float:
    if value is None:
        return 6.0
    try:
        hours = float(value)
    except ValueError:
        raise ConfigError("BACKUP_EVERY_HOURS must be a number of hours (0: no backups)") from None
    if not 0 <= hours <= 24 * 366 or hours != hours:
        raise ConfigError("BACKUP_EVERY_HOURS must be a number of hours (0: no backups)")
    return hours
