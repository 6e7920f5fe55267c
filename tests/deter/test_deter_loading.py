"""Data files: clear errors that name file, place and problem; atomic, safe reloads."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from safespace.deter import DecisionRequest, DeterLoader, load_data
from safespace.deter._i18n import compile_po, parse_po
from safespace.errors import ConfigError

SECRET = b"test-secret-0123456789abcdef"


def _packaged(name: str) -> str:
    from safespace.deter import DEFAULT_DATA_DIR

    return (DEFAULT_DATA_DIR / name).read_text(encoding="utf-8")


def test_packaged_data_loads_with_only_unverified_link_warnings() -> None:
    data = load_data()
    assert data.warnings
    assert all("has not been verified" in w for w in data.warnings)
    assert {"neutral", "illegality", "traceable", "harm", "help", "combined"} <= set(
        data.messages.variants
    )
    assert data.catalogs.locales == ["en"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"terms/bad.txt": "zzterm1\n!!!---\n"}, "bad.txt: line 2: term has no letters or digits"),
        ({"terms/bad.csv": "zzterm1\n"}, "must be .txt, .yaml or .yml"),
        ({"terms/bad.yaml": "version: 1\nterms: [zzterm1, {term: ''}]\n"}, "terms[1].term"),
        (
            {
                "terms/bad.yaml": (
                    "version: 1\nterms:\n  - {id: a, term: x1}\n  - {id: a, term: x2}\n"
                )
            },
            "duplicate term id 'a'",
        ),
        ({"terms/bad.yaml": "version: 1\nterms: [zzterm1]\nmatch: fuzzy\n"}, "match: 'fuzzy'"),
        ({"terms/bad.yaml": "version: 2\nterms: []\n"}, "unsupported version 2"),
        ({"terms/bad.yaml": "terms: [zzterm1\n"}, "bad.yaml: line"),
        ({"terms/Bad List.txt": "zzterm1\n"}, "list id"),
        (
            {"rules.yaml": "version: 1\nbuiltin: {id: x}\nhelp_seeking: []\n"},
            "missing required key 'minor_words'",
        ),
        (
            {"messages.yaml": _packaged("messages.yaml").replace("theme: neutral", "theme: calm")},
            "variants[0].theme: 'calm' is not one of",
        ),
        (
            {
                "messages.yaml": _packaged("messages.yaml").replace(
                    "body: warning.harm.body", "body: warning.harm.missing"
                )
            },
            "English catalogue lacks 1 texts: warning.harm.missing",
        ),
        (
            {"help.yaml": _packaged("help.yaml").replace("https://stopncii.org/", "http://x.org/")},
            "resources[12].url: must be an https:// address",
        ),
        (
            {"help.yaml": _packaged("help.yaml").replace("countries: [US]", "countries: [USA]", 1)},
            "is not a two-letter country code",
        ),
        (
            {
                "help.yaml": _packaged("help.yaml").replace(
                    "audiences: [adult]", "audiences: [adults]"
                )
            },
            "'adults' is not one of",
        ),
        (
            {
                "experiments.yaml": _packaged("experiments.yaml").replace(
                    "control: neutral", "control: harm"
                )
            },
            "the control arm must show a neutral message",
        ),
        (
            {
                "experiments.yaml": _packaged("experiments.yaml").replace(
                    "variant: harm,", "variant: scary,"
                )
            },
            "no message variant 'scary'",
        ),
        (
            {
                "experiments.yaml": _packaged("experiments.yaml").replace(
                    "  upload: {", "  uplod: {"
                )
            },
            "defaults.uplod: unknown context",
        ),
        (
            {"locale/en/LC_MESSAGES/deter.po": 'msgid "warning.harm.body"\nmsgstr "Hi {name}"\n'},
            "unknown placeholder {name}",
        ),
        (
            {"locale/en/LC_MESSAGES/deter.po": 'msgid "x"\nmsgstr oops\n'},
            "deter.po: line 2: expected a quoted string",
        ),
    ],
)
def test_bad_files_fail_with_clear_messages(
    make_dir: Any, files: dict[str, str], message: str
) -> None:
    folder = make_dir(files)
    with pytest.raises(ConfigError) as info:
        load_data(folder)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_folder() -> None:
    with pytest.raises(ConfigError, match="no such folder"):
        load_data(Path("/nonexistent/deter"))


def test_two_enabled_experiments_cannot_share_a_context(make_dir: Any) -> None:
    text = _packaged("experiments.yaml").replace("enabled: false", "enabled: true")
    exp = text[text.index("  - id: search-messages-example") :]
    text += exp.replace("search-messages-example", "second")
    with pytest.raises(ConfigError, match="already in experiment 'search-messages-example'"):
        load_data(make_dir({"experiments.yaml": text}))


def test_operator_catalogue_overrides_and_falls_back(make_dir: Any, build: Any) -> None:
    folder = make_dir(
        {
            "locale/en/LC_MESSAGES/deter.po": 'msgid "warning.combined.title"\nmsgstr "Stop."\n',
            "locale/de/LC_MESSAGES/deter.po": (
                'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                'msgid "warning.combined.body"\nmsgstr "Bilder sind illegal. {helpline} hilft."\n'
            ),
        }
    )
    d = build(folder)
    en = d.decide(DecisionRequest("search", "teen sex", locale="en")).intervention
    assert en.title == "Stop."  # the operator's English text first
    assert en.body.startswith("Sexual images of children")  # the packaged one for the rest
    de = d.decide(DecisionRequest("search", "teen sex", locale="de-AT", country="GB"))
    assert de.locale == "de"
    assert de.intervention.body == "Bilder sind illegal. Stop It Now (UK and Ireland) hilft."
    assert de.intervention.title == "Stop."  # missing in German: English (operator's)
    assert any("locale de" in w for w in d.data.warnings)


def test_unknown_locale_falls_back_to_english(deterrer: Any) -> None:
    decision = deterrer.decide(DecisionRequest("search", "teen sex", locale="xx-YY"))
    assert decision.locale == "en"


def test_po_round_trip_through_mo() -> None:
    import gettext
    import io

    text = (
        '# comment\nmsgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgctxt "c"\nmsgid "a"\nmsgstr "A in c"\n\n'
        'msgid "b"\nmsgstr ""\n"multi "\n"line \\"q\\""\n\n'
        '#, fuzzy\nmsgid "f"\nmsgstr "skip me"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "ein"\nmsgstr[1] "viele"\n'
    )
    tr = gettext.GNUTranslations(io.BytesIO(compile_po(parse_po(text))))
    assert tr.pgettext("c", "a") == "A in c"
    assert tr.gettext("b") == 'multi line "q"'
    assert tr.gettext("f") == "f"  # fuzzy entries are not used
    assert tr.ngettext("one", "many", 1) == "ein"
    assert tr.ngettext("one", "many", 5) == "viele"


# --- reloading --------------------------------------------------------------------------------


def test_reload_swaps_and_keeps_the_old_config_on_error(make_dir: Any) -> None:
    folder = make_dir({"terms/ops.txt": "zzterm1\n"})
    loader = DeterLoader(folder, SECRET)
    assert loader.decide(DecisionRequest("search", "zzterm1")).reason == "operator-term"
    assert loader.decide(DecisionRequest("search", "qqplaceholder")).reason == "none"

    (folder / "terms" / "ops.txt").write_text("zzterm1\nqqplaceholder\n")
    before = loader.current
    loader.reload()
    assert loader.current is not before
    assert loader.decide(DecisionRequest("search", "qqplaceholder")).reason == "operator-term"

    good = loader.current
    (folder / "terms" / "ops.txt").write_text("zzterm1\n###\n!!!\n")
    with pytest.raises(ConfigError, match=r"ops\.txt: line 3"):
        loader.reload()
    assert loader.current is good  # still the last good configuration
    assert loader.decide(DecisionRequest("search", "qqplaceholder")).reason == "operator-term"


def test_reload_if_changed(make_dir: Any) -> None:
    folder = make_dir({"terms/ops.txt": "zzterm1\n"})
    loader = DeterLoader(folder, SECRET)
    assert loader.reload_if_changed() is False
    path = folder / "terms" / "ops.txt"
    path.write_text("zzterm1\nzzterm9\n")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert loader.reload_if_changed() is True
    assert loader.decide(DecisionRequest("search", "zzterm9")).reason == "operator-term"
    (folder / "terms" / "new.txt").write_text("!!!\n")  # a new, bad list
    with pytest.raises(ConfigError):
        loader.reload_if_changed()
    assert loader.reload_if_changed() is False  # reported once, not at every check
    assert loader.decide(DecisionRequest("search", "zzterm9")).reason == "operator-term"
