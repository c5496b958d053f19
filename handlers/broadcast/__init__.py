"""Broadcasts: organizers' announcements to subscribers.

- compose.py    reading /broadcast (options, body as Telegram HTML)
- flows.py      the commands (/broadcast, /broadcasts) and one callback per button
- views.py      what organizers see: panels, status messages, reports, the failures CSV
- callbacks.py  the buttons' callback data (BroadcastButton: encode, decode, pattern)
- jobs.py       the engine that sends them, paced by bot/pacer.py, across restarts
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.services import App
from handlers.broadcast import flows
from handlers.broadcast.callbacks import Action, BroadcastButton


def register(app: App) -> None:
    app.add_handler(CommandHandler("broadcast", flows.broadcast_command))
    app.add_handler(CommandHandler("broadcasts", flows.list_broadcasts))
    buttons = {
        # The compose panels of a draft
        Action.ALL: flows.choose_everyone,
        Action.TRACKS: flows.choose_tracks,
        Action.TOGGLE_TRACK: flows.toggle_track,
        Action.TRACKS_DONE: flows.tracks_done,
        Action.TEAMS: flows.choose_teams,
        Action.TEAM: flows.choose_team,
        Action.BACK: flows.choose_again,
        Action.CONFIRM: flows.confirm,
        Action.CANCEL: flows.cancel_draft,
        # A broadcast's status message and /broadcasts
        Action.STOP: flows.stop_sending,
        Action.CSV: flows.send_failures,
        Action.RESEND: flows.resend_unknown,
    }
    assert set(buttons) == set(Action), "every button needs its handler"
    for action, callback in buttons.items():
        app.add_handler(CallbackQueryHandler(callback, pattern=BroadcastButton.pattern(action)))
