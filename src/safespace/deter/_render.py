"""Texts and help links in a person's language, with the help-line placeholders filled in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safespace.deter._i18n import Catalogs
from safespace.deter._resources import HelpDirectory, Resource

__all__ = ["HelpLink", "Renderer"]


@dataclass(frozen=True)
class HelpLink:
    """A help service as shown to a person."""

    id: str
    name: str
    url: str
    phone: str | None
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "phone": self.phone,
            "description": self.description,
        }


class Renderer:
    def __init__(self, catalogs: Catalogs, directory: HelpDirectory) -> None:
        self.catalogs = catalogs
        self.directory = directory

    def links(
        self, locale: str, country: str | None, audiences: tuple[str, ...]
    ) -> tuple[HelpLink, ...]:
        return tuple(self._link(r, locale) for r in self.directory.select(country, audiences))

    def _link(self, r: Resource, locale: str) -> HelpLink:
        return HelpLink(r.id, r.name, r.url, r.phone, self.catalogs.text(r.description, locale))

    def values(self, country: str | None) -> dict[str, str]:
        """Placeholder values: the first service for people worried about themselves."""
        found = self.directory.select(country, ("self",), limit=1)
        if not found:
            return {"helpline": "", "helpline_phone": "", "helpline_url": ""}
        r = found[0]
        return {"helpline": r.name, "helpline_phone": r.phone or "", "helpline_url": r.url}

    def text(self, key: str, locale: str, values: dict[str, str]) -> str:
        return self.catalogs.text(key, locale).format_map(values)
