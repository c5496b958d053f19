"""The Bot API over HTTP: ``/bot{token}/{method}``, and every method the emulator models.
Methods it does not model are refused loudly (501), never faked."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import ipaddress
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.sandbox.emulator.errors import (
    NOT_FOUND,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    bad_request,
    json_response,
)
from bot.sandbox.emulator.faults import FaultInjection
from bot.sandbox.emulator.formatting import (
    entities_json,
    format_text,
    render_html,
)
from bot.sandbox.emulator.messages import MessageStore
from bot.sandbox.emulator.model import (
    JSON,
    CallbackAnswer,
    CallRecord,
    Chat,
    ChatMessage,
    Described,
    InlineAnswer,
    Params,
    StoredFile,
    User,
    Webhook,
    image_size,
    to_bool,
    to_int,
)
from bot.telegram_text import (
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_INLINE_RESULTS,
    Span,
    utf16_len,
)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what a bot may upload through the Bot API
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # a photo: 10 MB, width + height at most 10000, ratio ≤ 20
PHOTO_SIDE = 1280  # Telegram keeps a photo at most this wide or high


# Real Bot API methods this emulator does not model: refused loudly rather than faked.
UNEMULATED_METHODS = frozenset(
    name.lower()
    for name in (
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendPaidMedia",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "sendGame",
        "getFile",
        "getUserProfilePhotos",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "stopPoll",
        "pinChatMessage",
        "unpinChatMessage",
        "unpinAllChatMessages",
        "banChatMember",
        "unbanChatMember",
        "restrictChatMember",
        "promoteChatMember",
        "leaveChat",
        "exportChatInviteLink",
        "createChatInviteLink",
        "setChatTitle",
        "setChatDescription",
        "setChatPhoto",
        "setMessageReaction",
        "copyMessages",
        "forwardMessages",
        "logOut",
        "close",
        "deleteMessages",
        "setMyDescription",
        "getMyDescription",
        "setMyShortDescription",
        "getMyShortDescription",
        "setMyName",
        "getMyName",
        "sendChatAction",
        "getChatMemberCount",
        "setChatMenuButton",
        "getChatMenuButton",
    )
)


_GLOBAL_SCOPES = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators")


class BotApiMethods(MessageStore, FaultInjection):
    """The Bot API methods, each answering as api.telegram.org does."""

    @functools.cached_property
    def _methods(self) -> dict[str, Callable[[dict[str, str]], Any]]:
        """Bot API method (lower case) -> its implementation; tests may wrap one."""
        return {
            "getme": self._m_get_me,
            "getupdates": self._m_get_updates,
            "setwebhook": self._m_set_webhook,
            "deletewebhook": self._m_delete_webhook,
            "getwebhookinfo": self._m_get_webhook_info,
            "sendmessage": self._m_send_message,
            "editmessagetext": self._m_edit_message_text,
            "editmessagereplymarkup": self._m_edit_message_reply_markup,
            "deletemessage": self._m_delete_message,
            "answercallbackquery": self._m_answer_callback_query,
            "answerinlinequery": self._m_answer_inline_query,
            "setmycommands": self._m_set_my_commands,
            "getmycommands": self._m_get_my_commands,
            "deletemycommands": self._m_delete_my_commands,
            "copymessage": self._m_copy_message,
            "senddocument": self._m_send_document,
            "sendphoto": self._m_send_photo,
            "forwardmessage": self._m_forward_message,
            "getchat": self._m_get_chat,
            "getchatmember": self._m_get_chat_member,
            "getchatadministrators": self._m_get_chat_administrators,
        }

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return json_response(NOT_FOUND, 404)

    async def _read_params(self, request: web.Request) -> dict[str, str]:
        params = Params(request.query)
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            raw = await request.read()
            if not raw.strip():
                return params
            try:
                body = json.loads(raw)
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            for key, value in body.items():
                if value is None:
                    continue
                params[key] = value if isinstance(value, str) else json.dumps(value)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):
                    # An uploaded file: the parameter of the same name refers to it, as does
                    # any parameter saying attach://<part name>.
                    params.files[key] = (
                        value.filename or key,
                        value.file.read(),
                        value.content_type or "application/octet-stream",
                    )
                    params.setdefault(key, f"attach://{key}")
                else:  # a part without a file name: its bytes as text
                    params[key] = bytes(value).decode("utf-8", "replace")
        return params

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        if token != self.token:
            if re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
                return json_response(ApiError(401, "Unauthorized").payload(), 401)
            return json_response(NOT_FOUND, 404)
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            return json_response(exc.payload(), exc.code)
        record = CallRecord(method=method, params=params, time=time.time())
        self.calls.append(record)
        self._bump()
        fault = self._pick_fault(method, params.get("chat_id"))
        if fault is not None and (fault.when == "before" or fault.kind == "flood"):
            return await self._apply_fault(fault, request, record, None)
        status, payload = await self._dispatch(method, params)
        record.finish(status, payload)
        if fault is not None:
            return await self._apply_fault(fault, request, record, (status, payload))
        self._bump()
        return json_response(payload, status)

    async def _dispatch(self, method: str, params: dict[str, str]) -> tuple[int, JSON]:
        name = method.lower()
        handler = self._methods.get(name)
        if handler is None:
            if name in UNEMULATED_METHODS:
                text = f"Not Implemented: {method} is not emulated"
                return 501, {"ok": False, "error_code": 501, "description": text}
            return 404, dict(NOT_FOUND)
        try:
            result = await handler(params)
        except ApiError as exc:
            return exc.code, exc.payload()
        if isinstance(result, Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    async def _m_get_me(self, params: dict[str, str]) -> JSON:
        me = self.bot_user.to_json()
        me.update(
            {
                "can_join_groups": True,
                "can_read_all_group_messages": not self.privacy_mode,
                "supports_inline_queries": self.inline_mode,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )
        return me

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    async def _m_get_updates(self, params: dict[str, str]) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = to_int(params.get("offset")) or 0
        limit = to_int(params.get("limit")) or 100
        limit = min(100, max(1, limit))
        try:
            timeout = max(0.0, float(params.get("timeout") or 0))
        except ValueError:
            timeout = 0.0
        allowed = self._json_param(params, "allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(a) for a in allowed) or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_updates()  # an older pending poll notices it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, 600.0)
        while not self._updates and not self._stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._updates_event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
            if self._webhook is not None:
                raise ApiError(409, "Conflict: terminated by setWebhook request")
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
        return copy.deepcopy(self._updates[:limit])

    async def _m_set_webhook(self, params: dict[str, str]) -> Described:
        url = (params.get("url") or "").strip()
        drop = to_bool(params.get("drop_pending_updates"))
        if not url:
            return await self._m_delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme.lower() != "https" or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            raise bad_request("bad webhook: Wrong port number specified in the URL") from None
        if port not in (80, 88, 443, 8443):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        host = parts.hostname
        if host == "localhost":
            raise bad_request("bad webhook: IP address 127.0.0.1 is reserved")
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(host)
            if address.is_private or address.is_loopback or address.is_reserved:
                raise bad_request(f"bad webhook: IP address {address} is reserved")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = to_int(params.get("max_connections")) or 40
        max_connections = min(100, max(1, max_connections))
        allowed = self._json_param(params, "allowed_updates", "allowed updates")
        allowed_list = [str(a) for a in allowed] if isinstance(allowed, list) else None
        if allowed_list is not None:
            self._allowed_updates = frozenset(allowed_list) or None
        previous = self._webhook
        self._webhook = Webhook(url, secret or None, max_connections, allowed_list)
        if drop:
            self._updates.clear()
        self._wake_updates()  # a pending long poll ends with a Conflict
        if previous is not None and previous.url == url and not drop:
            return Described(True, "Webhook is already set")
        return Described(True, "Webhook was set")

    async def _m_delete_webhook(self, params: dict[str, str]) -> Described:
        if to_bool(params.get("drop_pending_updates")):
            self._updates.clear()
        if self._webhook is None:
            return Described(True, "Webhook is already deleted")
        self._webhook = None
        self._wake_updates()
        return Described(True, "Webhook was deleted")

    async def _m_get_webhook_info(self, params: dict[str, str]) -> JSON:
        hook = self._webhook
        info: JSON = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
        return info

    async def _m_send_message(self, params: dict[str, str]) -> JSON:
        markup, keyboard = self._reply_markup(params)
        formatted = self._format(params)
        chat = self._chat(params)
        reply_to = self._reply_target(chat, params)
        self._check_can_send(chat)
        self._check_markup_server(markup)
        self._check_length(formatted)
        self._check_rate(chat)
        preview = self._json_param(params, "link_preview_options", "link preview options")
        message = self._store(
            chat,
            self.bot_user,
            formatted.text,
            formatted.spans,
            reply_markup=markup,
            reply_to=reply_to,
            protected=to_bool(params.get("protect_content")),
            link_preview_options=preview if isinstance(preview, dict) else None,
            silent=to_bool(params.get("disable_notification")),
            source=formatted.source,
            parse_mode=formatted.parse_mode or None,
        )
        self._apply_keyboard(chat, keyboard)
        return self.message_json(message)

    async def _m_edit_message_text(self, params: dict[str, str]) -> JSON | bool:
        markup, keyboard = self._reply_markup(params)
        if keyboard is not None:
            raise bad_request("inline keyboard expected")
        formatted = self._format(params)
        by_inline_id, message = self._edit_target(params)
        self._check_markup_server(markup)
        self._check_length(formatted)
        entities = entities_json(formatted.text, formatted.spans, self._user_json)
        if (
            message.text == formatted.text
            and message.entities == entities
            and message.reply_markup == markup
        ):
            raise bad_request(NOT_MODIFIED)
        message.text = formatted.text
        message.spans = formatted.spans
        message.entities = entities
        message.html = render_html(formatted.text, formatted.spans)
        message.source = formatted.source
        message.parse_mode = formatted.parse_mode or None
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.version = self._bump()
        return True if by_inline_id else self.message_json(message)

    async def _m_edit_message_reply_markup(self, params: dict[str, str]) -> JSON | bool:
        markup, keyboard = self._reply_markup(params)
        if keyboard is not None:
            raise bad_request("inline keyboard expected")
        by_inline_id, message = self._edit_target(params)
        self._check_markup_server(markup)
        if message.reply_markup == markup:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        message.edit_date = int(time.time())
        message.version = self._bump()
        return True if by_inline_id else self.message_json(message)

    def _delete(self, chat: Chat, message_id: int | None) -> None:
        message = chat.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        own = message.from_bot
        if (
            not own
            and chat.type != "private"
            and chat.bot_status
            not in (
                "administrator",
                "creator",
            )
        ):
            raise bad_request("message can't be deleted")
        message.deleted = True
        message.version = self._bump()

    async def _m_delete_message(self, params: dict[str, str]) -> bool:
        chat = self._chat(params)
        message_id = to_int(params.get("message_id"))
        if not message_id:
            raise bad_request("message identifier is not specified")
        self._delete(chat, message_id)
        return True

    async def _m_answer_callback_query(self, params: dict[str, str]) -> bool:
        query_id = (params.get("callback_query_id") or "").strip()
        query = self._queries.get(query_id)
        now = time.monotonic()
        if query is None or query.answered or now - query.created > self.callback_query_ttl:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            query_id=query_id,
            user_id=query.user_id,
            chat_id=query.chat_id,
            message_id=query.message_id,
            data=query.data,
            text=text or None,
            show_alert=to_bool(params.get("show_alert")),
            url=params.get("url") or None,
            cache_time=to_int(params.get("cache_time")) or 0,
        )
        self.callback_answers.append(answer)
        answer.version = self._bump()
        return True

    def _parse_inline_result(self, result: Any, seen: set[str]) -> JSON:
        if not isinstance(result, dict):
            raise bad_request("can't parse inline query result: expected an Object")
        kind = result.get("type")
        if not isinstance(kind, str):
            raise bad_request("can't parse inline query result: Can't find field \"type\"")
        result_id = result.get("id")
        if not isinstance(result_id, str | int) or str(result_id) == "":
            raise bad_request("RESULT_ID_EMPTY")
        result_id = str(result_id)
        if len(result_id.encode("utf-8")) > 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        parsed = copy.deepcopy(result)
        parsed["id"] = result_id
        if kind == "article":
            if not isinstance(result.get("title"), str):
                raise bad_request("can't parse inline query result: Can't find field \"title\"")
            content = result.get("input_message_content")
            if not isinstance(content, dict):
                raise bad_request(
                    "can't parse inline query result: Can't find field \"input_message_content\""
                )
        content = parsed.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            entities = content.get("entities")
            formatted = format_text(
                str(content["message_text"]),
                content.get("parse_mode"),
                json.dumps(entities) if entities is not None else None,
                strict_entities=self.strict_html_entities,
            )
            self._check_length(formatted)
        if "reply_markup" in result:
            markup, _ = self._reply_markup({"reply_markup": json.dumps(result["reply_markup"])})
            self._check_markup_server(markup)
            parsed["reply_markup"] = markup
        return parsed

    async def _m_answer_inline_query(self, params: dict[str, str]) -> bool:
        query_id = (params.get("inline_query_id") or "").strip()
        results = self._json_param(params, "results", "inline query results")
        if not isinstance(results, list):
            raise bad_request('parameter "results" is required')
        seen: set[str] = set()
        parsed = [self._parse_inline_result(r, seen) for r in results]
        if len(parsed) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        next_offset = params.get("next_offset") or ""
        if len(next_offset.encode("utf-8")) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        query = self._inline_queries.get(query_id)
        if (
            query is None
            or query.answered
            or time.monotonic() - query.created > self.callback_query_ttl
        ):
            raise bad_request(QUERY_TOO_OLD)
        query.answered = True
        button = self._json_param(params, "button", "inline query results button")
        self.inline_answers[query_id] = InlineAnswer(
            query_id=query_id,
            user_id=query.user_id,
            query=query.query,
            results=parsed,
            cache_time=to_int(params.get("cache_time")) or 300,
            is_personal=to_bool(params.get("is_personal")),
            next_offset=next_offset,
            button=button if isinstance(button, dict) else None,
        )
        self._bump()
        return True

    def _command_scope(self, params: dict[str, str]) -> tuple[str, int | None, int | None, str]:
        scope = self._json_param(params, "scope", "bot command scope") or {"type": "default"}
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            raise bad_request("can't parse BotCommandScope: expected an Object")
        kind = scope["type"]
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._chat({"chat_id": str(scope.get("chat_id", ""))})
            chat_id = chat.id
            if kind == "chat_member":
                user_id = scope.get("user_id") if isinstance(scope.get("user_id"), int) else None
                if user_id is None or user_id not in self.users:
                    raise bad_request("user not found")
        elif kind not in _GLOBAL_SCOPES:
            raise bad_request("can't parse BotCommandScope: Unsupported type specified")
        language = (params.get("language_code") or "").strip()
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return kind, chat_id, user_id, language

    async def _m_set_my_commands(self, params: dict[str, str]) -> bool:
        commands = self._json_param(params, "commands", "bot commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("too many bot commands specified")
        parsed: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand: expected an Object")
            command = item.get("command")
            description = item.get("description")
            if not isinstance(command, str) or not isinstance(description, str):
                raise bad_request("can't parse BotCommand: Can't find field \"command\"")
            command = command.removeprefix("/")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append({"command": command, "description": description})
        key = self._command_scope(params)
        if parsed:
            self.commands[key] = parsed
        else:
            self.commands.pop(key, None)
        return True

    async def _m_get_my_commands(self, params: dict[str, str]) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._command_scope(params), []))

    async def _m_delete_my_commands(self, params: dict[str, str]) -> bool:
        self.commands.pop(self._command_scope(params), None)
        return True

    def _source_message(self, params: dict[str, str], what: str) -> ChatMessage:
        source_chat = self._chat(params, "from_chat_id")
        message_id = to_int(params.get("message_id"))
        if not message_id:
            raise bad_request("message identifier is not specified")
        source = source_chat.messages.get(message_id)
        if source is None or source.deleted:
            raise bad_request(f"message to {what} not found")
        if source.has_protected_content:
            raise bad_request(f"message can't be {what.replace('copy', 'copi')}ed")
        return source

    async def _m_copy_message(self, params: dict[str, str]) -> JSON:
        markup, keyboard = self._reply_markup(params)
        chat = self._chat(params)
        source = self._source_message(params, "copy")
        reply_to = self._reply_target(chat, params)
        self._check_can_send(chat)
        # TDLib keeps an inline keyboard on a copy only when it has URL buttons alone.
        url_only = all("url" in b for b in source.buttons())
        if markup is None and keyboard is None and source.reply_markup and url_only:
            markup = source.reply_markup
        self._check_markup_server(markup)
        self._check_rate(chat)
        message = self._store(
            chat,
            self.bot_user,
            reply_markup=markup,
            reply_to=reply_to,
            protected=to_bool(params.get("protect_content")),
            silent=to_bool(params.get("disable_notification")),
            **self._content_of(source),
        )
        self._apply_keyboard(chat, keyboard)
        return {"message_id": message.message_id}

    @staticmethod
    def _content_of(source: ChatMessage) -> dict[str, Any]:
        """What a copy or a forward carries over: the text or caption with its entities, and
        the attachment (a document or a photo), all of it, so none is dropped on the way."""
        return {
            "text": source.text,
            "spans": [Span(s.type, s.start, s.end, dict(s.extra)) for s in source.spans],
            "source": source.source,
            "parse_mode": source.parse_mode,
            "document": source.document,
            "photo": source.photo,
        }

    def _input_file(self, params: dict[str, str], name: str) -> StoredFile:
        """An InputFile parameter: an upload in this request (the part itself or
        attach://<part>), or the file_id of a file uploaded before."""
        raw = (params.get(name) or "").strip()
        files = params.files if isinstance(params, Params) else {}
        if not raw:
            raise bad_request(f"there is no {name} in the request")
        part = raw.removeprefix("attach://") if raw.startswith("attach://") else None
        if part is not None:
            if part not in files:
                raise bad_request(f"there is no {name} in the request")
            filename, data, mime_type = files[part]
            if not data:
                raise bad_request("file must be non-empty")
            if len(data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            number = len(self.files) + 1
            stored = StoredFile(
                file_id=f"BQACAgIAAxkBAAI{number:08d}{self._rng.getrandbits(48):012x}",
                file_unique_id=f"AgAD{number:08d}",
                file_name=filename,
                mime_type=mime_type,
                data=data,
            )
            self.files[stored.file_id] = stored
            return stored
        if re.match(r"https?://", raw, flags=re.IGNORECASE):
            raise bad_request("failed to get HTTP URL content")  # the emulator is offline
        found = self.files.get(raw)
        if found is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return found

    def _file_message(self, params: dict[str, str]) -> tuple[Any, ...]:
        """What sendDocument and sendPhoto check alike: markup, caption, chat, reply."""
        markup, keyboard = self._reply_markup(params)
        caption = format_text(
            params.get("caption") or None,
            params.get("parse_mode"),
            params.get("caption_entities"),
            strict_entities=self.strict_html_entities,
        ) if (params.get("caption") or "").strip() else None  # fmt: skip
        chat = self._chat(params)
        reply_to = self._reply_target(chat, params)
        self._check_can_send(chat)
        self._check_markup_server(markup)
        if caption is not None and utf16_len(caption.text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return markup, keyboard, caption, chat, reply_to

    def _store_file_message(
        self, params: dict[str, str], checked: tuple[Any, ...], **attachment: Any
    ) -> JSON:
        """Store a document or photo message with its caption; answer it as Telegram does."""
        markup, keyboard, caption, chat, reply_to = checked
        message = self._store(
            chat,
            self.bot_user,
            caption.text if caption else "",
            caption.spans if caption else [],
            reply_markup=markup,
            reply_to=reply_to,
            protected=to_bool(params.get("protect_content")),
            silent=to_bool(params.get("disable_notification")),
            source=caption.source if caption else None,
            parse_mode=(caption.parse_mode or None) if caption else None,
            **attachment,
        )
        self._apply_keyboard(chat, keyboard)
        return self.message_json(message)

    async def _m_send_document(self, params: dict[str, str]) -> JSON:
        checked = self._file_message(params)
        chat = checked[3]
        stored = self._input_file(params, "document")
        self._check_rate(chat)
        document = {
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        return self._store_file_message(params, checked, document=document)

    async def _m_send_photo(self, params: dict[str, str]) -> JSON:
        checked = self._file_message(params)
        chat = checked[3]
        stored = self._input_file(params, "photo")
        if len(stored.data) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        size = image_size(stored.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        scale = min(1.0, PHOTO_SIDE / max(width, height))
        self._check_rate(chat)
        photo = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "width": round(width * scale),
                "height": round(height * scale),
                "file_size": len(stored.data),
            }
        ]
        return self._store_file_message(params, checked, photo=photo)

    async def _m_forward_message(self, params: dict[str, str]) -> JSON:
        chat = self._chat(params)
        source = self._source_message(params, "forward")
        self._check_can_send(chat)
        self._check_rate(chat)
        origin = source.forward_origin or {
            "type": "user",
            "sender_user": source.sender.to_json(),
            "date": source.date,
        }
        message = self._store(
            chat,
            self.bot_user,
            forward_origin=origin,
            protected=to_bool(params.get("protect_content")),
            silent=to_bool(params.get("disable_notification")),
            **self._content_of(source),
        )
        return self.message_json(message)

    async def _m_get_chat(self, params: dict[str, str]) -> JSON:
        chat = self._chat(params)
        info = chat.to_json()
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        if chat.type != "private":
            info["permissions"] = {"can_send_messages": True}
        return info

    def _member_status(self, chat: Chat, user_id: int) -> str:
        if user_id == self.bot_user.id:
            return chat.bot_status
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    def _member_json(self, chat: Chat, user: User) -> JSON:
        status = self._member_status(chat, user.id)
        data: JSON = {"user": user.to_json(), "status": status}
        if status == "creator":
            data["is_anonymous"] = False
        elif status == "administrator":
            data.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                    "can_manage_topics": False,
                }
            )
        elif status == "kicked":
            data["until_date"] = 0
        return data

    async def _m_get_chat_member(self, params: dict[str, str]) -> JSON:
        chat = self._chat(params)
        user_id = to_int(params.get("user_id"))
        if user_id is None:
            raise bad_request("invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user.id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return self._member_json(chat, user)

    async def _m_get_chat_administrators(self, params: dict[str, str]) -> list[JSON]:
        chat = self._chat(params)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        admins = [
            self._member_json(chat, self.users[uid])
            for uid, status in chat.members.items()
            if status in ("creator", "administrator") and uid in self.users
        ]
        if chat.bot_status == "administrator":
            admins.append(self._member_json(chat, self.bot_user))
        return admins
