"""The FAQ that learns: 存为FAQ after an answer, /faq list|add|edit|del for organizers, and the
`contest-bot faq import|export` YAML round trip — end to end over the emulator and as a process."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    CONTESTANT,
    ORGANIZER,
    ORGANIZER_GROUP,
    World,
    buttons,
    lead,
    says,
    start_world,
    stop_world,
)
from test_tickets import (
    PRIZE,
    REFUSAL,
    XIAOHONG,
    answer_of,
    ask_organizers,
    bot_says,
    command,
    forge,
    reply_in_group,
)

GROUP = ORGANIZER_GROUP
CLI = Path(sys.executable).parent / "contest-bot"
TEAM_FAQ = "队伍最多几个人 | 每队最多 5 人。"


def faq_reply(date: str, question: str, answer: str) -> str:
    """An answer from the FAQ as the contestant reads it."""
    return says("reply.faq", date=date, question=html.escape(question), answer=html.escape(answer))


# --- 存为FAQ: an answer becomes knowledge --------------------------------------------------------


async def test_saved_answer_answers_the_next_similar_question_at_once(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    ticket_id, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    post = world.emulator.message(GROUP, post.message_id)
    pressed = await world.press(post, "存为FAQ", ORGANIZER)
    assert pressed.text == says("faq.saved_toast", faq_id=1)
    saved_text = says("tickets.faq_saved", id=ticket_id, faq_id=1)
    saved = await bot_says(world, GROUP, saved_text.split("\n")[0])
    assert saved.text == saved_text
    post = world.emulator.message(GROUP, post.message_id)
    assert says("tickets.post_faq", faq_id=1) in post.text and buttons(post) == []
    (entry,) = world.store.faq.all()
    assert (entry.question, entry.answer, entry.ticket_id) == (PRIZE, "一等奖奖金 10 万元。", 1)

    (reply,) = await world.say("一等奖奖金有多少钱？", XIAOHONG)
    assert reply.text == faq_reply(entry.updated_at[:10], PRIZE, "一等奖奖金 10 万元。")
    assert buttons(reply) == [says("tickets.ask_button"), says("nav.home")]
    logged = world.store.db.execute("select intent, ids from questions order by id").fetchall()
    assert logged[-1] == ("faq", '["faq:1"]')
    assert len(world.store.tickets.rows()) == 1  # answered without the organizers

    # Saving twice, or saving an unanswered ticket, changes nothing.
    again = await forge(world, ORGANIZER, GROUP, post.message_id, f"tk:faq:{ticket_id}")
    assert again.text == says("faq.already", faq_id=1)
    open_id, open_post = await ask_organizers(world, "决赛在哪里举办？", XIAOHONG)
    refused = await forge(world, ORGANIZER, GROUP, open_post.message_id, f"tk:faq:{open_id}")
    assert (refused.text, refused.show_alert) == (says("tickets.faq_needs_answer"), True)
    assert len(world.store.faq.all()) == 1


async def test_ask_button_under_a_faq_answer_still_reaches_the_organizers(world: World) -> None:
    await command(world, f"/faq add {PRIZE} | 一等奖奖金 10 万元。")
    (reply,) = await world.say("一等奖奖金有多少钱？")
    await world.press(reply, "问组委会")
    offer = await bot_says(world, CONTESTANT.id, says("tickets.similar"), after=reply.message_id)
    assert f"📖 {PRIZE}" in buttons(offer)
    await world.press(offer, "提交给组委会")
    done = await bot_says(world, CONTESTANT.id, lead("tickets.submitted"), after=offer.message_id)
    assert done.text == says("tickets.submitted", id=1)
    assert world.store.tickets.get(1).question == "一等奖奖金有多少钱？"  # type: ignore[union-attr]


async def test_offer_does_not_list_a_saved_answer_twice(world: World) -> None:
    world.emulator.add_user(XIAOHONG)
    _, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    await world.press(world.emulator.message(GROUP, post.message_id), "存为FAQ", ORGANIZER)
    (reply,) = await world.say("一等奖奖金有多少钱？", XIAOHONG)
    await world.press(reply, "问组委会", XIAOHONG)
    offer = await bot_says(world, XIAOHONG.id, says("tickets.similar"), after=reply.message_id)
    assert buttons(offer) == [f"📖 {PRIZE}", says("tickets.submit"), says("nav.home")]


@pytest.mark.parametrize(
    ("faq", "question"),
    [
        ("决赛在哪里举办？ | 决赛在北京举办。", "决赛什么时候举办"),
        ("一等奖奖金是多少？ | 一等奖奖金 10 万元。", "一等奖有几个名额"),
    ],
)
async def test_faq_does_not_answer_a_different_question_on_the_same_subject(
    world: World, faq: str, question: str
) -> None:
    await command(world, f"/faq add {faq}")
    (reply,) = await world.say(question)
    assert not reply.text.startswith(lead("reply.faq")), reply.text
    assert says("tickets.submit") in buttons(reply)  # offered to the organizers


# --- /faq for organizers ----------------------------------------------------------------------


async def test_faq_add_list_and_usage(world: World) -> None:
    assert await command(world, "/faq") == says("faq.none")
    usage = await command(world, "/faq add 没有分隔符")
    assert usage == says("faq.usage")
    assert await command(world, "/faq frobnicate") == usage
    assert world.store.faq.all() == []
    assert await command(world, f"/faq add {TEAM_FAQ}") == says("faq.added", id=1)
    added = await command(world, "/faq add <b>证书</b> & 奖杯 | 有 <i>纸质</i> 证书")
    assert added == says("faq.added", id=2)
    listed = await command(world, "/faq list")
    assert listed == (
        f"{says('faq.list_head', n=2)}\n#1 队伍最多几个人\n  → 每队最多 5 人。\n"
        "#2 <b>证书</b> & 奖杯\n  → 有 <i>纸质</i> 证书"
    )
    # Works in a private chat with an organizer too, and takes effect for the next question.
    in_private = await command(world, "/faq", ORGANIZER, ORGANIZER.id)
    assert in_private.startswith(says("faq.list_head", n=2))
    (reply,) = await world.say("每队最多几人？")
    assert reply.text.endswith("每队最多 5 人。")


async def test_faq_edit_rewording_the_question_changes_what_it_answers(world: World) -> None:
    await command(world, f"/faq add {TEAM_FAQ}")
    (before,) = await world.say("每队最多几位指导老师")  # advisers, not members
    assert says("tickets.submit") in buttons(before)  # offered to the organizers
    edited = await command(world, "/faq edit 1 指导老师最多几位？ |")
    assert edited == says("faq.edited", id=1, question="指导老师最多几位？")
    (entry,) = world.store.faq.all()
    assert (entry.question, entry.answer) == ("指导老师最多几位？", "每队最多 5 人。")
    (after,) = await world.say("每队最多几位指导老师")
    assert after.text == faq_reply(entry.updated_at[:10], "指导老师最多几位？", "每队最多 5 人。")

    answer_edited = await command(world, "/faq edit 1 | 每队 3 到 5 人。")
    assert answer_edited == says("faq.edited", id=1, question="指导老师最多几位？")
    (answer_only,) = await world.say("每队最多几位指导老师")
    assert answer_only.text.endswith("每队 3 到 5 人。")
    assert await command(world, "/faq edit 99 新问题 | 新答案") == says("faq.no_such", id=99)
    assert await command(world, "/faq edit 1") == says("faq.usage")
    assert [e.answer for e in world.store.faq.all()] == ["每队 3 到 5 人。"]


async def test_faq_del_stops_answering_from_it(world: World) -> None:
    await command(world, f"/faq add {TEAM_FAQ}")
    (answered,) = await world.say("每队最多几人")
    assert answered.text.startswith(lead("reply.faq"))
    assert await command(world, "/faq del #1") == says("faq.deleted", id=1)
    assert world.store.faq.all() == []
    (escalated,) = await world.say("每队最多几人")
    assert says("tickets.submit") in buttons(escalated)  # offered to the organizers
    assert await command(world, "/faq del 1") == says("faq.no_such", id=1)
    assert await command(world, "/faq del x") == says("faq.usage")


async def test_faq_commands_refused_for_contestants(world: World) -> None:
    await command(world, f"/faq add {TEAM_FAQ}")
    for text in ("/faq list", "/faq add 奖金 | 很多", "/faq edit 1 改 | 改", "/faq del 1"):
        assert await command(world, text, CONTESTANT, CONTESTANT.id) == REFUSAL, text
    (entry,) = world.store.faq.all()
    assert (entry.question, entry.answer) == ("队伍最多几个人", "每队最多 5 人。")


# --- contest-bot faq import / export ----------------------------------------------------------


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `contest-bot` as a user runs it, with CONTEST_BOT_DB pointing at `db`."""
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "CONTEST_BOT_DB": str(db)},
        cwd=db.parent,
        timeout=60,
        check=False,
    )


