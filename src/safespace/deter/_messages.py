"""The library of warning variants, as in the trials, and the fixed texts around them.

A variant names a theme and two catalogue keys (title and body); the words themselves live
in the gettext catalogues (``locale/<lang>/LC_MESSAGES/deter.po``), so a translation never
touches this file. Texts may use ``{helpline}``, ``{helpline_phone}`` and ``{helpline_url}``,
filled from the first help service for the person's country.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from safespace.deter._schema import load_yaml
from safespace.errors import ConfigError

__all__ = ["PLACEHOLDERS", "THEMES", "MessageLibrary", "Variant", "check_template", "load_messages"]

THEMES = frozenset({"neutral", "illegality", "traceable", "harm", "help", "combined"})
PLACEHOLDERS = frozenset({"helpline", "helpline_phone", "helpline_url"})


@dataclass(frozen=True)
class Variant:
    id: str
    theme: str
    title: str  # catalogue keys
    body: str


@dataclass(frozen=True)
class MessageLibrary:
    variants: dict[str, Variant]
    default_variant: str
    texts: dict[str, str]  # role -> catalogue key (upload_title, help_body, ...)

    def keys(self) -> set[str]:
        found = set(self.texts.values())
        for v in self.variants.values():
            found |= {v.title, v.body}
        return found


TEXT_ROLES = frozenset(
    {"upload_title", "upload_body", "help_title", "help_body", "links_heading", "chatbot_intro"}
)


def load_messages(path: Path) -> MessageLibrary:
    root = load_yaml(path, kind="messages")
    root.keys(
        {"version", "default_variant", "variants", "texts"},
        frozenset({"default_variant", "variants", "texts"}),
    )
    variants: dict[str, Variant] = {}
    for node in root.get("variants").seq(allow_empty=False):
        node.keys({"id", "theme", "title", "body"}, frozenset({"id", "theme", "title", "body"}))
        vid = node.get("id").ident()
        if vid in variants:
            raise node.get("id").fail(f"duplicate variant id {vid!r}")
        variants[vid] = Variant(
            vid,
            node.get("theme").choice(set(THEMES)),
            node.get("title").text(),
            node.get("body").text(),
        )
    if not any(v.theme == "neutral" for v in variants.values()):
        raise root.get("variants").fail("needs a variant with theme 'neutral' (the control)")
    default = root.get("default_variant")
    if default.ident() not in variants:
        raise default.fail(f"no variant {default.value!r}")
    texts_node = root.get("texts")
    texts_node.keys(set(TEXT_ROLES), frozenset(TEXT_ROLES))
    texts = {role: node.text() for role, node in texts_node.items()}
    return MessageLibrary(variants, default.ident(), texts)


def check_template(text: str, where: str) -> None:
    """Refuse unknown placeholders or broken braces, so rendering can never fail later."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
        specs = [(spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f]
    except ValueError as exc:
        raise ConfigError(f"{where}: bad braces in text ({exc})") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise ConfigError(f"{where}: unknown placeholder {{{name}}} (allowed: {allowed})")
    if any(spec or conv for spec, conv in specs):
        raise ConfigError(f"{where}: placeholders take no format options")
