"""Tickets: questions the catalogue cannot answer go to the organizers, and answers come back.

- contestant.py  the offer under an escalation, submitting, follow-ups, /myquestions
- organizer.py   replies in the organizers' group, /answer /merge /queue /ticket, the buttons on
                 a ticket's post, FAQ entries made from answers
- posts.py       what the bot sends: a ticket's post (once, kept current), answers (once)
- views.py       texts and keyboards
- callbacks.py   the buttons' callback data (TicketButton: encode, decode, pattern)
- jobs.py        the SLA loop: reminders for tickets waiting too long, lost posts posted again
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.services import App
from handlers.tickets import contestant, organizer
from handlers.tickets.callbacks import Action, TicketButton


def register(app: App) -> None:
    app.add_handler(CommandHandler("myquestions", contestant.my_questions))
    app.add_handler(CommandHandler("answer", organizer.answer_command))
    app.add_handler(CommandHandler("merge", organizer.merge_command))
    app.add_handler(CommandHandler("queue", organizer.queue_command))
    app.add_handler(CommandHandler("ticket", organizer.ticket_command))
    buttons = {
        # Contestants: under an answer, and under an escalation offer
        Action.ASK: contestant.ask_about_answer,
        Action.SUBMIT: contestant.submit_question,
        Action.FAQ_ENTRY: contestant.show_faq_entry,
        Action.ANSWERED: contestant.show_answered,
        # Organizers: a ticket's post, the 合并到… list, /faq suggest, a saved entry's offer
        Action.CLAIM: organizer.claim,
        Action.CLOSE: organizer.close,
        Action.MERGE: organizer.choose_merge_target,
        Action.MERGE_INTO: organizer.merge_into,
        Action.MERGE_SIMILAR: organizer.merge_similar,
        Action.SAVE_FAQ: organizer.save_faq,
        Action.NOTIFY_FAQ: organizer.notify_faq_button,
    }
    assert set(buttons) == set(Action), "every button needs its handler"
    for action, callback in buttons.items():
        app.add_handler(CallbackQueryHandler(callback, pattern=TicketButton.pattern(action)))