ENTRIES = [
    {"question": "队伍最多几个人", "answer": "每队最多 5 人。"},
    {"question": "决赛在哪里举办？", "answer": "决赛在北京举办：\n地址另行通知 <待定> & 请留意。"},
]


@pytest.mark.slow
def test_cli_faq_import_export_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "faq.yaml"
    source.write_text(yaml.safe_dump(ENTRIES, allow_unicode=True), encoding="utf-8")
    first_db = tmp_path / "first" / "bot.db"
    first_db.parent.mkdir()
    imported = cli(first_db, "faq", "import", str(source))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "imported: 2 added, 0 updated\n"

    exported = cli(first_db, "faq", "export")
    assert exported.returncode == 0, exported.stderr
    assert "队伍最多几个人" in exported.stdout  # readable, not \u escapes
    rows = yaml.safe_load(exported.stdout)
    assert [{"question": r["question"], "answer": r["answer"]} for r in rows] == ENTRIES
    assert [r["id"] for r in rows] == [1, 2] and all(r["updated_at"] for r in rows)

    # The export is an import file: into a new database, and back out the same.
    dump = tmp_path / "export.yaml"
    dump.write_text(exported.stdout, encoding="utf-8")
    second_db = tmp_path / "second" / "bot.db"
    second_db.parent.mkdir()
    assert cli(second_db, "faq", "import", str(dump)).stdout == "imported: 2 added, 0 updated\n"
    again = yaml.safe_load(cli(second_db, "faq", "export").stdout)
    assert [(r["question"], r["answer"]) for r in again] == [
        (r["question"], r["answer"]) for r in rows
    ]

    # Importing again changes nothing; a changed answer updates the entry in place.
    assert cli(first_db, "faq", "import", str(dump)).stdout == "imported: 0 added, 0 updated\n"
    changed = [{**ENTRIES[0], "answer": "每队 3 到 5 人。"}]
    source.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    assert cli(first_db, "faq", "import", str(source)).stdout == "imported: 0 added, 1 updated\n"
    final = yaml.safe_load(cli(first_db, "faq", "export").stdout)
    assert [(r["id"], r["answer"]) for r in final] == [
        (1, "每队 3 到 5 人。"),
        (2, ENTRIES[1]["answer"]),
    ]


