"""Logging that never shows the token or the webhook secret, httpx's request lines included."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TextIO


class RedactSecrets(logging.Filter):
    """Replace every secret in a record's message and arguments with ***."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.redact(record.getMessage()), None
        return True


class RedactingFormatter(logging.Formatter):
    """Redact the whole formatted record: a traceback can quote the token too (PTB's
    InvalidToken does, and so does any exception that carries a Bot API URL)."""

    def __init__(self, fmt: str, secrets: RedactSecrets) -> None:
        super().__init__(fmt)
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return self.secrets.redact(super().format(record))


def redacting_handler(
    secrets: Iterable[str | None], stream: TextIO | None = None
) -> logging.Handler:
    """A stream handler (stderr by default) that writes no secret."""
    redact = RedactSecrets(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", redact)
    )
    handler.addFilter(redact)
    return handler


def configure_logging(level: str, secrets: Iterable[str | None]) -> None:
    root = logging.getLogger()
    root.handlers[:] = [redacting_handler(secrets)]
    root.setLevel(level)
    # httpx logs every request URL, and Bot API URLs carry the token: keep them quiet too.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
