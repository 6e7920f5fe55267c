"""The scripted chatbot: validation of the dialogue graph and whole conversations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from safespace.deter import ChatState, DecisionRequest
from safespace.deter._chatbot import load_script
from safespace.errors import ConfigError, InvalidInput

MINIMAL = """
version: 1
id: t
start: a
fallback_text: chat.fallback
nodes:
  a:
    say: [chat.welcome.1]
    buttons:
      - {id: go, label: chat.button.go, next: b}
  b:
    say: [chat.handoff.1]
    help: [self]
    end: true
"""


def _script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "chatbot.yaml"
    path.write_text(text)
    return path


def test_minimal_script_is_valid(tmp_path: Path) -> None:
    script = load_script(_script(tmp_path, MINIMAL))
    assert script.start == "a"
    assert set(script.nodes) == {"a", "b"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("next: b", "next: nowhere"), "nodes.a.buttons.go.next: no node 'nowhere'"),
        (("start: a", "start: zz"), "start: no node 'zz'"),
        (("    help: [self]\n    end: true\n", "    end: true\n"),
         "nodes.b: a node with no way on must be a help node"),
        (("  b:\n", "  c:\n    say: [x]\n    help: [self]\n  b:\n"), "nodes.c: not reachable"),
        (("      - {id: go, label: chat.button.go, next: b}\n",
          "      - {id: go, label: chat.button.go, next: b}\n"
          "      - {id: go, label: chat.button.go, next: b}\n"), "duplicate button id 'go'"),
        (("help: [self]", "help: [everyone]"), "'everyone' is not one of"),
        (("    end: true\n", "    end: true\n    buttons: [{id: x, label: y, next: a}]\n"),
         "an end node has no buttons"),
        (("say: [chat.welcome.1]", "say: []"), "nodes.a.say: must not be empty"),
        (("id: t\n", "id: T T\n"), "is not a valid id"),
    ],
)  # fmt: skip
def test_invalid_scripts(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in MINIMAL
    with pytest.raises(ConfigError) as info:
        load_script(_script(tmp_path, MINIMAL.replace(old, new, 1)))
    assert message in str(info.value)
    assert "chatbot.yaml" in str(info.value)


def test_a_loop_without_a_way_to_help_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "      - {id: go, label: chat.button.go, next: b}\n",
        "      - {id: go, label: chat.button.go, next: b}\n"
        "      - {id: loop, label: chat.button.why, next: c}\n",
    ) + (
        "  c:\n    say: [chat.why.1]\n    buttons: [{id: back, label: chat.button.why, next: d}]\n"
        "  d:\n    say: [chat.why.2]\n    buttons: [{id: back, label: chat.button.why, next: c}]\n"
    )
    with pytest.raises(ConfigError, match=r"nodes\.c: no path from here leads to a help node"):
        load_script(_script(tmp_path, text))


def test_global_intents_count_as_a_way_out(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace("fallback_text: chat.fallback\n", "fallback_text: chat.fallback\n"
                        "intents: [{id: h, keywords: [help], next: b}]\n")
        .replace("      - {id: go, label: chat.button.go, next: b}\n",
                 "      - {id: go, label: chat.button.go, next: c}\n")
        + "  c:\n    say: [chat.why.1]\n"
        + "    buttons: [{id: back, label: chat.button.why, next: c}]\n"
    )  # fmt: skip
    script = load_script(_script(tmp_path, text))
    assert "b" in script.nodes  # reachable only by the free-text intent, and that is enough


def test_bad_chatbot_file_in_operator_folder(make_dir: Any) -> None:
    from safespace.deter import load_data

    folder = make_dir({"chatbot.yaml": MINIMAL.replace("next: b", "next: gone")})
    with pytest.raises(ConfigError, match="no node 'gone'"):
        load_data(folder)


# --- conversations ----------------------------------------------------------------------------


def test_full_conversation_by_buttons_ends_in_help(deterrer: Any) -> None:
    bot = deterrer.chatbot
    turn = bot.start("en", "GB")
    assert turn.node == "welcome"
    assert [b.id for b in turn.buttons] == ["why", "help", "leave"]
    assert "automated" in " ".join(turn.messages)
    path = ["why", "what-now", "call", "anonymous", "go"]
    for button in path:
        state = ChatState.from_dict(json.loads(json.dumps(turn.state.to_dict())))
        turn = bot.reply(state, button=button)
    assert turn.node == "handoff"
    assert turn.ended
    assert turn.help[0].id == "stop-it-now-uk"
    assert turn.help[0].phone == "0808 1000 900"
    assert turn.state.steps == len(path)


def test_free_text_intents(deterrer: Any) -> None:
    bot = deterrer.chatbot
    start = bot.start("en", "US")
    cases = {
        "Is it anonymous?": "anonymous",
        "what happens if I call": "call",
        "I can't stop": "cant_stop",
        "I CANT STOP": "cant_stop",
        "I'd like to report something": "report",
        "ok bye": "leave",
    }
    for text, node in cases.items():
        assert bot.reply(start.state, text=text).node == node, text
    report = bot.reply(start.state, text="report")
    assert [h.id for h in report.help] == ["ncmec-cybertipline", "inhope"]


def test_help_seeking_words_lead_to_help(deterrer: Any) -> None:
    """Someone who writes that they want to stop, in their own words, is never told that the
    bot did not understand: they reach the node about stopping, which leads to help."""
    bot = deterrer.chatbot
    start = bot.start("en", "GB")
    for text in (
        "i want to stop",
        "I WANT TO STOP",
        "how do I stop?",
        "please help me stop this",
        "I really need to stop",
        "i'm worried about my thoughts",
        "what should I do",
    ):
        turn = bot.reply(start.state, text=text)
        assert turn.understood, text
        assert turn.node == "cant_stop", text
        assert "not too late" in turn.messages[0]
        path = bot.reply(turn.state, button="go")
        assert path.help, text


def test_unrecognised_text_stays_and_says_so(deterrer: Any) -> None:
    bot = deterrer.chatbot
    start = bot.start("en")
    turn = bot.reply(start.state, text="purple elephants")
    assert turn.node == "welcome"
    assert not turn.understood
    assert turn.messages[0].startswith("Sorry")
    assert turn.buttons == start.buttons


def test_placeholders_are_filled_per_country(deterrer: Any) -> None:
    bot = deterrer.chatbot
    turn = bot.reply(bot.start("en", "US").state, button="help")
    assert turn.messages[0].startswith("Stop It Now (US) helps")
    turn = bot.reply(bot.start("en", None).state, button="help")
    assert turn.messages[0].startswith("ReDirection")  # no country: an international service


def test_bad_replies(deterrer: Any) -> None:
    bot = deterrer.chatbot
    state = bot.start("en").state
    with pytest.raises(InvalidInput, match="no button 'nope'"):
        bot.reply(state, button="nope")
    with pytest.raises(InvalidInput, match="either a button or text"):
        bot.reply(state)
    with pytest.raises(InvalidInput, match="either a button or text"):
        bot.reply(state, button="why", text="hi")
    with pytest.raises(InvalidInput, match="longer than"):
        bot.reply(state, text="x" * 5000)
    for bad in (None, [], {"node": "welcome"}, {"script": 1, "node": "a", "locale": "en"}):
        with pytest.raises(InvalidInput):
            ChatState.from_dict(bad)


def test_a_state_from_another_script_restarts(deterrer: Any) -> None:
    turn = deterrer.chatbot.reply(ChatState("old-script", "gone", "en"), button="x")
    assert turn.node == "welcome"


def test_chatbot_arm_opens_the_chat(make_dir: Any, build: Any) -> None:
    from safespace.deter import DEFAULT_DATA_DIR

    text = (DEFAULT_DATA_DIR / "experiments.yaml").read_text()
    text = text.replace("search: {variant: combined, chatbot: false}",
                        "search: {variant: combined, chatbot: true}")  # fmt: skip
    d = build(make_dir({"experiments.yaml": text}))
    decision = d.decide(DecisionRequest("search", "teen sex", session="s"))
    assert decision.intervention.kind == "chatbot"
    assert decision.intervention.chatbot.node == "welcome"
    assert decision.intervention.chatbot_intro
