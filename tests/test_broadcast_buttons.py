"""The data of broadcast buttons: one typed value (BroadcastButton) that writes, reads and routes
it, on the wire format the buttons already sent to Telegram use (old panels keep working)."""

from __future__ import annotations

import pytest
from telegram import CallbackQuery, Update, User
from telegram.ext import Application, CallbackQueryHandler

from handlers import broadcast
from handlers.broadcast.callbacks import WITH_ARGUMENT, Action, BroadcastButton, team_token

BUTTONS = [
    BroadcastButton(action, 42, team_token("火箭队") if action in WITH_ARGUMENT else None)
    for action in Action
]


@pytest.mark.parametrize(
    ("button", "data"),
    [
        (BroadcastButton(Action.ALL, 7), "bc:all:7"),
        (BroadcastButton(Action.BACK, 7), "bc:back:7"),
        (BroadcastButton(Action.TRACKS, 7), "bc:tr:7"),
        (BroadcastButton(Action.TOGGLE_TRACK, 7, "3"), "bc:tt:7:3"),
        (BroadcastButton(Action.TRACKS_DONE, 7), "bc:td:7"),
        (BroadcastButton(Action.TEAMS, 7), "bc:tms:7"),
        (BroadcastButton(Action.TEAM, 7, "0a1b2c3d4e"), "bc:tm:7:0a1b2c3d4e"),
        (BroadcastButton(Action.CONFIRM, 7), "bc:ok:7"),
        (BroadcastButton(Action.CANCEL, 7), "bc:no:7"),
        (BroadcastButton(Action.STOP, 7), "bc:stop:7"),
        (BroadcastButton(Action.CSV, 7), "bc:csv:7"),
        (BroadcastButton(Action.RESEND, 7), "bc:re:7"),
    ],
)
def test_button_data_keeps_the_wire_format(button: BroadcastButton, data: str) -> None:
    assert button.encode() == data
    assert BroadcastButton.decode(data) == button


@pytest.mark.parametrize("button", BUTTONS, ids=lambda b: b.action.name)
def test_each_pattern_matches_its_own_action_only(button: BroadcastButton) -> None:
    data = button.encode()
    assert [a for a in Action if BroadcastButton.pattern(a).match(data)] == [button.action]


@pytest.mark.parametrize(
    "data", ["bc:all:", "bc:all:x", "bc:tt:7", "bc:all:7:3", "bc:zz:7", "sub:all:7", "bc:tm:7:a-b"]
)
def test_decode_refuses_what_no_button_sends(data: str) -> None:
    with pytest.raises(ValueError, match="not a broadcast button"):
        BroadcastButton.decode(data)


def test_encode_refuses_a_wrong_argument_and_data_over_64_bytes() -> None:
    with pytest.raises(ValueError, match="takes an argument"):
        BroadcastButton(Action.TEAM, 1).encode()
    with pytest.raises(ValueError, match="takes no argument"):
        BroadcastButton(Action.ALL, 1, "3").encode()
    with pytest.raises(ValueError, match="not a word"):
        BroadcastButton(Action.TOGGLE_TRACK, 1, "a:b").encode()
    with pytest.raises(ValueError, match="over 64 bytes"):
        BroadcastButton(Action.TOGGLE_TRACK, 1, "赛" * 20).encode()


def test_every_button_reaches_exactly_one_handler() -> None:
    app = Application.builder().token("1:test").build()
    broadcast.register(app)
    handlers = [h for h in app.handlers[0] if isinstance(h, CallbackQueryHandler)]
    assert len(handlers) == len(Action)
    for button in BUTTONS:
        data = button.encode()
        assert sum(1 for h in handlers if h.check_update(_press(data))) == 1, data


def _press(data: str) -> Update:
    user = User(1, "organizer", is_bot=False)
    return Update(1, callback_query=CallbackQuery("q", user, "chat", data=data))
