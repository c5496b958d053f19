"""The SQLite store: migrations, catalogue loading, FAQ entries, chat context, persistence."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from harness import CountingEmbedder
from sqlite_utils import Migrations

from knowledge.catalogue import DEFAULT_SEED, Catalogue, Problem, parse_catalogue
from knowledge.embed import Remembering
from knowledge.store import (
    CONTEXT_MINUTES,
    DEFAULT_DB,
    ChatKind,
    LoadReport,
    Store,
    TicketStatus,
    db_path_from_env,
)
from knowledge.store.schema import MIGRATIONS

SEED_TEXT = DEFAULT_SEED.read_text(encoding="utf-8")
ROWS = 8 + 35  # tracks and problems


def _rows(store: Store) -> dict[str, list[dict[str, object]]]:
    tables = {"tracks": "id", "problems": "id", "meta": "key", "faq": "id"}
    return {table: list(store.db[table].rows_where(order_by=pk)) for table, pk in tables.items()}


Migration = Callable[[sqlite_utils.Database], None]
LEGACY_SQL = Path(__file__).parent / "data" / "store" / "legacy.sql"


def released() -> list[Migration]:
    """The released migrations in order (on an empty database every one is pending)."""
    return [m.fn for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True))]


def migration_set(functions: Iterable[Migration]) -> Migrations:
    """A set named as the store's, with these migrations in this order."""
    chosen = Migrations(MIGRATIONS.name)
    for function in functions:
        chosen(name=function.__name__)(function)
    return chosen


def _recording(calls: list[str], migration: Migration) -> Migration:
    @functools.wraps(migration)
    def run(db: sqlite_utils.Database) -> None:
        calls.append(migration.__name__)
        migration(db)

    return run


def m999_notes(db: sqlite_utils.Database) -> None:
    db["notes"].create({"id": int, "text": str}, pk="id")


def m999_broken(db: sqlite_utils.Database) -> None:
    db["half_done"].create({"id": int}, pk="id")
    raise RuntimeError("migration failed halfway")


# --- migrations ----------------------------------------------------------------------------------


def _names(migrations: list[Migration]) -> list[str]:
    return [m.__name__ for m in migrations]


def test_migration_names_are_numbered_in_order() -> None:
    names = _names(released())
    assert names[:2] == ["m001_catalogue", "m002_faq"]
    assert [name[:4] for name in names] == [f"m{i:03d}" for i in range(1, len(names) + 1)]


def test_store_fresh_database_has_all_migrations(store: Store) -> None:
    assert store.applied_migrations() == _names(released())
    tables = set(store.db.table_names())
    assert {"tracks", "problems", "meta", "faq", "_sqlite_migrations"} <= tables
    assert "_migrations" not in tables


def test_store_migrate_twice_applies_nothing(store: Store) -> None:
    assert store.migrate() == []
    assert store.applied_migrations() == _names(released())


def test_store_migrations_run_in_order() -> None:
    calls: list[str] = []
    Store(":memory:", migrations=migration_set(_recording(calls, m) for m in released()))
    assert calls == _names(released())


