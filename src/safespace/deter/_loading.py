"""Loading Deter's data files, checking them together, and reloading them without a restart.

An operator's Deter folder may hold any of ``rules.yaml``, ``messages.yaml``, ``help.yaml``,
``chatbot.yaml``, ``experiments.yaml`` (each replaces the packaged default),
``locale/<lang>/LC_MESSAGES/deter.po`` (put before the packaged catalogue of that language)
and ``terms/*.txt|yaml`` (operator term lists). Every problem is a ``ConfigError`` naming
the file, the place in it and what is wrong. :class:`DeterLoader` swaps in a new
configuration atomically and keeps the old one when the new files are bad.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from safespace.deter._chatbot import ChatScript, load_script
from safespace.deter._configuration import DeterData
from safespace.deter._detect import Detector, load_vocabulary
from safespace.deter._engine import Decision, DecisionRequest, Deterrer
from safespace.deter._experiments import load_experiments
from safespace.deter._i18n import DOMAIN, FALLBACK_LOCALE, Catalogs
from safespace.deter._messages import MessageLibrary, check_template, load_messages
from safespace.deter._resources import HelpDirectory, load_help
from safespace.deter._terms import TermMatcher, load_term_file
from safespace.errors import ConfigError

__all__ = ["DEFAULT_DATA_DIR", "DeterData", "DeterLoader", "load_data"]

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
_FILES = ("rules.yaml", "messages.yaml", "help.yaml", "chatbot.yaml", "experiments.yaml")


def _pick(directory: Path | None, name: str) -> Path:
    if directory is not None and (directory / name).is_file():
        return directory / name
    return DEFAULT_DATA_DIR / name


def _po_files(directory: Path | None) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    roots = [directory / "locale"] if directory is not None else []
    roots.append(DEFAULT_DATA_DIR / "locale")
    for root in roots:
        if not root.is_dir():
            continue
        for po in sorted(root.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            found.setdefault(po.parent.parent.name, []).append(po)
    return found


def term_files(directory: Path | None) -> list[Path]:
    if directory is None or not (directory / "terms").is_dir():
        return []
    found = []
    for p in sorted((directory / "terms").iterdir()):
        if p.name.startswith(".") or p.name.endswith("~") or p.name.upper().startswith("README"):
            continue  # editor leftovers and notes
        if p.is_file():
            found.append(p)  # an unknown kind of file is refused when loaded, not skipped
    return found


def load_data(directory: Path | None = None, *, extra_terms: Sequence[Path] = ()) -> DeterData:
    """Load and cross-check a configuration: the operator's folder over the packaged data."""
    if directory is not None and not directory.is_dir():
        raise ConfigError(f"{directory}: no such folder")
    vocab = load_vocabulary(_pick(directory, "rules.yaml"))
    lists = tuple(load_term_file(p) for p in [*term_files(directory), *extra_terms])
    messages = load_messages(_pick(directory, "messages.yaml"))
    help_dir = load_help(_pick(directory, "help.yaml"))
    script = load_script(_pick(directory, "chatbot.yaml"))
    neutral = {v.id for v in messages.variants.values() if v.theme == "neutral"}
    experiments = load_experiments(
        _pick(directory, "experiments.yaml"), set(messages.variants), neutral
    )
    catalogs = Catalogs(_po_files(directory))
    warnings = _check_texts(catalogs, messages, help_dir, script)
    warnings += [
        f"help.yaml: {u} has not been verified by the operator" for u in help_dir.unverified()
    ]
    return DeterData(
        detector=Detector(vocab, TermMatcher(lists)),
        vocabulary_rule=vocab.rule_id,
        term_lists=lists,
        messages=messages,
        help=help_dir,
        chatbot=script,
        experiments=experiments,
        catalogs=catalogs,
        warnings=tuple(warnings),
    )


def _check_texts(
    catalogs: Catalogs, messages: MessageLibrary, help_dir: HelpDirectory, script: ChatScript
) -> list[str]:
    """Every key must be in English with valid placeholders; other locales may lack some."""
    keys = messages.keys() | script.keys() | {r.description for r in help_dir.resources}
    english = catalogs.keys[FALLBACK_LOCALE]
    missing = sorted(keys - english)
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ConfigError(f"the English catalogue lacks {len(missing)} texts: {shown}")
    warnings = []
    for locale in catalogs.locales:
        for key in sorted(keys):
            check_template(catalogs.text(key, locale), f"locale {locale}: {key}")
        if locale != FALLBACK_LOCALE:
            lacking = len(keys - catalogs.keys[locale])
            if lacking:
                warnings.append(f"locale {locale}: {lacking} texts fall back to English")
    return warnings


def _fingerprint(directory: Path | None, extra: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    paths = [_pick(directory, n) for n in _FILES] + term_files(directory) + list(extra)
    for files in _po_files(directory).values():
        paths += files
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), -1, -1))
    return tuple(out)


class DeterLoader:
    """Holds the live :class:`Deterrer`; ``reload`` swaps in a new one or keeps the old."""

    def __init__(
        self,
        directory: Path | None,
        secret: bytes,
        *,
        extra_terms: Sequence[Path] = (),
        store_query_text: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self._secret = secret
        self._extra = tuple(extra_terms)
        self._store = store_query_text
        self._clock = clock
        self._lock = threading.Lock()
        self._fingerprint = _fingerprint(directory, self._extra)
        self._current = self._build()
        self.loaded_at = time.time()

    def _build(self) -> Deterrer:
        data = load_data(self.directory, extra_terms=self._extra)
        return Deterrer(data, self._secret, store_query_text=self._store, clock=self._clock)

    @property
    def current(self) -> Deterrer:
        return self._current

    def decide(self, request: DecisionRequest) -> Decision:
        return self._current.decide(request)

    def reload(self) -> Deterrer:
        """Load the files again; on a ``ConfigError`` the old configuration stays live."""
        with self._lock:
            fingerprint = _fingerprint(self.directory, self._extra)
            new = self._build()  # raises before anything is swapped
            self._current = new
            self._fingerprint = fingerprint
            self.loaded_at = time.time()
            return new

    def reload_if_changed(self) -> bool:
        """Reload when a file changed since the last load; True when it did reload."""
        fingerprint = _fingerprint(self.directory, self._extra)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint  # a bad file is reported once, not at every check
        self.reload()
        return True
