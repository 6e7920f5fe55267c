"""Help and reporting services per country and audience, from an editable ``help.yaml``.

Links and phone numbers change: every entry carries ``verified`` (the date an operator last
checked it, or nothing), and ``safespace deter validate`` lists the unchecked ones. Country
``"*"`` marks a service open to everyone; a request's own country comes first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from safespace.deter._detect import AUDIENCES
from safespace.deter._schema import Node, load_yaml

__all__ = ["HelpDirectory", "Resource", "load_help"]

_INTERNATIONAL = "*"


@dataclass(frozen=True)
class Resource:
    id: str
    name: str
    url: str
    phone: str | None
    countries: tuple[str, ...]
    audiences: tuple[str, ...]
    description: str  # catalogue key
    verified: dt.date | None


@dataclass(frozen=True)
class HelpDirectory:
    resources: tuple[Resource, ...]
    fallback_country: str | None = None

    def select(
        self, country: str | None, audiences: tuple[str, ...], limit: int = 3
    ) -> tuple[Resource, ...]:
        """Services for the audiences: the country's own first, then international ones."""
        wanted = set(audiences)
        found = self._pick(country, wanted, limit)
        if not any(_INTERNATIONAL not in r.countries for r in found) and self.fallback_country:
            found = self._pick(self.fallback_country, wanted, limit)
        return found

    def _pick(self, country: str | None, wanted: set[str], limit: int) -> tuple[Resource, ...]:
        local = [r for r in self.resources if country in r.countries and wanted & set(r.audiences)]
        world = [
            r for r in self.resources if _INTERNATIONAL in r.countries and wanted & set(r.audiences)
        ]
        ordered = sorted(local, key=lambda r: _rank(r, wanted)) + sorted(
            world, key=lambda r: _rank(r, wanted)
        )
        return tuple(ordered[:limit])

    def unverified(self) -> list[str]:
        return [f"{r.id}: {r.url}" for r in self.resources if r.verified is None]


def _rank(resource: Resource, wanted: set[str]) -> int:
    """Services whose first audience is wanted come before ones that also serve it."""
    return 0 if resource.audiences[0] in wanted else 1


def load_help(path: Path) -> HelpDirectory:
    root = load_yaml(path, kind="help resources")
    root.keys({"version", "fallback_country", "resources"}, frozenset({"resources"}))
    fallback = root.get("fallback_country")
    fallback_country = None if fallback.value is None else _country(fallback.text(), fallback)
    out: list[Resource] = []
    seen: set[str] = set()
    fields = {"id", "name", "url", "phone", "countries", "audiences", "description", "verified"}
    for node in root.get("resources").seq(allow_empty=False):
        node.keys(fields, frozenset({"id", "name", "url", "countries", "audiences", "description"}))
        rid = node.get("id").ident()
        if rid in seen:
            raise node.get("id").fail(f"duplicate resource id {rid!r}")
        seen.add(rid)
        url = node.get("url").text(max_len=2000)
        if not url.startswith("https://") or " " in url:
            raise node.get("url").fail("must be an https:// address")
        phone = node.get("phone")
        verified = node.get("verified")
        if verified.value is not None and not isinstance(verified.value, dt.date):
            raise verified.fail("must be a date (YYYY-MM-DD) or left empty")
        out.append(
            Resource(
                id=rid,
                name=node.get("name").text(max_len=200),
                url=url,
                phone=None if phone.value is None else str(phone.value).strip() or None,
                countries=tuple(
                    _country(c.text(), c) for c in node.get("countries").seq(allow_empty=False)
                ),
                audiences=tuple(
                    a.choice(set(AUDIENCES)) for a in node.get("audiences").seq(allow_empty=False)
                ),
                description=node.get("description").text(max_len=200),
                verified=verified.value,
            )
        )
    return HelpDirectory(tuple(out), fallback_country)


def _country(code: str, node: Node) -> str:
    code = code.upper()
    if code != _INTERNATIONAL and not (len(code) == 2 and code.isalpha() and code.isascii()):
        raise node.fail(f"{code!r} is not a two-letter country code or '*'")
    return code
