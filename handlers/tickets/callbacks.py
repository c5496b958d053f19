"""The data of every ticket button: `tk:<action>:<number>[:<target>]`, one typed value.

Buttons are made with ``TicketButton(...).encode()``, read back with ``decode`` and routed with
``TicketButton.pattern(action)``: one ``CallbackQueryHandler`` per action (see __init__.py).
The wire format is the one buttons already in chats carry, so they keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram import CallbackQuery, Message

from handlers.buttons import ButtonFormat


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
FORMAT = ButtonFormat(
    "tk", Action, "ticket button", WITH_TARGET, extra_name="a target",
    invalid="numbers must not be negative: {data!r}",
)  # fmt: skip


@dataclass(frozen=True)
class TicketButton:
    """One button: an action, the number it acts on, and for a merge the ticket it joins."""

    action: Action
    number: int
    target: int | None = None

    def encode(self) -> str:
        """The callback data; at most Telegram's 64 bytes."""
        return FORMAT.encode(self.action, self.number, self.target)

    @staticmethod
    def pattern(action: Action) -> re.Pattern[str]:
        """What the handler of `action` is registered with."""
        return FORMAT.pattern(action)

    @classmethod
    def decode(cls, data: str) -> TicketButton:
        """The button whose data this is; ValueError when no action's pattern matches."""
        action, number, target = FORMAT.decode(data)
        return cls(action, number, None if target is None else int(target))


def offered(query: CallbackQuery) -> bool:
    """Whether the pressed button is on the message it came from (Telegram sends the message as
    stored, while a tampering client can put any data in the press)."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    return markup is not None and any(
        button.callback_data == query.data for row in markup.inline_keyboard for button in row
    )
