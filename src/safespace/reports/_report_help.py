"""Where a person can get help, by country: the list shown with a self-report's result.

The list is package data (``reports/data/report_help.yaml``), read and checked once; the
person's locale puts their own country first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from safespace.errors import ConfigError, InvalidInput
from safespace.reports._selfreport_input import check_locale, check_url
from safespace.store._models_selfreports import AGE_BANDS

__all__ = ["HelpSection", "HelpService", "help_sections"]


@dataclass(frozen=True)
class HelpService:
    name: str
    url: str
    kind: str
    text: str
    ages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url, "kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class HelpSection:
    region: str
    name: str
    local: bool
    services: tuple[HelpService, ...] = field(default_factory=tuple)


@lru_cache(maxsize=1)
def _help_data() -> dict[str, tuple[str, tuple[HelpService, ...]]]:
    """``reports/data/report_help.yaml``, checked once: a broken file is a ConfigError."""
    text = resources.files("safespace.reports").joinpath("data/report_help.yaml").read_text()
    try:
        data: Any = yaml.safe_load(text)
        regions: dict[str, tuple[str, tuple[HelpService, ...]]] = {}
        for code, region in data["regions"].items():
            services = []
            for raw in region["services"]:
                url = check_url(str(raw["url"]))
                if not url.startswith("https://"):
                    raise ValueError(f"{raw['name']}: use an https:// address")
                ages = tuple(str(a) for a in raw.get("ages", ()))
                if any(a not in AGE_BANDS for a in ages):
                    raise ValueError(f"{raw['name']}: unknown age band in {ages}")
                services.append(
                    HelpService(str(raw["name"]), url, str(raw["kind"]), str(raw["text"]), ages)
                )
            regions[str(code)] = (str(region["name"]), tuple(services))
    except (KeyError, TypeError, ValueError, AttributeError, InvalidInput, yaml.YAMLError) as exc:
        raise ConfigError(f"report_help.yaml: {exc}") from None
    if "international" not in regions:
        raise ConfigError("report_help.yaml: needs an 'international' region")
    return regions


def help_sections(locale: str, age_band: str | None = None) -> list[HelpSection]:
    """Help for the locale's country first, then for anywhere, then other countries."""
    try:
        tag = check_locale(locale)
    except InvalidInput:
        tag = "en"
    region = tag.partition("-")[2]
    data = _help_data()
    order = [region] if region in data else []
    order += ["international", *sorted(c for c in data if c not in (region, "international"))]
    sections = []
    for code in order:
        name, services = data[code]
        chosen = tuple(s for s in services if not age_band or not s.ages or age_band in s.ages)
        sections.append(HelpSection(code, name, code in (region, "international"), chosen))
    return sections