@pytest.mark.slow
def test_cli_faq_import_rejects_a_bad_file_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    bad = tmp_path / "bad.yaml"
    bad.write_text("- question: 只有问题\n", encoding="utf-8")
    result = cli(db, "faq", "import", str(bad))
    assert result.returncode == 2
    assert result.stderr == "faq import: expected a list of {question, answer} mappings\n"
    missing = cli(db, "faq", "import", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    assert yaml.safe_load(cli(db, "faq", "export").stdout) == []


@pytest.mark.e2e
@pytest.mark.slow
async def test_bot_answers_from_an_imported_faq(tmp_path: Path) -> None:
    source = tmp_path / "faq.yaml"
    source.write_text(yaml.safe_dump(ENTRIES, allow_unicode=True), encoding="utf-8")
    imported = cli(tmp_path / "bot.db", "faq", "import", str(source))  # start_world's database
    assert imported.returncode == 0, imported.stderr
    world = await start_world(tmp_path)
    try:
        (reply,) = await world.say("每队最多几人")
        assert reply.text.startswith(lead("reply.faq")) and reply.text.endswith("每队最多 5 人。")
        (listed,) = await world.say("/faq list", ORGANIZER, GROUP)
        assert listed.text.startswith(says("faq.list_head", n=2))
    finally:
        await stop_world(world)


async def test_answer_of_saved_faq_ticket_still_reaches_its_asker(world: World) -> None:
    # Saving as FAQ does not change what the asker received or can see.
    ticket_id, post = await ask_organizers(world, PRIZE)
    await reply_in_group(world, post, "一等奖奖金 10 万元。")
    await world.press(world.emulator.message(GROUP, post.message_id), "存为FAQ", ORGANIZER)
    assert "一等奖奖金 10 万元。" in (await answer_of(world, ticket_id)).text
    mine = await command(world, "/myquestions", CONTESTANT, CONTESTANT.id)
    assert f"#{ticket_id} · {says('tickets.status_answered')}" in mine
    assert f"{says('tickets.answer_label')}：一等奖奖金 10 万元。" in mine
