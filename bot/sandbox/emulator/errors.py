"""Refusals, worded and coded exactly as the Bot API server words and codes them."""

from __future__ import annotations

import json

from aiohttp import web

from bot.sandbox.emulator.model import JSON


class ApiError(Exception):
    """A refusal, worded and coded exactly as the Bot API words and codes it."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        """The JSON body Telegram sends for this refusal."""
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _tg_lower(message: str) -> str:
    """Lower the first letter the way the Bot API server does, keeping ERROR_CODES intact."""
    if len(message) >= 2 and (message[1] == "_" or "A" <= message[1] <= "Z"):
        return message
    return message[:1].lower() + message[1:]


def bad_request(message: str) -> ApiError:
    """A 400 refusal with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {_tg_lower(message)}")


def forbidden(message: str) -> ApiError:
    """A 403 refusal with Telegram's "Forbidden: " prefix."""
    return ApiError(403, f"Forbidden: {message}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-control refusal carrying retry_after."""
    retry_after = max(1, retry_after)
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
NOT_FOUND: JSON = {"ok": False, "error_code": 404, "description": "Not Found"}


HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


HTML_504 = HTML_502.replace("502 Bad Gateway", "504 Gateway Time-out")


def json_response(payload: JSON, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )
