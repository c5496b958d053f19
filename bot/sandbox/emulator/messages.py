"""From a Bot API request to a stored message: parameters, reply markup, and the message as
the chat shows it and as the Bot API returns it."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from bot.sandbox.emulator.errors import (
    bad_request,
    forbidden,
)
from bot.sandbox.emulator.formatting import (
    FormattedText,
    entities_json,
    format_text,
    render_html,
)
from bot.sandbox.emulator.model import (
    JSON,
    Chat,
    ChatMessage,
    User,
    to_bool,
    to_int,
)
from bot.sandbox.emulator.state import EmulatorState
from bot.telegram_text import (
    MAX_CALLBACK_DATA_BYTES,
    MAX_INLINE_BUTTONS,
    MAX_TEXT_LENGTH,
    EntityParseError,
    Span,
    checked_link,
    utf16_len,
)


class MessageStore(EmulatorState):
    """Reading a request's parameters and storing the message it sends."""

    @staticmethod
    def _json_param(params: dict[str, str], name: str, what: str) -> Any:
        raw = params.get(name)
        if raw is None or raw.strip() == "":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None

    def _chat(self, params: dict[str, str], name: str = "chat_id") -> Chat:
        raw = (params.get(name) or "").strip()
        if not raw:
            raise bad_request(f"{name} is empty")
        chat: Chat | None = None
        if raw.startswith("@"):
            wanted = raw[1:].lower()
            chat = next(
                (c for c in self.chats.values() if (c.username or "").lower() == wanted), None
            )
        else:
            chat_id = to_int(raw)
            chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _check_can_send(self, chat: Chat) -> None:
        if chat.type == "private":
            if chat.id in self._deactivated:
                raise forbidden("user is deactivated")
            if chat.id in self._blocked:
                raise forbidden("bot was blocked by the user")
        elif chat.bot_status in ("left", "kicked"):
            kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
            if chat.bot_status == "kicked":
                raise forbidden(f"bot was kicked from the {kind}")
            raise forbidden(f"bot is not a member of the {kind}")

    def _reply_target(self, chat: Chat, params: dict[str, str]) -> int | None:
        message_id: int | None = None
        allow_missing = False
        reply = self._json_param(params, "reply_parameters", "reply parameters")
        if reply is not None:
            if not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
            message_id = (
                reply.get("message_id") if isinstance(reply.get("message_id"), int) else None
            )
            allow_missing = bool(reply.get("allow_sending_without_reply"))
            other = reply.get("chat_id")
            if other is not None and str(other) != str(chat.id):
                message_id = message_id or -1  # replies across chats are not modelled
        elif params.get("reply_to_message_id"):
            message_id = to_int(params.get("reply_to_message_id"))
            allow_missing = to_bool(params.get("allow_sending_without_reply"))
        if not message_id:
            return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return message_id

    def _format(self, params: dict[str, str], text_key: str = "text") -> FormattedText:
        return format_text(
            params.get(text_key),
            params.get("parse_mode"),
            params.get("entities"),
            strict_entities=self.strict_html_entities,
        )

    @staticmethod
    def _check_length(formatted: FormattedText) -> None:
        if utf16_len(formatted.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")

    def _parse_inline_button(self, button: Any) -> JSON:
        if not isinstance(button, dict):
            raise EntityParseError("InlineKeyboardButton must be an Object")
        if "text" not in button:
            raise EntityParseError('Can\'t find field "text"')
        text = button["text"]
        if not isinstance(text, str | int | float) or isinstance(text, bool):
            raise EntityParseError('Field "text" must be of type String')
        result: JSON = {"text": str(text)}
        for key in ("url", "callback_data"):
            if key in button:
                value = button[key]
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    raise EntityParseError(f'Field "{key}" must be of type String')
                if str(value):
                    result[key] = str(value)
                    return result
        for key in ("callback_game", "pay"):
            if key in button:
                result[key] = button[key]
                return result
        for key in ("switch_inline_query", "switch_inline_query_current_chat"):
            if key in button:
                if not isinstance(button[key], str):
                    raise EntityParseError(f'Field "{key}" must be of type String')
                result[key] = button[key]
                return result
        for key in ("switch_inline_query_chosen_chat", "login_url", "web_app", "copy_text"):
            if key in button:
                if not isinstance(button[key], dict):
                    raise EntityParseError(f'Field "{key}" must be of type Object')
                result[key] = button[key]
                return result
        raise EntityParseError("Text buttons are unallowed in the inline keyboard")

    def _reply_markup(self, params: dict[str, str]) -> tuple[JSON | None, JSON | None]:
        """Parse reply_markup into (inline keyboard or None, chat keyboard action or None)."""
        raw = params.get("reply_markup")
        if raw is None or raw.strip() == "":
            return None, None
        try:
            value = json.loads(raw)
        except ValueError:
            raise bad_request("can't parse reply keyboard markup JSON object") from None
        if not isinstance(value, dict):
            raise bad_request("Object expected as reply markup")
        inline_rows: list[list[JSON]] = []
        keyboard_rows: list[list[JSON]] = []
        if "keyboard" in value:
            keyboard = value["keyboard"]
            if not isinstance(keyboard, list):
                raise bad_request('Field "keyboard" of the ReplyKeyboardMarkup must be an Array')
            for row in keyboard:
                if not isinstance(row, list):
                    raise bad_request(
                        'Field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                    )
                new_row: list[JSON] = []
                for button in row:
                    if isinstance(button, str):
                        new_row.append({"text": button})
                    elif isinstance(button, dict) and isinstance(button.get("text"), str):
                        new_row.append(dict(button))
                    elif isinstance(button, dict):
                        raise bad_request("Can't parse keyboard button: Can't find field \"text\"")
                    else:
                        raise bad_request(
                            "Can't parse keyboard button: KeyboardButton must be a String or an "
                            "Object"
                        )
                keyboard_rows.append(new_row)
        if "inline_keyboard" in value:
            inline = value["inline_keyboard"]
            if not isinstance(inline, list):
                raise bad_request(
                    'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
                )
            for row in inline:
                if not isinstance(row, list):
                    raise bad_request(
                        'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of '
                        "Arrays"
                    )
                parsed: list[JSON] = []
                for button in row:
                    try:
                        parsed.append(self._parse_inline_button(button))
                    except EntityParseError as exc:
                        raise bad_request(f"Can't parse inline keyboard button: {exc}") from None
                inline_rows.append(parsed)
        if keyboard_rows:
            action = {
                "keyboard": keyboard_rows,
                "resize_keyboard": bool(value.get("resize_keyboard")),
                "one_time_keyboard": bool(value.get("one_time_keyboard")),
                "is_persistent": bool(value.get("is_persistent")),
            }
            if value.get("input_field_placeholder"):
                action["input_field_placeholder"] = str(value["input_field_placeholder"])
            return None, action
        if any(inline_rows):
            return {"inline_keyboard": [row for row in inline_rows if row]}, None
        if value.get("remove_keyboard") or value.get("hide_keyboard"):
            return None, {"remove_keyboard": True}
        if value.get("force_reply"):
            return None, {"force_reply": True}
        return None, None

    @staticmethod
    def _check_markup_server(markup: JSON | None) -> None:
        """The checks Telegram's servers make after the chat is resolved."""
        if markup is None:
            return
        buttons = [b for row in markup["inline_keyboard"] for b in row]
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        for button in buttons:
            data = button.get("callback_data")
            if data is not None and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and checked_link(url) is None:
                raise bad_request("BUTTON_URL_INVALID")

    def _user_json(self, user_id: int) -> JSON | None:
        user = self.users.get(user_id)
        return user.to_json() if user else None

    def _store(
        self,
        chat: Chat,
        sender: User,
        text: str,
        spans: list[Span],
        *,
        reply_markup: JSON | None = None,
        reply_to: int | None = None,
        via_bot: bool = False,
        forward_origin: JSON | None = None,
        protected: bool = False,
        link_preview_options: JSON | None = None,
        silent: bool = False,
        source: str | None = None,
        parse_mode: str | None = None,
        document: JSON | None = None,
        photo: list[JSON] | None = None,
    ) -> ChatMessage:
        message = ChatMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            sender=sender,
            date=int(time.time()),
            text=text,
            entities=entities_json(text, spans, self._user_json),
            html=render_html(text, spans),
            reply_markup=copy.deepcopy(reply_markup),
            reply_to_message_id=reply_to,
            via_bot=via_bot,
            forward_origin=forward_origin,
            has_protected_content=protected,
            link_preview_options=link_preview_options,
            disable_notification=silent,
            source=source,
            parse_mode=parse_mode,
            document=copy.deepcopy(document),
            photo=copy.deepcopy(photo),
            spans=spans,
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        message.version = self._bump()
        return message

    def message_json(self, message: ChatMessage, *, nested: bool = True) -> JSON:
        """The Bot API Message object for a stored message."""
        chat = self.chats[message.chat_id]
        data: JSON = {
            "message_id": message.message_id,
            "from": message.sender.to_json(),
            "chat": chat.to_json(),
            "date": message.date,
        }
        if message.forward_origin:
            data["forward_origin"] = copy.deepcopy(message.forward_origin)
        if nested and message.reply_to_message_id:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and not replied.deleted:
                data["reply_to_message"] = self.message_json(replied, nested=False)
        if message.via_bot:
            data["via_bot"] = self.bot_user.to_json()
        if message.edit_date:
            data["edit_date"] = message.edit_date
        if message.has_protected_content:
            data["has_protected_content"] = True
        if message.document is not None or message.photo is not None:
            if message.document is not None:
                data["document"] = copy.deepcopy(message.document)
            if message.photo is not None:
                data["photo"] = copy.deepcopy(message.photo)
            if message.text:
                data["caption"] = message.text
            if message.entities:
                data["caption_entities"] = copy.deepcopy(message.entities)
        else:
            data["text"] = message.text
        if message.entities and message.document is None and message.photo is None:
            data["entities"] = copy.deepcopy(message.entities)
        if message.link_preview_options:
            data["link_preview_options"] = copy.deepcopy(message.link_preview_options)
        if message.reply_markup:
            data["reply_markup"] = copy.deepcopy(message.reply_markup)
        return data

    def _apply_keyboard(self, chat: Chat, action: JSON | None) -> None:
        if action is None:
            return
        if "keyboard" in action:
            chat.reply_keyboard = copy.deepcopy(action)
        elif action.get("remove_keyboard"):
            chat.reply_keyboard = None

    def _edit_target(self, params: dict[str, str]) -> tuple[bool, ChatMessage]:
        """The message an edit refers to; True when addressed by inline_message_id."""
        inline_id = (params.get("inline_message_id") or "").strip()
        if inline_id:
            message = self._inline_messages.get(inline_id)
            if message is None or message.deleted:
                raise bad_request("MESSAGE_ID_INVALID")
            return True, message
        message_id = to_int(params.get("message_id"))
        if not (params.get("chat_id") or "").strip() or not message_id:
            raise bad_request("message identifier is not specified")
        chat = self._chat(params)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return False, message
