"""/faq list|add|edit|del: organizers keep the FAQ the bot answers from."""

from __future__ import annotations

import asyncio
import html
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler

from bot.services import App, Context
from handlers.auth import require_organizer
from handlers.common import reply_html
from handlers.tickets.callbacks import Action
from handlers.tickets.organizer import offer_faq_to_open
from handlers.tickets.views import button
from knowledge.texts import tr

SUGGESTIONS = 5  # clusters shown by /faq suggest


async def faq_command(update: Update, context: Context) -> None:
    """Manage FAQ entries; every change takes effect for the next question."""
    message = update.effective_message
    if message is None or not await require_organizer(update, context):
        return
    svc = context.bot_data
    m = re.match(r"^/\S+\s*(\S*)\s*(.*)$", message.text or "", flags=re.DOTALL)
    action, rest = (m.group(1).lower(), m.group(2).strip()) if m else ("", "")
    if action in ("", "list"):
        entries = svc.store.faq_entries()
        if not entries:
            await message.reply_html(tr("zh", "faq.none"))
            return
        lines = [tr("zh", "faq.list_head", n=len(entries))]
        lines += [
            f"<b>#{e.id}</b> {html.escape(e.question)}\n  → {html.escape(e.answer[:80])}"
            for e in entries
        ]
        await reply_html(message, "\n".join(lines))
        return
    if action == "add":
        question, sep, answer = rest.partition("|")
        if not sep or not question.strip() or not answer.strip():
            await message.reply_html(tr("zh", "faq.usage"))
            return
        entry = svc.store.add_faq(question.strip(), answer.strip())
        await asyncio.to_thread(svc.kb.refresh_faq)
        await message.reply_html(tr("zh", "faq.added", id=entry.id))
        await offer_faq_to_open(context, message, entry.id)
        return
    if action == "suggest":
        text, markup = await asyncio.to_thread(suggestions, context)
        await reply_html(message, text, markup)
        return
    if action == "edit":
        em = re.match(r"^#?(\d+)\s+(.*)$", rest, flags=re.DOTALL)
        if em is None or ("|" not in em.group(2) and not em.group(2).strip()):
            await message.reply_html(tr("zh", "faq.usage"))
            return
        question, _, answer = em.group(2).partition("|")
        edited = svc.store.edit_faq(
            int(em.group(1)),
            question=question.strip() or None,
            answer=answer.strip() or None,
        )
        if edited is None:
            await message.reply_html(tr("zh", "faq.no_such", id=int(em.group(1))))
            return
        await asyncio.to_thread(svc.kb.refresh_faq)
        question = html.escape(edited.question)
        await message.reply_html(tr("zh", "faq.edited", id=edited.id, question=question))
        return
    if action in ("del", "delete", "rm"):
        if not rest.lstrip("#").isdigit():
            await message.reply_html(tr("zh", "faq.usage"))
            return
        faq_id = int(rest.lstrip("#"))
        if not svc.store.delete_faq(faq_id):
            await message.reply_html(tr("zh", "faq.no_such", id=faq_id))
            return
        await asyncio.to_thread(svc.kb.refresh_faq)
        await message.reply_html(tr("zh", "faq.deleted", id=faq_id))
        return
    await message.reply_html(tr("zh", "faq.usage"))


def suggestions(context: Context) -> tuple[str, InlineKeyboardMarkup | None]:
    """Answered questions not saved as FAQ, grouped by what they ask; the groups asked more
    than once (merged duplicates count as askers), each with a button that saves it."""
    svc = context.bot_data
    answered = {t.id: t for t in svc.store.answered_like(limit=500)}
    entries = [(e.id, e.question) for e in svc.kb.faq.values()]
    clusters = []
    for group in svc.kb.group_questions([(t.id, t.question) for t in answered.values()]):
        askers = sum(1 + len(svc.store.merged_into(i)) for i in group)
        head = answered[group[0]]
        if askers > 1 and not svc.kb.similar_questions(head.question, entries, 1, strict=True):
            clusters.append((askers, head, group))
    if not clusters:
        return tr("zh", "faq.suggest_none"), None
    clusters.sort(key=lambda c: -c[0])
    lines, rows = [tr("zh", "faq.suggest_head")], []
    for n, (askers, head, group) in enumerate(clusters[:SUGGESTIONS], 1):
        ids = " ".join(f"#{i}" for i in group)
        question = html.escape(head.question)
        lines.append(tr("zh", "faq.suggest_line", n=n, question=question, askers=askers, ids=ids))
        lines.append(f"  → {html.escape((head.answer or '')[:80])}")
        label = tr("zh", "faq.suggest_button", n=n, id=head.id)
        rows.append([button(label, Action.SAVE_FAQ, head.id)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def register(app: App) -> None:
    app.add_handler(CommandHandler("faq", faq_command))
