"""A scripted support chatbot: a dialogue graph in YAML, never a generative model.

A script is nodes; each says one or more catalogue texts and offers buttons, a few free-text
intents recognised by keywords, or hands off to help services (a *help node*, with the
audiences whose services it shows). Validation on load guarantees what a person can meet:
every node reachable, every button and intent leads to a real node, every conversation can
end in help, and every node without a way on is a help node.

The engine keeps no memory: each turn returns a small serialisable :class:`ChatState` that
the caller hands back with the next reply (a browser widget can hold it). Free text is
matched and dropped, never kept.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safespace.deter._detect import AUDIENCES
from safespace.deter._normalize import normalize, normalize_phrase
from safespace.deter._schema import Node, load_yaml
from safespace.errors import ConfigError, InvalidInput

__all__ = ["ChatButton", "ChatNode", "ChatScript", "ChatState", "Intent", "load_script"]

MAX_TEXT_CHARS = 1000


@dataclass(frozen=True)
class ChatButton:
    id: str
    label: str  # catalogue key
    next: str


@dataclass(frozen=True)
class Intent:
    id: str
    keywords: tuple[str, ...]  # normalised phrases
    next: str

    def matches(self, padded_text: str) -> bool:
        return any(f" {k} " in padded_text for k in self.keywords)


@dataclass(frozen=True)
class ChatNode:
    id: str
    say: tuple[str, ...]  # catalogue keys
    buttons: tuple[ChatButton, ...]
    intents: tuple[Intent, ...]
    help: tuple[str, ...]  # audiences: a help (hand-off) node when not empty
    end: bool

    def targets(self) -> list[str]:
        return [b.next for b in self.buttons] + [i.next for i in self.intents]


@dataclass(frozen=True)
class ChatScript:
    id: str
    start: str
    nodes: dict[str, ChatNode]
    global_intents: tuple[Intent, ...]
    fallback_text: str  # catalogue key said when free text is not understood

    def keys(self) -> set[str]:
        found = {self.fallback_text}
        for node in self.nodes.values():
            found.update(node.say)
            found.update(b.label for b in node.buttons)
        return found

    def intents_at(self, node: ChatNode) -> tuple[Intent, ...]:
        return () if node.end else node.intents + self.global_intents

    def match_text(self, node: ChatNode, text: str) -> Intent | None:
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidInput(f"chat text longer than {MAX_TEXT_CHARS} characters")
        padded = f" {normalize(text).text} "
        for intent in self.intents_at(node):
            if intent.matches(padded):
                return intent
        return None


@dataclass(frozen=True)
class ChatState:
    """Where a conversation is; round-trips through JSON (``to_dict``/``from_dict``)."""

    script: str
    node: str
    locale: str
    country: str | None = None
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "node": self.node,
            "locale": self.locale,
            "country": self.country,
            "steps": self.steps,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChatState:
        if not isinstance(data, dict):
            raise InvalidInput("chat state must be an object")
        try:
            script, node, locale = data["script"], data["node"], data["locale"]
            country, steps = data.get("country"), data.get("steps", 0)
        except KeyError as exc:
            raise InvalidInput(f"chat state lacks {exc.args[0]!r}") from None
        ok = all(isinstance(x, str) and 0 < len(x) <= 200 for x in (script, node, locale))
        ok = ok and (country is None or (isinstance(country, str) and len(country) <= 8))
        if not ok or not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise InvalidInput("chat state is malformed")
        return cls(script, node, locale, country, steps)


# --- loading and validation ------------------------------------------------------------------


def _intent(node: Node) -> Intent:
    node.keys({"id", "keywords", "next"}, frozenset({"id", "keywords", "next"}))
    keywords = []
    for kw in node.get("keywords").seq(allow_empty=False):
        key = normalize_phrase(kw.text())
        if not key:
            raise kw.fail("keyword has no letters or digits")
        keywords.append(key)
    return Intent(node.get("id").ident(), tuple(keywords), node.get("next").ident())


def _node(node_id: str, node: Node) -> ChatNode:
    node.keys({"say", "buttons", "intents", "help", "end"}, frozenset({"say"}))
    buttons = []
    seen: set[str] = set()
    for b in node.get("buttons").seq():
        b.keys({"id", "label", "next"}, frozenset({"id", "label", "next"}))
        bid = b.get("id").ident()
        if bid in seen:
            raise b.get("id").fail(f"duplicate button id {bid!r}")
        seen.add(bid)
        buttons.append(ChatButton(bid, b.get("label").text(), b.get("next").ident()))
    audiences = tuple(a.choice(set(AUDIENCES)) for a in node.get("help").seq())
    end = node.get("end", False).boolean()
    chat = ChatNode(
        node_id,
        tuple(node.get("say").texts()),
        tuple(buttons),
        tuple(_intent(i) for i in node.get("intents").seq()),
        audiences,
        end,
    )
    if end and (chat.buttons or chat.intents):
        raise node.fail("an end node has no buttons or intents")
    return chat


def load_script(path: Path) -> ChatScript:
    root = load_yaml(path, kind="chatbot script")
    fields = {"version", "id", "start", "nodes", "intents", "fallback_text"}
    root.keys(fields, frozenset({"id", "start", "nodes", "fallback_text"}))
    nodes: dict[str, ChatNode] = {}
    for node_id, node in root.get("nodes").items():
        Node(node_id, node.file, node.path).ident()
        nodes[node_id] = _node(node_id, node)
    if not nodes:
        raise root.get("nodes").fail("must not be empty")
    script = ChatScript(
        root.get("id").ident(),
        root.get("start").ident(),
        nodes,
        tuple(_intent(i) for i in root.get("intents").seq()),
        root.get("fallback_text").text(),
    )
    validate_script(script, str(path))
    return script


def validate_script(script: ChatScript, source: str) -> None:
    """Refuse a script with a dangling target, an unreachable node or a dead end."""
    nodes = script.nodes
    if script.start not in nodes:
        raise ConfigError(f"{source}: start: no node {script.start!r}")
    for intent in script.global_intents:
        if intent.next not in nodes:
            raise ConfigError(f"{source}: intents.{intent.id}.next: no node {intent.next!r}")
    edges: dict[str, list[str]] = {}
    for node in nodes.values():
        for b in node.buttons:
            if b.next not in nodes:
                raise ConfigError(
                    f"{source}: nodes.{node.id}.buttons.{b.id}.next: no node {b.next!r}"
                )
        for i in node.intents:
            if i.next not in nodes:
                raise ConfigError(
                    f"{source}: nodes.{node.id}.intents.{i.id}.next: no node {i.next!r}"
                )
        edges[node.id] = node.targets() + (
            [] if node.end else [i.next for i in script.global_intents]
        )
        if not edges[node.id] and not node.help:
            raise ConfigError(
                f"{source}: nodes.{node.id}: a node with no way on must be a help node (help: ...)"
            )
    reachable = _reach(script.start, edges)
    for node_id in nodes:
        if node_id not in reachable:
            raise ConfigError(f"{source}: nodes.{node_id}: not reachable from {script.start!r}")
    helps = {n.id for n in nodes.values() if n.help}
    if not helps:
        raise ConfigError(f"{source}: no help node: every conversation must be able to end in help")
    reverse: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dsts in edges.items():
        for dst in dsts:
            reverse[dst].append(src)
    can_reach_help: set[str] = set()
    for h in helps:
        can_reach_help |= _reach(h, reverse)
    for node_id in nodes:
        if node_id not in can_reach_help:
            raise ConfigError(f"{source}: nodes.{node_id}: no path from here leads to a help node")


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
