"""Answers to askers (a ticket's answer, a digest topic's answer) are sent once: what went wrong
is told in the texts table's words, and nothing is sent again after a failure."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError, TimedOut

from bot.telegram_text import split_html
from handlers.common import send_once
from knowledge.texts import tr


class RecordingBot:
    """Stands in for the Bot: records each send, and the send numbered `fail_at` raises."""

    def __init__(self, error: TelegramError | None = None, fail_at: int = 1) -> None:
        self.sent: list[str] = []
        self.error, self.fail_at = error, fail_at

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> str:
        self.sent.append(text)
        if self.error is not None and len(self.sent) == self.fail_at:
            raise self.error
        return f"message {len(self.sent)}"


LONG = "答" * 5000  # two messages


@pytest.mark.parametrize(
    ("error", "told"),
    [
        (Forbidden("bot was blocked by the user"), ("delivery.blocked", True)),
        (BadRequest("chat not found"), ("", False)),
        (TimedOut("timed out"), ("delivery.network", True)),
        (ChatMigrated(-100123), ("delivery.failed", True)),
    ],
    ids=["blocked", "bad request", "timeout", "other"],
)
async def test_a_failed_answer_says_why_and_is_not_sent_again(
    error: TelegramError, told: tuple[str, bool]
) -> None:
    key, worded = told
    bot = RecordingBot(error, fail_at=2)
    sent, why = await send_once(bot, 7, LONG)  # type: ignore[arg-type]
    assert sent is None
    assert why == (tr("zh", key, error=error.message) if worded else error.message)
    assert len(bot.sent) == 2  # the part that failed is not tried again, nor is the answer


async def test_a_long_answer_arrives_in_parts_and_the_last_is_returned() -> None:
    bot = RecordingBot()
    sent, why = await send_once(bot, 7, LONG)  # type: ignore[arg-type]
    assert (sent, why) == ("message 2", None)
    assert bot.sent == split_html(LONG) and len(bot.sent) == 2
