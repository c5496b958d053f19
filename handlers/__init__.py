"""Every handler, registered in one place, in a deliberate order."""

from __future__ import annotations

from telegram.ext import MessageHandler, filters

from bot.services import App
from handlers import (
    ask,
    broadcast,
    errors,
    faq,
    flood,
    inline,
    menu,
    stats,
    subscriptions,
    tickets,
)


def register(app: App) -> None:
    # The organizers' group (ORGANIZER_CHAT_ID; when it is not set, no chat is).
    organizers = filters.Chat(app.bot_data.settings.organizer_chat_id)
    # 0. Ahead of all (group -1): a contestant past their share of sends is slowed down.
    flood.register(app)
    # 1. Commands and menu buttons of contestants.
    menu.register(app)
    # 2. Tickets: contestants' /myquestions and buttons, organizers' commands and buttons.
    tickets.register(app)
    faq.register(app)
    # Organizers' figures: /stats, the daily digest and its topics; before the replies below,
    # since in their group a reply to a topic's prompt is the topic's answer.
    stats.register(app)
    # Subscriptions (/subscribe, /team, 🔔) and organizers' /broadcast and their buttons.
    subscriptions.register(app)
    broadcast.register(app)
    # 3. Inline mode.
    inline.register(app)
    # 4. Free text. The organizers' group talks to the ticket features, never to the matcher:
    # a reply there to a ticket's post, reminder or follow-up answers that ticket.
    text = filters.TEXT & ~filters.COMMAND
    app.add_handler(
        MessageHandler(organizers & filters.REPLY & text, tickets.organizer.answer_by_reply)
    )
    # Everywhere else, last among messages: follow-ups on tickets, then the matcher.
    ask.register(app, ~organizers)
    # 5. Buttons nobody claimed are stale or forged.
    menu.register_fallback(app)
    errors.register(app)
