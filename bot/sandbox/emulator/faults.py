"""Injected faults (5xx, 502, hangs, resets, 429) and Telegram's flood limits."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from typing import Literal

from aiohttp import web

from bot.sandbox.emulator.errors import (
    HTML_502,
    HTML_504,
    json_response,
    too_many_requests,
)
from bot.sandbox.emulator.model import (
    JSON,
    CallRecord,
    Chat,
    FaultKind,
    FaultRule,
)
from bot.sandbox.emulator.state import EmulatorState


class FaultInjection(EmulatorState):
    """Faults injected by tests, and flood limits that answer 429."""

    def inject_fault(
        self,
        kind: FaultKind,
        *,
        methods: Iterable[str] | None = None,
        probability: float = 1.0,
        on_calls: Iterable[int] | None = None,
        times: int | None = None,
        retry_after: int = 1,
        delay: float = 30.0,
        when: Literal["before", "after"] = "before",
        chat_ids: Iterable[int] | None = None,
    ) -> FaultRule:
        """Make matching calls fail: error_500, bad_gateway, hang, reset or flood (429).
        ``chat_ids`` limits the rule to calls whose chat_id is one of them."""
        rule = FaultRule(
            kind=kind,
            methods=frozenset(m.lower() for m in methods) if methods is not None else None,
            probability=probability,
            on_calls=frozenset(on_calls) if on_calls is not None else None,
            times=times,
            retry_after=retry_after,
            delay=delay,
            when=when,
            chat_ids=frozenset(str(c) for c in chat_ids) if chat_ids is not None else None,
        )
        self._faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    def _pick_fault(self, method: str, chat_id: str | None = None) -> FaultRule | None:
        chosen: FaultRule | None = None
        for rule in self._faults:
            if not rule.matches(method, chat_id):
                continue
            rule.seen += 1
            if rule.times is not None and rule.fired >= rule.times:
                continue
            if rule.on_calls is not None:
                fire = rule.seen in rule.on_calls
            else:
                fire = self._rng.random() < rule.probability
            if fire and chosen is None:
                rule.fired += 1
                chosen = rule
        return chosen

    async def _apply_fault(
        self,
        rule: FaultRule,
        request: web.Request,
        record: CallRecord,
        outcome: tuple[int, JSON] | None,
    ) -> web.StreamResponse:
        record.fault = rule.kind
        self._bump()
        if rule.kind == "flood":
            error = too_many_requests(rule.retry_after)
            record.finish(429, error.payload())
            return json_response(error.payload(), 429)
        if rule.kind == "error_500":
            payload: JSON = {
                "ok": False,
                "error_code": 500,
                "description": "Internal Server Error",
            }
            record.finish(500, payload)
            return json_response(payload, 500)
        if rule.kind == "bad_gateway":
            record.finish(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
            return web.Response(text=HTML_502, status=502, content_type="text/html")
        if rule.kind == "hang":
            await self._sleep(rule.delay)
            if outcome is not None:
                return json_response(outcome[1], outcome[0])
            record.finish(504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"})
            return web.Response(text=HTML_504, status=504, content_type="text/html")
        # reset: drop the connection without an answer
        record.finish(0, {"ok": False, "description": "connection reset"})
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)  # never written: the connection is already gone

    def _check_rate(self, chat: Chat) -> None:
        limits = self.limits
        now = time.monotonic()
        if limits.global_per_second:
            window = self._global_sent
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limits.global_per_second:
                raise too_many_requests(math.ceil(window[0] + 1.0 - now))
        tokens_after: tuple[float, float] | None = None
        if chat.type == "private" and limits.private_per_second:
            rate = limits.private_per_second
            capacity = float(max(1, limits.private_burst))
            tokens, last = self._private_buckets.get(chat.id, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1.0:
                raise too_many_requests(math.ceil((1.0 - tokens) / rate))
            tokens_after = (tokens - 1.0, now)
        group_window: deque[float] | None = None
        if chat.type != "private" and limits.group_per_minute:
            group_window = self._group_sent.setdefault(chat.id, deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= limits.group_per_minute:
                raise too_many_requests(math.ceil(group_window[0] + 60.0 - now))
        if limits.global_per_second:
            self._global_sent.append(now)
        if tokens_after is not None:
            self._private_buckets[chat.id] = tokens_after
        if group_window is not None:
            group_window.append(now)
