"""Running a chatbot script: ``start`` and ``reply`` return rendered turns and a new state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safespace.deter._chatbot import ChatNode, ChatScript, ChatState
from safespace.deter._render import HelpLink, Renderer
from safespace.errors import InvalidInput

__all__ = ["ChatEngine", "Turn", "TurnButton"]

MAX_STEPS = 200


@dataclass(frozen=True)
class TurnButton:
    id: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True)
class Turn:
    """What the chatbot says now, what the person can do next, and the state to send back."""

    node: str
    messages: tuple[str, ...]
    buttons: tuple[TurnButton, ...]
    accepts_text: bool
    help: tuple[HelpLink, ...]
    ended: bool
    understood: bool
    state: ChatState

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "messages": list(self.messages),
            "buttons": [b.to_dict() for b in self.buttons],
            "accepts_text": self.accepts_text,
            "help": [h.to_dict() for h in self.help],
            "ended": self.ended,
            "understood": self.understood,
            "state": self.state.to_dict(),
        }


class ChatEngine:
    """Stateless: the conversation lives in the :class:`ChatState` each turn returns."""

    def __init__(self, script: ChatScript, renderer: Renderer) -> None:
        self.script = script
        self.renderer = renderer

    def start(self, locale: str = "en", country: str | None = None) -> Turn:
        resolved = self.renderer.catalogs.resolve(locale)
        state = ChatState(self.script.id, self.script.start, resolved, _country(country), 0)
        return self._turn(self.script.nodes[self.script.start], state, understood=True)

    def reply(self, state: ChatState, button: str | None = None, text: str | None = None) -> Turn:
        """Answer a pressed button (by id) or typed text; exactly one of them."""
        if (button is None) == (text is None):
            raise InvalidInput("reply with either a button or text")
        node = self.script.nodes.get(state.node)
        if state.script != self.script.id or node is None:
            return self.start(state.locale, state.country)  # the script changed: begin again
        if state.steps >= MAX_STEPS:
            raise InvalidInput("this conversation is too long; start a new one")
        if button is not None:
            chosen = next((b for b in node.buttons if b.id == button), None)
            if chosen is None:
                raise InvalidInput(f"no button {button!r} at this point of the conversation")
            target = chosen.next
        else:
            intent = self.script.match_text(node, text or "")
            if intent is None:
                return self._turn(node, _step(state, node.id), understood=False)
            target = intent.next
        return self._turn(self.script.nodes[target], _step(state, target), understood=True)

    def _turn(self, node: ChatNode, state: ChatState, *, understood: bool) -> Turn:
        r = self.renderer
        values = r.values(state.country)
        messages = [r.text(key, state.locale, values) for key in node.say]
        if not understood:
            messages.insert(0, r.text(self.script.fallback_text, state.locale, values))
        return Turn(
            node=node.id,
            messages=tuple(messages),
            buttons=tuple(
                TurnButton(b.id, r.text(b.label, state.locale, values)) for b in node.buttons
            ),
            accepts_text=bool(self.script.intents_at(node)),
            help=r.links(state.locale, state.country, node.help) if node.help else (),
            ended=node.end or not (node.buttons or self.script.intents_at(node)),
            understood=understood,
            state=state,
        )


def _step(state: ChatState, node: str) -> ChatState:
    return ChatState(state.script, node, state.locale, state.country, state.steps + 1)


def _country(country: str | None) -> str | None:
    if country is None:
        return None
    code = country.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise InvalidInput(f"country must be a two-letter code, got {country!r}")
    return code
