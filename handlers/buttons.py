"""The wire format every feature's buttons share: `<prefix>:<action>:<number>[:<extra>]`.

A feature's button is a small typed value (TicketButton, BroadcastButton, TopicButton) whose
`encode()`, `decode()` and `pattern(action)` go through one ButtonFormat: what the data looks
like, what each action's handler is registered with, and what no button sends, said once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from bot.telegram_text import MAX_CALLBACK_DATA_BYTES

A = TypeVar("A", bound=StrEnum)


@dataclass(frozen=True)
class ButtonFormat(Generic[A]):
    """The callback data of one feature's buttons.

    prefix: the feature's (`tk`, `bc`, `dg`); actions: the values that may follow it;
    with_extra: the actions whose data ends in an extra part matching `extra` (a regex);
    what: the button in errors ("ticket button"); extra_name: the extra part in errors, with
    its article ("a target"); invalid: the error when encoded data misses its own pattern,
    filled with `data` and `extra`."""

    prefix: str
    actions: type[A]
    what: str
    with_extra: frozenset[A] = frozenset()
    extra: str = r"\d+"
    extra_name: str = "an extra part"
    invalid: str = "not a valid button: {data!r}"

    def pattern(self, action: A) -> re.Pattern[str]:
        """What the handler of `action` is registered with."""
        extra = rf":(?P<extra>{self.extra})" if action in self.with_extra else ""
        return re.compile(rf"^{self.prefix}:{action}:(?P<number>\d+){extra}$")

    def encode(self, action: A, number: int, extra: object | None = None) -> str:
        """The callback data; at most Telegram's 64 bytes."""
        if (extra is not None) != (action in self.with_extra):
            takes = self.extra_name if extra is None else "no " + self.extra_name.split()[-1]
            raise ValueError(f"{action.name} takes {takes}")
        data = f"{self.prefix}:{action}:{number}"
        if extra is not None:
            data += f":{extra}"
        if not self.pattern(action).match(data):
            raise ValueError(self.invalid.format(data=data, extra=extra))
        if len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_DATA_BYTES} bytes: {data!r}")
        return data

    def decode(self, data: str) -> tuple[A, int, str | None]:
        """The action, number and extra part of the data; ValueError when no action's pattern
        matches."""
        for action in self.actions:
            if m := self.pattern(action).match(data):
                return action, int(m.group("number")), m.groupdict().get("extra")
        raise ValueError(f"not a {self.what}: {data!r}")