def test_store_reopen_applies_only_new_migrations(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    Store(path)
    calls: list[str] = []
    grown = migration_set(_recording(calls, m) for m in [*released(), m999_notes])

    reopened = Store(path, migrations=grown)
    assert calls == ["m999_notes"]
    assert reopened.applied_migrations() == [*_names(released()), "m999_notes"]

    Store(path, migrations=grown)
    assert calls == ["m999_notes"]  # once only


def test_store_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    Store(path)
    with pytest.raises(RuntimeError, match="halfway"):
        Store(path, migrations=migration_set([*released(), m999_broken]))
    reopened = Store(path)
    assert "half_done" not in reopened.db.table_names()
    assert reopened.applied_migrations() == _names(released())


# --- databases made before sqlite-utils' Migrations ----------------------------------------------


def _contents(path: Path) -> dict[str, Any]:
    """Every table but the migration records: its schema and its rows."""
    db = sqlite_utils.Database(path)
    try:
        return {
            name: (db[name].schema, list(db[name].rows))
            for name in db.table_names()
            if name not in ("_migrations", "_sqlite_migrations")
        }
    finally:
        db.close()


def _legacy_file(tmp_path: Path) -> Path:
    """The database the store wrote before it used sqlite-utils' Migrations (tests/data/store/
    legacy.sql, dumped from it): every table holds rows, `_migrations` lists m001…m009."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SQL.read_text(encoding="utf-8"))
    conn.close()
    return path


def _old_runner(path: Path, migrations: list[Migration]) -> None:
    """What the store's own runner did, for a database made by an older release: each migration
    in its transaction, its name and time in `_migrations`."""
    db = sqlite_utils.Database(path)
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for migration in migrations:
        with db.atomic():
            migration(db)
            db["_migrations"].insert(
                {"name": migration.__name__, "applied_at": "2024-05-01T08:00:00+00:00"}
            )
    db.close()


def test_store_upgrades_a_database_made_before_migrations_in_place(tmp_path: Path) -> None:
    path = _legacy_file(tmp_path)
    old = sqlite_utils.Database(path)
    legacy = [
        (r["name"], r["applied_at"]) for r in old["_migrations"].rows_where(order_by="rowid")
    ]
    old.close()
    before = _contents(path)
    assert _names(released()) == [name for name, _ in legacy]

    store = Store(path)

    applied = [(m.name, m.applied_at) for m in MIGRATIONS.applied(store.db)]
    assert applied == legacy  # each with the time it was first applied
    assert "_migrations" not in store.db.table_names()
    store.close()
    assert _contents(path) == before  # no table, index or row changed or lost
    reopened = Store(path)
    ticket = reopened.tickets.get(1)
    assert ticket is not None and ticket.status == TicketStatus.ANSWERED
    assert ticket.guesses == ("faq:1",) and ticket.answer == "在武汉。"
    assert [e.question for e in reopened.faq.all()] == ["决赛在哪里举行？"]
    assert reopened.deliveries.counts(1)["sent"] == 1
    sub = reopened.subscriptions.get(1001)
    assert sub is not None and (sub.tracks, sub.team, sub.active) == (("3",), "数据先锋队", True)


def test_store_upgrade_run_twice_changes_nothing(tmp_path: Path) -> None:
    path = _legacy_file(tmp_path)
    Store(path).close()
    after_first = _contents(path), list(sqlite_utils.Database(path)["_sqlite_migrations"].rows)

    again = Store(path)
    assert again.migrate() == []
    again.close()
    Store(path).close()

    assert (_contents(path), list(sqlite_utils.Database(path)["_sqlite_migrations"].rows)) == (
        after_first
    )


def test_store_upgrades_an_older_database_and_applies_what_it_lacks(
    tmp_path: Path, catalogue: Catalogue
) -> None:
    path = tmp_path / "older.db"
    _old_runner(path, released()[:6])  # a release before chat context, digests and vectors
    older = sqlite_utils.Database(path)
    older["faq"].insert({"question": "报名截止时间？", "answer": "6 月 10 日", "created_at": "x",
                         "updated_at": "x"})  # fmt: skip
    older.close()

    store = Store(path)

    assert store.applied_migrations() == _names(released())
    times = {m.name: m.applied_at for m in MIGRATIONS.applied(store.db)}
    assert times["m006_inbox"] == "2024-05-01T08:00:00+00:00"  # carried over
    assert times["m007_chat_context"] != times["m006_inbox"]  # applied now
    assert [e.answer for e in store.faq.all()] == ["6 月 10 日"]
    store.context.remember(1001, "3-4")
    assert store.context.last_shown(1001) == "3-4"


def test_store_close_closes_the_connection(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    store.close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.db.execute("SELECT 1")


def test_store_file_database_uses_wal(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- loading the catalogue -----------------------------------------------------------------------


def test_load_catalogue_first_load_inserts_everything(store: Store, catalogue: Catalogue) -> None:
    assert store.catalogue.load(catalogue) == LoadReport(ROWS, 0, 0, 0)
    assert store.catalogue.get() == catalogue


def test_load_catalogue_is_idempotent(store: Store, catalogue: Catalogue) -> None:
    store.catalogue.load(catalogue)
    before = _rows(store)
    assert store.catalogue.load(catalogue) == LoadReport(0, 0, 0, ROWS)
    assert _rows(store) == before


def test_load_catalogue_changed_seed_updates_and_removes(
    store: Store, catalogue: Catalogue
) -> None:
    store.catalogue.load(catalogue)
    old_description = catalogue.problem("3-4").description  # type: ignore[union-attr]
    dropped = "赛题5：促进农业生产抗风险能力提高"
    text = (
        SEED_TEXT.replace(old_description, "自动驾驶赛题的新描述。")
        .replace("数据要素×商贸流通", "数据要素×商贸服务")
        .split(dropped)[0]  # 8-5 is the last problem of the seed
    )
    changed = parse_catalogue(text)

    report = store.catalogue.load(changed)

    assert report == LoadReport(inserted=0, updated=2, deleted=1, unchanged=ROWS - 3)
    stored = store.catalogue.get()
    assert stored == changed
    assert stored.problem("3-4").description == "自动驾驶赛题的新描述。"  # type: ignore[union-attr]
    assert stored.problem("8-5") is None
    assert stored.track("2").name == "商贸服务"  # type: ignore[union-attr]
    assert stored.track("2").heading == "赛道二：数据要素×商贸服务"  # type: ignore[union-attr]
    assert store.db["problems"].count == 34


def test_load_catalogue_drops_a_vanished_track_with_its_problems(
    store: Store, catalogue: Catalogue
) -> None:
    store.catalogue.load(catalogue)
    shorter = parse_catalogue(SEED_TEXT.split("赛道八")[0])

    assert store.catalogue.load(shorter) == LoadReport(0, 0, 6, ROWS - 6)
    assert [t.id for t in store.catalogue.get().tracks] == ["1", "2", "3", "4", "5", "6", "7"]
    assert store.db["problems"].count == 30


def test_load_catalogue_adds_a_new_problem(store: Store, catalogue: Catalogue) -> None:
    store.catalogue.load(catalogue)
    extra = Problem("2-4", "2", 4, "新赛题", "新描述。")
    problems = tuple(sorted((*catalogue.problems, extra), key=lambda p: (p.track_id, p.number)))
    grown = dataclasses.replace(catalogue, problems=problems)

    assert store.catalogue.load(grown) == LoadReport(1, 0, 0, ROWS)
    assert store.catalogue.get().problem("2-4") == extra


def test_load_catalogue_failure_leaves_database_unchanged(
    store: Store, catalogue: Catalogue
) -> None:
    store.catalogue.load(catalogue)
    before = _rows(store)
    # A renamed track is written first; the orphan problem then breaks the foreign key.
    tracks = tuple(
        dataclasses.replace(t, name="改名") if t.id == "1" else t for t in catalogue.tracks
    )
    orphan = Problem("9-1", "9", 1, "孤儿赛题", "没有赛道。")
    broken = dataclasses.replace(
        catalogue, title="新标题", tracks=tracks, problems=(*catalogue.problems, orphan)
    )

    with pytest.raises(sqlite3.IntegrityError):
        store.catalogue.load(broken)

    assert _rows(store) == before
    assert store.catalogue.get() == catalogue


def test_load_catalogue_stores_title_and_intro(store: Store, catalogue: Catalogue) -> None:
    store.catalogue.load(catalogue)
    stored = store.catalogue.get()
    assert stored.title == "2024年“数据要素×”大赛湖北分赛赛题"
    assert stored.intro == catalogue.intro


def test_store_catalogue_empty_before_loading(store: Store) -> None:
    empty = store.catalogue.get()
    assert (empty.title, empty.tracks, empty.problems) == ("", (), ())


def test_store_transaction_rolls_back_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.faq.add("问题", "答案")
        raise RuntimeError("boom")
    assert store.faq.all() == []


# --- FAQ -----------------------------------------------------------------------------------------


def test_add_faq_returns_stored_entry(store: Store) -> None:
    entry = store.faq.add("可以跨赛道报名吗？", "不可以。", ticket_id=7)
    assert (entry.question, entry.answer, entry.ticket_id) == ("可以跨赛道报名吗？", "不可以。", 7)
    assert entry.created_at == entry.updated_at
    assert store.faq.get(entry.id) == entry
    assert store.faq.all() == [entry]


def test_add_faq_without_ticket(store: Store) -> None:
    entry = store.faq.add("问", "答")
    assert entry.ticket_id is None


def test_faq_entries_in_id_order(store: Store) -> None:
    first = store.faq.add("问一", "答一")
    second = store.faq.add("问二", "答二")
    assert [e.id for e in store.faq.all()] == [first.id, second.id]
    assert second.id > first.id


def test_edit_faq_changes_only_given_fields(store: Store) -> None:
    entry = store.faq.add("旧问题", "旧答案")

    edited = store.faq.edit(entry.id, answer="新答案")
    assert edited is not None
    assert (edited.question, edited.answer) == ("旧问题", "新答案")
    assert edited.created_at == entry.created_at
    assert edited.updated_at >= entry.updated_at

    edited = store.faq.edit(entry.id, question="新问题")
    assert edited is not None
    assert (edited.question, edited.answer) == ("新问题", "新答案")
    assert store.faq.get(entry.id) == edited


def test_edit_faq_missing_entry_returns_none(store: Store) -> None:
    assert store.faq.edit(404, answer="x") is None
    assert store.faq.all() == []


def test_delete_faq(store: Store) -> None:
    keep = store.faq.add("留下", "答")
    gone = store.faq.add("删除", "答")
    assert store.faq.delete(gone.id) is True
    assert store.faq.get(gone.id) is None
    assert store.faq.all() == [keep]
    assert store.faq.delete(gone.id) is False


def test_faq_entry_missing_returns_none(store: Store) -> None:
    assert store.faq.get(1) is None


# --- chat context --------------------------------------------------------------------------------

SHOWN_AT = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)


def test_last_shown_is_what_the_chat_was_shown_last(store: Store) -> None:
    store.context.remember(1001, "3", now=SHOWN_AT)
    store.context.remember(1001, "3-4", now=SHOWN_AT + timedelta(minutes=1))
    assert store.context.last_shown(1001, now=SHOWN_AT + timedelta(minutes=2)) == "3-4"
    assert store.db["chat_context"].count == 1  # replaced, not piled up


def test_last_shown_nothing_for_a_chat_never_shown_anything(store: Store) -> None:
    store.context.remember(1001, "3-4", now=SHOWN_AT)
    assert store.context.last_shown(1002, now=SHOWN_AT) is None


def test_last_shown_expires_after_context_minutes(store: Store) -> None:
    store.context.remember(1001, "3-4", now=SHOWN_AT)
    assert CONTEXT_MINUTES == 30
    on_the_edge = SHOWN_AT + timedelta(minutes=CONTEXT_MINUTES)
    assert store.context.last_shown(1001, now=on_the_edge) == "3-4"
    assert store.context.last_shown(1001, now=on_the_edge + timedelta(seconds=1)) is None


def test_last_shown_max_age_is_the_callers(store: Store) -> None:
    store.context.remember(1001, "5", now=SHOWN_AT)
    later = SHOWN_AT + timedelta(minutes=10)
    assert store.context.last_shown(1001, 5, now=later) is None
    assert store.context.last_shown(1001, 15, now=later) == "5"


def test_last_shown_a_new_view_starts_the_clock_again(store: Store) -> None:
    store.context.remember(1001, "3-4", now=SHOWN_AT)
    store.context.remember(1001, "3-4", now=SHOWN_AT + timedelta(minutes=25))
    assert store.context.last_shown(1001, now=SHOWN_AT + timedelta(minutes=50)) == "3-4"


def test_last_shown_without_now_uses_the_current_time(store: Store) -> None:
    store.context.remember(1001, "3-4")
    assert store.context.last_shown(1001) == "3-4"
    store.context.remember(1001, "3-4", now=datetime.now(UTC) - timedelta(minutes=31))
    assert store.context.last_shown(1001) is None


def test_last_shown_group_members_each_have_their_own(store: Store) -> None:
    group = -100777
    store.context.remember(group, "3-4", user_id=1001, now=SHOWN_AT)
    store.context.remember(group, "5", user_id=2002, now=SHOWN_AT)
    assert store.context.last_shown(group, user_id=1001, now=SHOWN_AT) == "3-4"
    assert store.context.last_shown(group, user_id=2002, now=SHOWN_AT) == "5"
    assert store.context.last_shown(group, user_id=3003, now=SHOWN_AT) is None
    # 1001's private chat is another conversation.
    assert store.context.last_shown(1001, now=SHOWN_AT) is None


def test_last_shown_private_chat_is_keyed_by_the_chat(store: Store) -> None:
    store.context.remember(1001, "3-4", user_id=1001, now=SHOWN_AT)
    assert store.context.last_shown(1001, now=SHOWN_AT) == "3-4"


def test_last_shown_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    first = Store(path)
    first.context.remember(1001, "3-4")
    first.close()
    assert Store(path).context.last_shown(1001) == "3-4"


# --- persistence ---------------------------------------------------------------------------------


def test_store_data_survives_reopening(tmp_path: Path, catalogue: Catalogue) -> None:
    path = tmp_path / "nested" / "bot.db"
    first = Store(path)
    first.catalogue.load(catalogue)
    entry = first.faq.add("报名截止时间？", "以官网通知为准。")
    del first

    second = Store(path)
    assert second.catalogue.get() == catalogue
    assert second.faq.all() == [entry]
    assert second.catalogue.load(catalogue) == LoadReport(0, 0, 0, ROWS)


def test_db_path_from_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTEST_BOT_DB", raising=False)
    assert db_path_from_env() == DEFAULT_DB == Path("data/contest-bot.db")


def test_db_path_from_env_empty_means_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEST_BOT_DB", "")
    assert db_path_from_env() == DEFAULT_DB


def test_db_path_from_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONTEST_BOT_DB", str(tmp_path / "x" / "y.db"))
    assert db_path_from_env() == tmp_path / "x" / "y.db"


def test_store_default_path_is_relative_to_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CONTEST_BOT_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    Store(db_path_from_env())  # creates data/ on the way
    assert (tmp_path / "data" / "contest-bot.db").is_file()


# --- sentence vectors ----------------------------------------------------------------------------


def test_store_kept_vectors_are_read_back_after_a_restart_not_embedded_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    first = CountingEmbedder()
    kept = Remembering(first, Store(path).embeddings).embed_kept(["报名截止", "决赛地点"])
    assert first.asked == ["报名截止", "决赛地点"]

    second = CountingEmbedder()
    again = Remembering(second, Store(path).embeddings).embed_kept(
        ["决赛地点", "报名截止", "新问题"]
    )
    assert second.asked == ["新问题"]  # only what was never kept
    assert again[0].tolist() == kept[1].tolist() and again[1].tolist() == kept[0].tolist()


def test_store_plain_embeddings_are_remembered_in_memory_but_not_kept(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    remembering = Remembering(inner, Store(tmp_path / "bot.db").embeddings)
    remembering.embed(["问题"])
    remembering.embed(["问题"])
    assert inner.asked == ["问题"]
    assert Store(tmp_path / "bot.db").embeddings.stored("counting", ["问题"]) == {}


def test_store_a_question_remembered_then_kept_reaches_the_database(tmp_path: Path) -> None:
    inner = CountingEmbedder()
    remembering = Remembering(inner, Store(tmp_path / "bot.db").embeddings)
    remembering.embed(["问题"])  # asked: memory only
    remembering.embed_kept(["问题"])  # became a ticket: worth keeping
    assert inner.asked == ["问题"]
    assert set(Store(tmp_path / "bot.db").embeddings.stored("counting", ["问题"])) == {"问题"}


# --- off the event loop --------------------------------------------------------------------------


async def test_store_run_works_on_the_stores_own_thread(store: Store) -> None:
    loop_thread = threading.get_ident()
    entry = await store.run(lambda db: db.faq.add("决赛在哪里？", "武汉。"))
    where = await store.run(lambda db: threading.current_thread().name)
    assert where.startswith("store") and threading.get_ident() == loop_thread
    assert await store.run(lambda db: db.faq.get(entry.id)) == entry


async def test_store_run_keeps_the_order_calls_were_made_in(store: Store) -> None:
    writes = [store.run(lambda db, n=n: db.faq.add(f"问题{n}", "答")) for n in range(50)]
    await asyncio.gather(*writes)
    assert [e.question for e in store.faq.all()] == [f"问题{n}" for n in range(50)]


async def test_store_run_finishes_a_write_whose_caller_was_cancelled(store: Store) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_write(db: Store) -> None:
        started.set()
        release.wait(5)
        db.faq.add("写到一半", "调用方已取消")

    call = asyncio.ensure_future(store.run(slow_write))
    await asyncio.to_thread(started.wait, 5)
    call.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await store.run(lambda db: [e.question for e in db.faq.all()]) == ["写到一半"]


async def test_store_counts_calls_made_on_the_watched_event_loop(store: Store) -> None:
    store.watch_loop()
    await store.run(lambda db: db.faq.all())  # on the store's thread: fine
    assert store.calls_on_loop == 0
    store.faq.all()  # on the event loop: counted
    assert store.calls_on_loop == 1
    store.watch_loop(False)
    store.faq.all()
    assert store.calls_on_loop == 1


def test_store_rows_become_dataclasses_by_their_fields_types(store: Store) -> None:
    question = store.questions.log(1001, 1001, "决赛在哪里？", "escalate", ["faq:3"], 0.2)
    ticket, _ = store.tickets.create(
        question, user_name="小明", username=None, lang="zh", guesses=["3-4", "3"]
    )
    assert ticket.status is TicketStatus.OPEN  # the enum, not the bare text
    assert (ticket.guesses, question.ids) == (("3-4", "3"), ("faq:3",))  # tuples from JSON
    store.db["tickets"].update(ticket.id, {"guesses": None, "lang": None})  # as old rows are
    old = store.tickets.get(ticket.id)
    assert old is not None and (old.guesses, old.lang) == ((), "zh")
    sub = store.subscriptions.ensure(1001, kind=ChatKind.PRIVATE, name="小明", lang="zh")
    assert sub.active is False and sub.all_tracks is False and sub.kind is ChatKind.PRIVATE


async def test_store_run_waits_for_a_transaction_another_thread_holds(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.db")
    inside, leave, started = threading.Event(), threading.Event(), threading.Event()

    def other_thread() -> None:  # a FAQ rebuild's worker thread, say, writing vectors
        with store.transaction():
            store.faq.add("另一个线程写的", "答")
            inside.set()
            leave.wait(5)

    def job(db: Store) -> None:
        started.set()
        db.faq.add("店的线程写的", "答")

    worker = threading.Thread(target=other_thread)
    worker.start()
    await asyncio.to_thread(inside.wait, 5)
    call = asyncio.ensure_future(store.run(job))
    await asyncio.to_thread(started.wait, 5)
    leave.set()
    await asyncio.to_thread(worker.join, 5)
    await call
    assert sorted(e.question for e in store.faq.all()) == ["另一个线程写的", "店的线程写的"]


async def test_store_run_commits_calls_that_queue_up_together(store: Store) -> None:
    def fails(db: Store) -> None:
        db.faq.add("失败的调用写的", "撤销")
        raise ValueError("this call fails")

    calls = [store.run(lambda db, n=n: db.faq.add(f"问题{n}", "答")) for n in range(20)]
    outcomes = await asyncio.gather(*calls[:10], store.run(fails), *calls[10:],
                                    return_exceptions=True)  # fmt: skip
    assert [type(o) for o in outcomes].count(ValueError) == 1
    # The failing call's write is undone; the others, in the same transaction, are kept.
    assert [e.question for e in store.faq.all()] == [f"问题{n}" for n in range(20)]
    assert store._thread is not None and store._thread.batched_calls > 1
