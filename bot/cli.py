"""The `contest-bot` command line: run the bot, and query the knowledge base without Telegram."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import yaml

from bot.config import ConfigError, Settings
from bot.telegram_text import MAX_CAPTION_LENGTH, to_plain, utf16_len
from knowledge.base import KnowledgeBase
from knowledge.catalogue import CatalogueError
from knowledge.evaluation import devset, evaluate, evaluate_faq, read_cases, read_faq_set
from knowledge.matcher import Answer
from knowledge.render import render_problem, render_track, render_tracks
from knowledge.store import EXPORTS, Export, Store, db_path_from_env


def open_knowledge() -> KnowledgeBase:
    """The store at CONTEST_BOT_DB with the seed catalogue loaded."""
    return KnowledgeBase(Store(db_path_from_env()))


def answer_json(kb: KnowledgeBase, question: str) -> dict[str, object]:
    answer: Answer = kb.ask(question)
    return {
        "q": question,
        "intent": answer.intent,
        "ids": list(answer.ids),
        "score": answer.score,
        "reply": to_plain(kb.reply(answer)),
    }


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    kb = open_knowledge()
    if args.jsonl is not None:
        source = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")  # noqa: SIM115
        with source:
            for line_no, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    question = str(json.loads(line)["q"])
                except (ValueError, KeyError, TypeError):
                    print(
                        f'line {line_no}: expected a JSON object with a "q" field', file=sys.stderr
                    )
                    return 2
                out.write(json.dumps(answer_json(kb, question), ensure_ascii=False) + "\n")
        return 0
    question = " ".join(args.question)
    if not question:
        print("ask: give a QUESTION, or --jsonl FILE", file=sys.stderr)
        return 2
    if args.json:
        out.write(json.dumps(answer_json(kb, question), ensure_ascii=False) + "\n")
    else:
        out.write(to_plain(kb.reply(kb.ask(question))) + "\n")
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO) -> int:
    kb = open_knowledge()
    out.write("输入问题后回车，Ctrl-D 退出。\n")
    while True:
        try:
            question = input("> ")
        except EOFError:
            out.write("\n")
            return 0
        if question.strip():
            out.write(to_plain(kb.reply(kb.ask(question))) + "\n\n")


def cmd_tracks(args: argparse.Namespace, out: TextIO) -> int:
    out.write(to_plain(render_tracks(open_knowledge().catalogue)) + "\n")
    return 0


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    catalogue = open_knowledge().catalogue
    ident = args.id.strip()
    if problem := catalogue.problem(ident):
        out.write(to_plain(render_problem(catalogue, problem)) + "\n")
        return 0
    if track := catalogue.track(ident):
        out.write(to_plain(render_track(catalogue, track)) + "\n")
        return 0
    print(f"show: no track or problem {ident!r} (try 3 or 3-4)", file=sys.stderr)
    return 1


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    kb = open_knowledge()
    cases = read_cases(Path(args.file) if args.file else devset())
    report = evaluate(cases, kb.ask)
    out.write("\n".join(report.lines(verbose=args.verbose)) + "\n")
    return 0


def cmd_eval_faq(args: argparse.Namespace, out: TextIO) -> int:
    """Score an FAQ set: its entries saved in a fresh in-memory store, its questions asked."""
    entries, cases = read_faq_set(Path(args.entries), Path(args.questions))
    kb = KnowledgeBase(Store(":memory:"))
    label = {kb.store.faq.add(question, answer).id: eid for eid, question, answer in entries}
    kb.refresh_faq()

    def ask(question: str) -> Answer:
        answer = kb.ask(question)
        if answer.intent != "faq":
            return answer
        return replace(answer, ids=(f"faq:{label[int(answer.ids[0].removeprefix('faq:'))]}",))

    report = evaluate_faq(cases, ask, lambda q: [label[e.id] for e in kb.similar_faq(q)])
    ranking = "sentence embeddings" if kb.matcher.faq_index.matrix is not None else "words"
    out.write(
        f"FAQ set {Path(args.entries).parent.name}/: {len(entries)} entries, {len(cases)} "
        f"questions; ranking by {ranking}\n"
    )
    out.write("\n".join(report.lines(verbose=args.verbose)) + "\n")
    return 0


def cmd_faq(args: argparse.Namespace, out: TextIO) -> int:
    store = Store(db_path_from_env())
    if args.action == "export":
        entries = [
            {"id": e.id, "question": e.question, "answer": e.answer, "updated_at": e.updated_at}
            for e in store.faq.all()
        ]
        out.write(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False))
        return 0
    if args.action == "import":
        if not args.file:
            print("faq import: give a YAML FILE", file=sys.stderr)
            return 2
        try:
            data = yaml.safe_load(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            print(f"faq import: cannot read {args.file}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(data, list) or not all(
            isinstance(row, dict) and row.get("question") and row.get("answer") for row in data
        ):
            print("faq import: expected a list of {question, answer} mappings", file=sys.stderr)
            return 2
        existing = {e.question: e for e in store.faq.all()}
        added = updated = 0
        for row in data:
            question, answer = str(row["question"]).strip(), str(row["answer"]).strip()
            if question in existing:
                if existing[question].answer != answer:
                    store.faq.edit(existing[question].id, answer=answer)
                    updated += 1
            else:
                store.faq.add(question, answer)
                added += 1
        out.write(f"imported: {added} added, {updated} updated\n")
        return 0
    for e in store.faq.all():
        out.write(f"#{e.id} {e.question}\n    {e.answer}\n")
    return 0


def existing_store(command: str) -> Store | None:
    """The store at CONTEST_BOT_DB if the file exists; None (and a message) otherwise."""
    path = db_path_from_env()
    if not path.is_file():
        print(f"{command}: no database at {path} (set CONTEST_BOT_DB)", file=sys.stderr)
        return None
    return Store(path)


def write_export(export: Export, fmt: str, out: TextIO) -> None:
    """JSON: a list of objects. CSV: a header row, then one row per record."""
    if fmt == "json":
        out.write(json.dumps(export.rows, ensure_ascii=False, indent=2) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=export.columns, lineterminator="\n")
    if export.columns:
        writer.writeheader()
    writer.writerows(export.rows)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    store = existing_store("export")
    if store is None:
        return 1
    try:
        export = store.export(args.what)
    finally:
        store.close()
    if export.table is None:
        print(f"export: no {args.what} in this database yet", file=sys.stderr)
    if args.output is None:
        write_export(export, args.format, out)
    else:
        # Excel opens a CSV file as UTF-8 only with a byte order mark.
        encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
        with open(args.output, "w", encoding=encoding, newline="") as file:
            write_export(export, args.format, file)
        print(f"{len(export.rows)} {args.what} rows written to {args.output}", file=sys.stderr)
    return 0


def cmd_backup(args: argparse.Namespace, out: TextIO) -> int:
    store = existing_store("backup")
    if store is None:
        return 1
    try:
        path = store.backup(Path(args.path))
    except (OSError, sqlite3.Error) as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    out.write(f"backed up to {path} ({path.stat().st_size} bytes)\n")
    return 0


def cmd_restore(args: argparse.Namespace, out: TextIO) -> int:
    """Put a backup where CONTEST_BOT_DB points; the database there is kept aside, not lost."""
    source, target = Path(args.backup), db_path_from_env()
    try:
        check = sqlite3.connect(f"file:{quote(source.resolve().as_posix())}?mode=ro", uri=True)
        try:
            (result,) = check.execute("PRAGMA integrity_check").fetchone()
            # Its migration records: sqlite-utils' table, or the store's own of older releases.
            tables = {row[0] for row in check.execute("select name from sqlite_master")}
            if not tables & {"_sqlite_migrations", "_migrations"}:
                raise sqlite3.DatabaseError("it has no record of migrations")
        finally:
            check.close()
    except sqlite3.Error as exc:
        print(f"restore: {source} is not a contest-bot backup ({exc})", file=sys.stderr)
        return 1
    if result != "ok":
        print(f"restore: {source} fails its integrity check: {result}", file=sys.stderr)
        return 1
    aside = target.with_name(f"{target.name}.before-restore-{datetime.now():%Y%m%d-%H%M%S}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restore-part")
        shutil.copyfile(source, partial)
        # The live file and its WAL go aside together: a WAL beside another database is damage.
        if target.exists():
            os.replace(target, aside)
        for extra in ("-wal", "-shm"):
            companion = target.with_name(target.name + extra)
            if companion.exists():
                os.replace(companion, aside.with_name(aside.name + extra))
        os.replace(partial, target)
    except OSError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 1
    out.write(f"restored {source} to {target}")
    out.write(f"; the previous database is kept as {aside}\n" if aside.exists() else "\n")
    return 0


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    """The /stats picture of the last N days (TIMEZONE's days) to a PNG; its caption to out."""
    from knowledge.chart import draw_report
    from knowledge.report import build_report, caption

    try:
        timezone = Settings.from_env().timezone
    except ConfigError as exc:
        print(f"report: configuration error: {exc}", file=sys.stderr)
        return 2
    store = existing_store("report")
    if store is None:
        return 1
    try:
        report = build_report(store, args.days, timezone, datetime.now(UTC))
    finally:
        store.close()
    png = draw_report(report)
    try:
        Path(args.output).write_bytes(png)
    except OSError as exc:
        print(f"report: cannot write {args.output}: {exc}", file=sys.stderr)
        return 1
    out.write(caption(report, MAX_CAPTION_LENGTH, utf16_len) + "\n")
    print(f"chart written to {args.output} ({len(png)} bytes)", file=sys.stderr)
    return 0


def days_arg(value: str) -> int:
    from knowledge.report import MAX_DAYS

    if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"a number of days from 1 to {MAX_DAYS}")
    return int(value)


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from bot.main import run

    return run(args.mode)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contest-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the bot (the local sandbox when no token is set)")
    run.add_argument(
        "--mode",
        choices=["auto", "polling", "webhook"],
        default="auto",
        help="auto: webhook when WEBHOOK_URL is set, else polling (default)",
    )
    sub.add_parser("chat", help="ask questions at an interactive prompt")

    ask = sub.add_parser("ask", help="print the reply to a question")
    ask.add_argument("question", nargs="*")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument(
        "--jsonl", nargs="?", const="-", metavar="FILE", help="JSON lines with a q field"
    )

    sub.add_parser("tracks", help="print the tracks")
    show = sub.add_parser("show", help="print a track (3) or a problem (3-4)")
    show.add_argument("id")

    faq = sub.add_parser("faq", help="FAQ entries: list, import FILE (YAML), export")
    faq.add_argument("action", choices=["list", "import", "export"])
    faq.add_argument("file", nargs="?")

    export = sub.add_parser("export", help="write tickets, faq, subscribers or broadcasts")
    export.add_argument("what", choices=list(EXPORTS))
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("-o", "--output", metavar="FILE", help="a file instead of stdout")

    report = sub.add_parser("report", help="draw the /stats chart of the last days to a PNG")
    report.add_argument("--days", type=days_arg, default=7, help="how many days (default 7)")
    report.add_argument("-o", "--output", metavar="FILE", default="report.png")

    backup = sub.add_parser("backup", help="copy the database to PATH while the bot runs")
    backup.add_argument("path", metavar="PATH", help="a file, or a folder for a dated file")
    restore = sub.add_parser(
        "restore", help="put a backup back at CONTEST_BOT_DB (stop the bot first)"
    )
    restore.add_argument("backup", metavar="FILE", help="a file `backup` or BACKUP_DIR holds")

    ev = sub.add_parser("eval", help="score a labelled question set")
    ev.add_argument("file", nargs="?", help="JSON lines (default: the development set)")
    ev.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    ef = sub.add_parser("eval-faq", help="score an FAQ set (entries and labelled questions)")
    ef.add_argument("entries")
    ef.add_argument("questions")
    ef.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    return parser


COMMANDS = {
    "run": cmd_run,
    "eval-faq": cmd_eval_faq,
    "chat": cmd_chat,
    "ask": cmd_ask,
    "tracks": cmd_tracks,
    "show": cmd_show,
    "eval": cmd_eval,
    "faq": cmd_faq,
    "export": cmd_export,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "report": cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, sys.stdout)
    except CatalogueError as exc:
        print(f"contest-bot: the seed catalogue cannot be read: {exc}", file=sys.stderr)
        return 1
