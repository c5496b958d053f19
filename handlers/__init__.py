"""Every handler, registered in one place, in a deliberate order."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import ask, errors, inline, menu


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # 1. Commands and menu buttons of contestants.
    menu.register(app)
    # 2. Inline mode.
    inline.register(app)
    # 3. Free text last among messages: everything more specific has had its chance.
    ask.register(app)
    # 4. Buttons nobody claimed are stale or forged.
    menu.register_fallback(app)
    errors.register(app)
