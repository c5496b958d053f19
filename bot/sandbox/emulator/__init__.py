"""Bot API emulator: a strict, local stand-in for api.telegram.org that PTB talks to over HTTP.

The bot side is served at ``/bot{token}/{method}`` exactly as Telegram serves it, so the real
``Application`` runs unchanged with ``base_url=emulator.base_url``. Replies, refusals and their
wording follow the official Bot API server (tdlib/telegram-bot-api) and TDLib's entity parser.
The user side is a Python API (``send_text``, ``press_button``, ...) used in-process by tests,
and a small JSON API under ``/sandbox/api/`` used by the chat page served at ``/``.

One module per concern; ``BotApiEmulator`` (server.py) is built from the layers below it:

- model.py       the data: users, chats, messages, calls, fault rules, rate limits
- errors.py      refusals worded and coded as the Bot API words and codes them
- formatting.py  MarkdownV2 parsing, entity clean-up and rendering (HTML parsing and
                 Telegram's limits are bot/telegram_text.py, shared with the bot)
- state.py       the world (users, groups, messages), change notification, the update queue
- messages.py    request parameters, reply markup, storing a message the bot sends
- faults.py      injected faults and flood limits
- api.py         HTTP and the Bot API methods
- users.py       the user side: what a test (or the page) makes people do
- webhook.py     delivering updates to a webhook
- page.py        the sandbox chat page and its JSON API
- server.py      lifecycle (start, stop) and ``run_sandbox``
"""

from bot.sandbox.emulator.errors import ApiError
from bot.sandbox.emulator.formatting import finalize_text, format_text
from bot.sandbox.emulator.model import (
    CallbackAnswer,
    CallRecord,
    Chat,
    ChatMessage,
    FaultRule,
    InlineAnswer,
    RateLimits,
    User,
)
from bot.sandbox.emulator.server import BotApiEmulator, run_sandbox

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "CallRecord",
    "CallbackAnswer",
    "Chat",
    "ChatMessage",
    "FaultRule",
    "InlineAnswer",
    "RateLimits",
    "User",
    "finalize_text",
    "format_text",
    "run_sandbox",
]
