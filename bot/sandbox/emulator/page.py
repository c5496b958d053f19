"""The sandbox chat page (static/index.html) and the small JSON API it polls and posts to."""

from __future__ import annotations

import contextlib
from importlib import resources

from aiohttp import web

from bot.sandbox.emulator.errors import json_response
from bot.sandbox.emulator.model import (
    JSON,
    ChatMessage,
    User,
    to_int,
)
from bot.sandbox.emulator.users import UserSide


class SandboxPage(UserSide):
    """The chat page: a contestant and the organizers' group side by side."""

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """A file the bot sent (a photo on the page)."""
        stored = self.files.get(request.match_info["file_id"])
        if stored is None:
            return web.Response(status=404, text="no such file")
        kind = "image/png" if stored.data.startswith(b"\x89PNG") else stored.mime_type
        return web.Response(body=stored.data, content_type=kind)

    async def _handle_index(self, request: web.Request) -> web.StreamResponse:
        page = resources.files("bot.sandbox").joinpath("static", "index.html")
        return web.Response(body=page.read_bytes(), content_type="text/html", charset="utf-8")

    def _page_message(self, message: ChatMessage) -> JSON:
        reply: JSON | None = None
        if message.reply_to_message_id:
            chat = self.chats[message.chat_id]
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None:
                reply = {
                    "message_id": replied.message_id,
                    "name": replied.sender.full_name,
                    "text": "（已删除）" if replied.deleted else replied.text[:80],
                }
        origin = message.forward_origin or {}
        forwarded = origin.get("sender_user", {}).get("first_name") if origin else None
        return {
            "chat_id": message.chat_id,
            "message_id": message.message_id,
            "from": {
                "id": message.sender.id,
                "name": message.sender.full_name,
                "is_bot": message.sender.is_bot,
            },
            "date": message.date,
            "text": message.text,
            "html": message.html,
            "reply_markup": message.reply_markup,
            "reply_to": reply,
            "edited": message.edit_date is not None,
            "deleted": message.deleted,
            "via_bot": self.bot_user.username if message.via_bot else None,
            "forwarded_from": forwarded,
            "document": message.document.get("file_name") if message.document else None,
            "photo": (
                f"/sandbox/api/file/{message.photo[-1]['file_id']}" if message.photo else None
            ),
        }

    def sandbox_state(self, since: int = 0) -> JSON:
        """What the page needs: changes to its two chats since version ``since``."""
        chats: list[JSON] = []
        for chat_id, kind in (
            (self.sandbox_contestant.id, "private"),
            (self.sandbox_group_id, "group"),
        ):
            chat = self.chats.get(chat_id)
            messages = (
                [self._page_message(m) for m in chat.messages.values() if m.version > since]
                if chat
                else []
            )
            chats.append(
                {
                    "id": chat_id,
                    "kind": kind,
                    "title": (chat.title if chat and chat.title else None),
                    "messages": messages,
                    "reply_keyboard": chat.reply_keyboard if chat else None,
                    "blocked": chat_id in self._blocked,
                }
            )
        answers = [
            {
                "query_id": a.query_id,
                "chat_id": a.chat_id,
                "text": a.text,
                "show_alert": a.show_alert,
            }
            for a in self.callback_answers
            if a.version > since
        ]
        return {
            "version": self._version,
            "bot": self.bot_user.to_json(),
            "contestant": self.sandbox_contestant.to_json(),
            "organizer": self.sandbox_organizer.to_json(),
            "chats": chats,
            "answers": answers,
        }

    async def _handle_state(self, request: web.Request) -> web.Response:
        since = to_int(request.query.get("since")) or 0
        try:
            timeout = min(30.0, max(0.0, float(request.query.get("timeout", "0"))))
        except ValueError:
            timeout = 0.0
        if since >= self._version and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await self.wait_for(
                    lambda: self._version > since or self._stopping.is_set(), timeout
                )
        return json_response(self.sandbox_state(since), 200)

    def _sandbox_user(self, chat_id: int) -> User:
        if chat_id == self.sandbox_contestant.id:
            return self.sandbox_contestant
        if chat_id == self.sandbox_group_id:
            return self.sandbox_organizer
        raise ValueError(f"the sandbox page does not show chat {chat_id}")

    async def _page_body(self, request: web.Request) -> JSON:
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("expected a JSON object") from None
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return body

    async def _handle_send(self, request: web.Request) -> web.Response:
        try:
            body = await self._page_body(request)
            chat_id = int(body.get("chat_id", 0))
            reply_to = body.get("reply_to")
            message = await self.send_text(
                self._sandbox_user(chat_id),
                chat_id,
                str(body.get("text", "")),
                reply_to=int(reply_to) if reply_to else None,
            )
        except (ValueError, TypeError) as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        return json_response({"ok": True, "message": self._page_message(message)}, 200)

    async def _handle_press(self, request: web.Request) -> web.Response:
        try:
            body = await self._page_body(request)
            chat_id = int(body.get("chat_id", 0))
            query_id = await self.press_button(
                self._sandbox_user(chat_id),
                chat_id,
                int(body.get("message_id", 0)),
                str(body.get("data", "")),
            )
        except (ValueError, TypeError) as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        answer: JSON | None = None
        with contextlib.suppress(TimeoutError):
            found = await self.wait_for_answer(query_id, timeout=float(body.get("wait", 3.0)))
            answer = {"text": found.text, "show_alert": found.show_alert, "url": found.url}
        return json_response({"ok": True, "query_id": query_id, "answer": answer}, 200)
