"""A strict local stand-in for the Telegram Bot API, and the sandbox chat page served with it."""

from bot.sandbox.emulator import (
    ApiError,
    BotApiEmulator,
    CallbackAnswer,
    CallRecord,
    Chat,
    ChatMessage,
    FaultRule,
    InlineAnswer,
    RateLimits,
    User,
    run_sandbox,
)

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
    "run_sandbox",
]
