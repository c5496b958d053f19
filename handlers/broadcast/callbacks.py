"""The data of every broadcast button: `bc:<action>:<broadcast id>[:<argument>]`, one typed value.

Buttons are made with ``BroadcastButton(...).encode()``, read back with ``decode`` and routed with
``BroadcastButton.pattern(action)``: one ``CallbackQueryHandler`` per action (see __init__.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bot.telegram_text import MAX_CALLBACK_DATA_BYTES
from knowledge.store.subscriptions import team_key


class Action(StrEnum):
    """What a button does; the value is what travels in callback data."""

    # The compose panels (a draft)
    ALL = "all"  # 👥 全部订阅者
    TRACKS = "tr"  # 🏷 按赛道…
    TOGGLE_TRACK = "tt"  # one track ticked or unticked; argument: the track id
    TRACKS_DONE = "td"  # ✅ 完成
    TEAMS = "tms"  # 👨‍👩‍👧 按队伍…
    TEAM = "tm"  # one team; argument: team_token(name)
    BACK = "back"  # ⬅️ 返回 / 重新选择对象
    CONFIRM = "ok"  # ✅ 确认发送 / 确认定时
    CANCEL = "no"  # ❌ 取消
    # A broadcast's status message and /broadcasts (any status)
    STOP = "stop"  # ⏹ 取消发送
    CSV = "csv"  # 📄 失败名单 CSV
    RESEND = "re"  # 🔁 补发


WITH_ARGUMENT = frozenset({Action.TOGGLE_TRACK, Action.TEAM})


@dataclass(frozen=True)
class BroadcastButton:
    """One button of one broadcast, and for some actions a track id or team token."""

    action: Action
    broadcast_id: int
    argument: str | None = None

    PREFIX: ClassVar[str] = "bc"

    def encode(self) -> str:
        """The callback data; at most Telegram's 64 bytes."""
        if (self.argument is not None) != (self.action in WITH_ARGUMENT):
            raise ValueError(
                f"{self.action.name} takes {'an' if self.argument is None else 'no'} argument"
            )
        data = f"{self.PREFIX}:{self.action}:{self.broadcast_id}"
        if self.argument is not None:
            data += f":{self.argument}"
        if not self.pattern(self.action).match(data):
            raise ValueError(f"argument {self.argument!r} is not a word")
        if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_DATA_BYTES} bytes: {data!r}")
        return data

    @classmethod
    def pattern(cls, action: Action) -> re.Pattern[str]:
        """What the handler of `action` is registered with."""
        argument = r":(?P<argument>\w+)" if action in WITH_ARGUMENT else ""
        return re.compile(rf"^{cls.PREFIX}:{action}:(?P<id>\d+){argument}$")

    @classmethod
    def decode(cls, data: str) -> BroadcastButton:
        """The button whose data this is; ValueError when no action's pattern matches."""
        for action in Action:
            if m := cls.pattern(action).match(data):
                return cls(action, int(m.group("id")), m.groupdict().get("argument"))
        raise ValueError(f"not a broadcast button: {data!r}")


def team_token(name: str) -> str:
    """A short stand-in for a team name in callback data (names may be long, and Chinese)."""
    return hashlib.sha1(team_key(name).encode()).hexdigest()[:10]
