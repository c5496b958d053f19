"""The user side: what tests and the sandbox page make people do — write, edit, press buttons,
use inline mode, block the bot."""

from __future__ import annotations

import json
import time

from bot.sandbox.emulator.formatting import (
    entities_json,
    finalize_text,
    format_text,
    render_html,
)
from bot.sandbox.emulator.messages import MessageStore
from bot.sandbox.emulator.model import (
    JSON,
    Chat,
    ChatMessage,
    InlineAnswer,
    PendingInline,
    PendingQuery,
    User,
)


class UserSide(MessageStore):
    """People acting in chats; each action yields the update Telegram would send."""

    async def send_text(
        self, user: User | int, chat_id: int, text: str, *, reply_to: int | None = None
    ) -> ChatMessage:
        """The user writes ``text`` in a chat; the bot gets the update it would get."""
        sender = self._user(user)
        if sender.id in self._blocked and chat_id == sender.id:
            raise ValueError("the user blocked the bot; call unblock_bot first")
        chat = self._chat_for(sender, chat_id)
        clean, spans = finalize_text(text, [])
        if not clean:
            raise ValueError("Telegram clients do not send empty messages")
        if reply_to is not None:
            self._live(chat.id, reply_to)
        message = self._store(chat, sender, clean, spans, reply_to=reply_to)
        if self._bot_receives(chat, message):
            self._enqueue("message", self.message_json(message))
        return self._snapshot(message)

    async def edit_text(
        self, user: User | int, chat_id: int, message_id: int, text: str
    ) -> ChatMessage:
        """The user edits one of their messages; the bot gets edited_message."""
        sender = self._user(user)
        message = self._live(chat_id, message_id)
        if message.sender.id != sender.id:
            raise ValueError("users can only edit their own messages")
        clean, spans = finalize_text(text, [])
        if not clean:
            raise ValueError("Telegram clients do not send empty messages")
        message.text, message.spans = clean, spans
        message.entities = entities_json(clean, spans, self._user_json)
        message.html = render_html(clean, spans)
        message.edit_date = int(time.time())
        message.version = self._bump()
        chat = self.chats[chat_id]
        if self._bot_receives(chat, message):
            self._enqueue("edited_message", self.message_json(message))
        return self._snapshot(message)

    def _new_query_id(self) -> str:
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        return query_id

    def _callback(self, user: User, chat: Chat, message_id: int, data: str) -> str:
        query_id = self._new_query_id()
        payload: JSON = {
            "id": query_id,
            "from": user.to_json(),
            "chat_instance": str(abs(chat.id) * 7919 % 10**18 + 10**17),
            "data": data,
        }
        message = chat.messages.get(message_id)
        if message is not None and message.inline_message_id:
            payload["inline_message_id"] = message.inline_message_id
        elif message is not None and not message.deleted:
            payload["message"] = self.message_json(message)
        else:
            payload["message"] = {"chat": chat.to_json(), "message_id": message_id, "date": 0}
        self._queries[query_id] = PendingQuery(
            query_id, user.id, chat.id, message_id, data, time.monotonic()
        )
        self._enqueue("callback_query", payload)
        return query_id

    async def press_button(
        self, user: User | int, chat_id: int, message_id: int, callback_data: str
    ) -> str:
        """Press a callback button that really is on the message; returns the query id."""
        presser = self._user(user)
        message = self._live(chat_id, message_id)
        if callback_data not in message.callback_data():
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"it has {message.callback_data()!r}"
            )
        if self.chats[chat_id].type == "private" and presser.id != chat_id:
            raise ValueError("only the chat's user can press buttons in a private chat")
        return self._callback(presser, self.chats[chat_id], message_id, callback_data)

    async def forge_callback(
        self, user: User | int, chat_id: int, message_id: int, data: str
    ) -> str:
        """Send a callback query with arbitrary data, as a tampering client could."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"no chat {chat_id}")
        return self._callback(self._user(user), chat, message_id, data)

    async def inline_query(
        self,
        user: User | int,
        query: str,
        *,
        offset: str = "",
        chat_type: str = "sender",
        timeout: float = 5.0,  # noqa: ASYNC109 - the brief's wait_for(..., timeout=) API
    ) -> InlineAnswer:
        """Type ``@bot query`` in a chat and wait for the bot's answer."""
        if not self.inline_mode:
            raise ValueError("inline mode is off for this bot")
        sender = self._user(user)
        query_id = self._new_query_id()
        self._inline_queries[query_id] = PendingInline(
            query_id, sender.id, query, time.monotonic()
        )
        payload: JSON = {
            "id": query_id,
            "from": sender.to_json(),
            "query": query,
            "offset": offset,
        }
        if chat_type:
            payload["chat_type"] = chat_type
        self._enqueue("inline_query", payload)
        return await self.wait_for(lambda: self.inline_answers.get(query_id), timeout)

    async def choose_inline_result(
        self, user: User | int, chat_id: int, query_id: str, result_id: str
    ) -> ChatMessage:
        """Pick an answered result: the user posts it "via" the bot into ``chat_id``."""
        sender = self._user(user)
        answer = self.inline_answers.get(query_id)
        if answer is None:
            raise ValueError(f"inline query {query_id} was not answered")
        result = next((r for r in answer.results if r["id"] == str(result_id)), None)
        if result is None:
            raise ValueError(f"no result {result_id!r} among {[r['id'] for r in answer.results]}")
        content = result.get("input_message_content") or {}
        if "message_text" not in content:
            raise ValueError("the emulator can only post text results")
        entities = content.get("entities")
        formatted = format_text(
            str(content["message_text"]),
            content.get("parse_mode"),
            json.dumps(entities) if entities is not None else None,
            strict_entities=self.strict_html_entities,
        )
        chat = self._chat_for(sender, chat_id)
        markup = result.get("reply_markup")
        message = self._store(
            chat,
            sender,
            formatted.text,
            formatted.spans,
            reply_markup=markup,
            via_bot=True,
            source=formatted.source,
            parse_mode=formatted.parse_mode or None,
        )
        if markup:
            message.inline_message_id = f"AgAAA{self._next_inline_message:011d}"
            self._next_inline_message += 1
            self._inline_messages[message.inline_message_id] = message
        if self._bot_receives(chat, message):
            self._enqueue("message", self.message_json(message))
        if self.inline_feedback:
            chosen: JSON = {
                "result_id": result["id"],
                "from": sender.to_json(),
                "query": answer.query,
            }
            if message.inline_message_id:
                chosen["inline_message_id"] = message.inline_message_id
            self._enqueue("chosen_inline_result", chosen)
        return self._snapshot(message)

    def _member_update(self, chat: Chat, actor: User, old: str, new: str) -> None:
        old_member: JSON = {"user": self.bot_user.to_json(), "status": old}
        new_member: JSON = {"user": self.bot_user.to_json(), "status": new}
        if new == "kicked":
            new_member["until_date"] = 0
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.to_json(),
                "from": actor.to_json(),
                "date": int(time.time()),
                "old_chat_member": old_member,
                "new_chat_member": new_member,
            },
        )

    async def block_bot(self, user: User | int) -> None:
        """The user blocks the bot: sends to them fail with 403 from now on."""
        blocker = self._user(user)
        if blocker.id in self._blocked:
            return
        self._blocked.add(blocker.id)
        chat = self.chats.get(blocker.id)
        if chat is not None:
            self._member_update(chat, blocker, "member", "kicked")
        self._bump()

    async def unblock_bot(self, user: User | int) -> None:
        """The user unblocks the bot."""
        blocker = self._user(user)
        if blocker.id not in self._blocked:
            return
        self._blocked.discard(blocker.id)
        chat = self.chats.get(blocker.id)
        if chat is not None:
            self._member_update(chat, blocker, "kicked", "member")
        self._bump()

    async def deactivate_user(self, user: User | int) -> None:
        """The user deletes their account: sends to them fail with 403."""
        self._deactivated.add(self._user(user).id)
        self._bump()

    def start_private_chat(self, user: User | int) -> Chat:
        """The user opened the bot's chat some time ago (pressed Start), so the bot may write
        to them; no update is sent. For tests and benchmarks with many recipients."""
        person = self._user(user)
        return self._chat_for(person, person.id)
