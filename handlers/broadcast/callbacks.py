"""The data of every broadcast button: `bc:<action>:<broadcast id>[:<argument>]`, one typed value.

Buttons are made with ``BroadcastButton(...).encode()``, read back with ``decode`` and routed with
``BroadcastButton.pattern(action)``: one ``CallbackQueryHandler`` per action (see __init__.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.buttons import ButtonFormat
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
FORMAT = ButtonFormat(
    "bc", Action, "broadcast button", WITH_ARGUMENT, extra=r"\w+", extra_name="an argument",
    invalid="argument {extra!r} is not a word",
)  # fmt: skip


@dataclass(frozen=True)
class BroadcastButton:
    """One button of one broadcast, and for some actions a track id or team token."""

    action: Action
    broadcast_id: int
    argument: str | None = None

    def encode(self) -> str:
        """The callback data; at most Telegram's 64 bytes."""
        return FORMAT.encode(self.action, self.broadcast_id, self.argument)

    @staticmethod
    def pattern(action: Action) -> re.Pattern[str]:
        """What the handler of `action` is registered with."""
        return FORMAT.pattern(action)

    @classmethod
    def decode(cls, data: str) -> BroadcastButton:
        """The button whose data this is; ValueError when no action's pattern matches."""
        return cls(*FORMAT.decode(data))


def team_token(name: str) -> str:
    """A short stand-in for a team name in callback data (names may be long, and Chinese)."""
    return hashlib.sha1(team_key(name).encode()).hexdigest()[:10]
