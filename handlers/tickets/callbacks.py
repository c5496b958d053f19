"""The data of every ticket button: `tk:<action>:<number>[:<target>]`, one typed value.

Buttons are made with ``TicketButton(...).encode()``, read back with ``decode`` and routed with
``TicketButton.pattern(action)``: one ``CallbackQueryHandler`` per action (see __init__.py).
The wire format is the one buttons already in chats carry, so they keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from telegram import CallbackQuery, Message

from bot.telegram_text import MAX_CALLBACK_DATA_BYTES


class Action(StrEnum):
    """What a button does; the value is what travels in callback data, and the comment says
    what the number in it is."""

    # Contestants, under an answer or an escalation offer
    ASK = "q"  # 🙋 问组委会: the question (questions.id) to offer to send
    SUBMIT = "n"  # 📨 提交给组委会: the question to send
    FAQ_ENTRY = "f"  # 📖 a similar FAQ entry: its id
    ANSWERED = "a"  # 📖 a similar answered question: its ticket
    # Organizers, on a ticket's post in their group
    CLAIM = "claim"  # ✋ 认领
    CLOSE = "close"  # 🚫 关闭（无需回复）
    MERGE = "merge"  # 🔗 合并到…: list the open tickets it may join
    MERGE_INTO = "mg"  # → #M in that list; target: the ticket it joins
    MERGE_SIMILAR = "mgs"  # 🧲 合并这 N 个相似问题: the tickets the post names join it
    SAVE_FAQ = "faq"  # 📌 存为FAQ (also under /faq suggest)
    # Organizers, under a saved FAQ entry
    NOTIFY_FAQ = "fn"  # 📣 用 FAQ #N 答复: the entry, sent to the askers listed above it


WITH_TARGET = frozenset({Action.MERGE_INTO})


@dataclass(frozen=True)
class TicketButton:
    """One button: an action, the number it acts on, and for a merge the ticket it joins."""

    action: Action
    number: int
    target: int | None = None

    PREFIX: ClassVar[str] = "tk"

    def encode(self) -> str:
        """The callback data; at most Telegram's 64 bytes."""
        if (self.target is not None) != (self.action in WITH_TARGET):
            raise ValueError(
                f"{self.action.name} takes {'a' if self.target is None else 'no'} target"
            )
        data = f"{self.PREFIX}:{self.action}:{self.number}"
        if self.target is not None:
            data += f":{self.target}"
        if not self.pattern(self.action).match(data):
            raise ValueError(f"numbers must not be negative: {data!r}")
        if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_DATA_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def pattern(cls, action: Action) -> re.Pattern[str]:
        """What the handler of `action` is registered with."""
        target = r":(?P<target>\d+)" if action in WITH_TARGET else ""
        return re.compile(rf"^{cls.PREFIX}:{action}:(?P<number>\d+){target}$")

    @classmethod
    def decode(cls, data: str) -> TicketButton:
        """The button whose data this is; ValueError when no action's pattern matches."""
        for action in Action:
            if m := cls.pattern(action).match(data):
                target = m.groupdict().get("target")
                return cls(action, int(m.group("number")), int(target) if target else None)
        raise ValueError(f"not a ticket button: {data!r}")


def offered(query: CallbackQuery) -> bool:
    """Whether the pressed button is on the message it came from (Telegram sends the message as
    stored, while a tampering client can put any data in the press)."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    return markup is not None and any(
        button.callback_data == query.data for row in markup.inline_keyboard for button in row
    )
