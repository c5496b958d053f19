"""Who wants announcements: private chats and team group chats, their tracks and team."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from knowledge.store.base import Repository, from_row, utcnow


class ChatKind(StrEnum):
    PRIVATE = "private"  # a contestant's own chat with the bot
    GROUP = "group"  # a team's group


class AudienceKind(StrEnum):
    ALL = "all"
    TRACKS = "tracks"
    TEAM = "team"


MAX_TEAM = 30  # characters; a team name is shown in buttons and in the organizers' posts


@dataclass(frozen=True)
class Subscription:
    chat_id: int
    kind: ChatKind
    name: str
    lang: str
    tracks: tuple[str, ...]  # track ids chosen one by one
    all_tracks: bool  # 全部赛道: every track, present and future
    team: str | None
    active: bool  # subscribed; False after /unsubscribe or when Telegram says 403
    inactive_reason: str | None
    created_at: str
    updated_at: str

    def follows(self, track_id: str) -> bool:
        return self.all_tracks or track_id in self.tracks


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: every subscriber, those of some tracks, or one team."""

    kind: AudienceKind
    tracks: tuple[str, ...] = ()
    team: str | None = None

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "tracks": list(self.tracks), "team": self.team})

    @classmethod
    def from_json(cls, raw: str | None) -> Audience | None:
        if not raw:
            return None
        data = json.loads(raw)
        return cls(AudienceKind(data["kind"]), tuple(data.get("tracks") or ()), data.get("team"))


def team_key(name: str) -> str:
    """Team names compare without case and with runs of spaces folded."""
    return " ".join(name.split()).casefold()


def clean_team(name: str) -> str | None:
    """A team name as stored, or None when it is empty or too long."""
    name = " ".join(re.sub(r"[\x00-\x1f]", " ", name).split())
    if not name or len(name) > MAX_TEAM:
        return None
    return name


class Subscriptions(Repository):
    """One row per chat that asked for announcements; it stays after /unsubscribe (inactive), so
    /subscribe brings the old choices back."""

    def get(self, chat_id: int) -> Subscription | None:
        with self._c.reading() as db:
            rows = list(db.table("subscriptions").rows_where("chat_id = ?", [chat_id]))
        return from_row(Subscription, rows[0]) if rows else None

    def ensure(self, chat_id: int, *, kind: ChatKind, name: str, lang: str) -> Subscription:
        """The chat's row, created (not subscribed yet) on first use; name and language kept
        current."""
        now = utcnow()
        with self._c.transaction() as db:
            table = db.table("subscriptions")
            if table.count_where("chat_id = ?", [chat_id]):
                table.update(chat_id, {"name": name, "lang": lang, "kind": kind})
            else:
                table.insert(
                    {
                        "chat_id": chat_id,
                        "kind": kind,
                        "name": name,
                        "lang": lang,
                        "tracks": "[]",
                        "all_tracks": 0,
                        "team": None,
                        "team_key": None,
                        "active": 0,
                        "inactive_reason": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            return from_row(Subscription, table.get(chat_id))

    def _change(self, chat_id: int, **changes: Any) -> Subscription:
        with self._c.transaction() as db:
            db.table("subscriptions").update(chat_id, {**changes, "updated_at": utcnow()})
        found = self.get(chat_id)
        assert found is not None, f"no subscriber {chat_id}; call ensure first"
        return found

    def toggle_track(self, chat_id: int, track_id: str, every: Iterable[str]) -> Subscription:
        """Tick or untick one track; unticking one of 全部赛道 keeps the others ticked."""
        with self._c.transaction():
            sub = self.get(chat_id)
            assert sub is not None
            chosen = set(every) if sub.all_tracks else set(sub.tracks)
            chosen ^= {track_id}
            return self._change(chat_id, tracks=_tracks(chosen), all_tracks=0)

    def set_all_tracks(self, chat_id: int, on: bool) -> Subscription:
        return self._change(chat_id, all_tracks=int(on), tracks="[]")

    def follow_track(self, chat_id: int, track_id: str) -> Subscription:
        """The 🔔 button of a track: add it and subscribe."""
        with self._c.transaction():
            sub = self.get(chat_id)
            assert sub is not None
            tracks = set(sub.tracks) | ({track_id} if not sub.all_tracks else set())
            return self._change(chat_id, tracks=_tracks(tracks), active=1, inactive_reason=None)

    def activate(self, chat_id: int) -> Subscription:
        return self._change(chat_id, active=1, inactive_reason=None)

    def deactivate(self, chat_id: int, reason: str) -> Subscription | None:
        """Unsubscribe: by /unsubscribe, or because Telegram refuses to deliver (403)."""
        with self._c.transaction():
            if self.get(chat_id) is None:
                return None
            return self._change(chat_id, active=0, inactive_reason=reason[:200])

    def set_team(self, chat_id: int, team: str | None) -> Subscription:
        return self._change(chat_id, team=team, team_key=team_key(team) if team else None)

    def active(self) -> list[Subscription]:
        """Every active subscription, oldest first."""
        with self._c.reading() as db:
            rows = db.table("subscriptions").rows_where("active = 1", order_by="rowid")
            return [from_row(Subscription, r) for r in rows]

    def audience(self, audience: Audience) -> list[Subscription]:
        """The active subscriptions a broadcast to `audience` reaches."""
        everyone = self.active()
        if audience.kind == AudienceKind.TRACKS:
            wanted = set(audience.tracks)
            return [s for s in everyone if s.all_tracks or wanted & set(s.tracks)]
        if audience.kind == AudienceKind.TEAM:
            key = team_key(audience.team or "")
            return [s for s in everyone if s.team and team_key(s.team) == key]
        return everyone

    def teams(self) -> list[tuple[str, int]]:
        """Teams with active subscribers: (name, how many chats), by name."""
        counts: dict[str, tuple[str, int]] = {}
        for s in self.active():
            if s.team:
                name, n = counts.get(team_key(s.team), (s.team, 0))
                counts[team_key(s.team)] = (name, n + 1)
        return sorted(counts.values(), key=lambda item: item[0])

    def add_many(self, rows: Iterable[dict[str, Any]]) -> int:
        """Bulk import (benchmarks, migrations from a spreadsheet): active subscriptions."""
        now = utcnow()
        records = [
            {
                "chat_id": r["chat_id"],
                "kind": r.get("kind", ChatKind.PRIVATE),
                "name": r.get("name", str(r["chat_id"])),
                "lang": r.get("lang", "zh"),
                "tracks": _tracks(r.get("tracks", ())),
                "all_tracks": int(bool(r.get("all_tracks", False))),
                "team": r.get("team"),
                "team_key": team_key(r["team"]) if r.get("team") else None,
                "active": 1,
                "inactive_reason": None,
                "created_at": now,
                "updated_at": now,
            }
            for r in rows
        ]
        with self._c.transaction() as db:
            db.table("subscriptions").upsert_all(records, pk="chat_id")
        return len(records)


def _tracks(tracks: Iterable[str]) -> str:
    return json.dumps(sorted(set(tracks), key=lambda t: (len(t), t)))
