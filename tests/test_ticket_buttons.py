"""The data of ticket buttons: one typed value (TicketButton) that writes, reads and routes it,
on the wire format the buttons already sent to Telegram use (old posts and offers keep
working)."""

from __future__ import annotations

import pytest
from telegram import CallbackQuery, Update, User
from telegram.ext import Application, CallbackQueryHandler

from handlers import tickets
from handlers.tickets.callbacks import WITH_TARGET, Action, TicketButton

BUTTONS = [TicketButton(a, 42, 7 if a in WITH_TARGET else None) for a in Action]

# Every format a ticket button has ever carried (git log -S'"tk:'), as chats still hold them.
SENT_BEFORE = [
    ("tk:q:12", TicketButton(Action.ASK, 12)),
    ("tk:n:12", TicketButton(Action.SUBMIT, 12)),
    ("tk:f:3", TicketButton(Action.FAQ_ENTRY, 3)),
    ("tk:a:5", TicketButton(Action.ANSWERED, 5)),
    ("tk:claim:5", TicketButton(Action.CLAIM, 5)),
    ("tk:close:5", TicketButton(Action.CLOSE, 5)),
    ("tk:merge:5", TicketButton(Action.MERGE, 5)),
    ("tk:mg:5:2", TicketButton(Action.MERGE_INTO, 5, 2)),
    ("tk:mgs:5", TicketButton(Action.MERGE_SIMILAR, 5)),
    ("tk:faq:5", TicketButton(Action.SAVE_FAQ, 5)),
    ("tk:fn:3", TicketButton(Action.NOTIFY_FAQ, 3)),
]


@pytest.mark.parametrize(("data", "button"), SENT_BEFORE, ids=[d for d, _ in SENT_BEFORE])
def test_button_data_keeps_the_wire_format(data: str, button: TicketButton) -> None:
    assert TicketButton.decode(data) == button
    assert button.encode() == data


def test_every_action_has_a_format_sent_before() -> None:
    """A new action is fine, but then this table (and the docs of Action) learns it too."""
    assert {b.action for _, b in SENT_BEFORE} == set(Action)


@pytest.mark.parametrize("button", BUTTONS, ids=lambda b: b.action.name)
def test_each_pattern_matches_its_own_action_only(button: TicketButton) -> None:
    data = button.encode()
    assert [a for a in Action if TicketButton.pattern(a).match(data)] == [button.action]


@pytest.mark.parametrize(
    "data",
    ["tk:q:", "tk:q:x", "tk:mg:5", "tk:claim:5:2", "tk:zz:5", "bc:all:5", "tk:q:-1", "tk:fn:3 "],
)
def test_decode_refuses_what_no_button_sends(data: str) -> None:
    with pytest.raises(ValueError, match="not a ticket button"):
        TicketButton.decode(data)


def test_encode_refuses_a_wrong_target_and_negative_numbers() -> None:
    with pytest.raises(ValueError, match="takes a target"):
        TicketButton(Action.MERGE_INTO, 1).encode()
    with pytest.raises(ValueError, match="takes no target"):
        TicketButton(Action.CLAIM, 1, 2).encode()
    with pytest.raises(ValueError, match="must not be negative"):
        TicketButton(Action.ASK, -1).encode()


def test_the_longest_data_fits_telegrams_64_bytes() -> None:
    longest = TicketButton(Action.MERGE_INTO, 2**63 - 1, 2**63 - 1).encode()
    assert len(longest.encode()) <= 64


def test_every_button_reaches_exactly_one_handler() -> None:
    app = Application.builder().token("1:test").build()
    tickets.register(app)
    handlers = [h for h in app.handlers[0] if isinstance(h, CallbackQueryHandler)]
    assert len(handlers) == len(Action)
    for data, _ in SENT_BEFORE:
        assert sum(1 for h in handlers if h.check_update(_press(data))) == 1, data


def _press(data: str) -> Update:
    user = User(1, "organizer", is_bot=False)
    return Update(1, callback_query=CallbackQuery("q", user, "chat", data=data))
