"""Who may act as an organizer: ORGANIZER_IDS, or members of the organizers' group."""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.services import Context
from handlers.common import acknowledge
from knowledge.texts import tr

log = logging.getLogger(__name__)

MEMBER_CACHE_SECONDS = 300  # a yes is kept five minutes
REFUSAL_CACHE_SECONDS = 30  # a no only briefly: someone just added to the group gets in soon
_MEMBER_STATUSES = {
    ChatMemberStatus.OWNER,
    ChatMemberStatus.ADMINISTRATOR,
    ChatMemberStatus.MEMBER,
}


async def is_organizer(context: Context, user_id: int) -> bool:
    """True for ORGANIZER_IDS and for members of ORGANIZER_CHAT_ID (getChatMember, cached)."""
    svc = context.bot_data
    settings = svc.settings
    if user_id in settings.organizer_ids:
        return True
    if settings.organizer_chat_id is None:
        return False
    cache = svc.member_cache
    cached = cache.get(user_id)
    if cached is not None:
        ttl = MEMBER_CACHE_SECONDS if cached[1] else REFUSAL_CACHE_SECONDS
        if time.monotonic() - cached[0] < ttl:
            return cached[1]
    try:
        member = await context.bot.get_chat_member(settings.organizer_chat_id, user_id)
        allowed = member.status in _MEMBER_STATUSES
    except BadRequest as exc:  # (a NetworkError to PTB, but Telegram's own answer)
        log.info("getChatMember for %s failed: %s", user_id, exc)
        allowed = False
    except NetworkError as exc:
        # No answer is not a no: refuse this once, and ask again next time rather than
        # locking an organizer out for the cache's lifetime.
        log.warning("getChatMember for %s got no answer: %s", user_id, exc)
        return False
    except TelegramError as exc:
        log.info("getChatMember for %s failed: %s", user_id, exc)
        allowed = False
    cache[user_id] = (time.monotonic(), allowed)
    return allowed


async def require_organizer(update: Update, context: Context) -> bool:
    """Check the sender; refuse politely (and change nothing) when not an organizer."""
    user = update.effective_user
    if user is not None and await is_organizer(context, user.id):
        return True
    lang = "en" if user and (user.language_code or "").startswith("en") else "zh"
    if update.callback_query is not None:
        await acknowledge(update.callback_query, tr(lang, "auth.refused"), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(tr(lang, "auth.refused"))
    return False
