"""Nothing in src/ spells a built-in signal type's name except its own module(s) and the
registry: everything else asks :mod:`safespace.signals`' registry, so a new signal type is one
module and one registry line (docs/signals.md, "Adding a signal type").

The check reads the AST: a string constant equal (ignoring case) to a registered name or
alias fails, wherever it is (dictionary keys, comparisons, defaults); docstrings are prose and
``__all__`` lists name Python objects, so both are allowed. Migrations are history written out
in full, so they are exempt. A few strings are spelled like a signal type but are not one
(``NOT_SIGNALS``, each with its reason).
"""

from __future__ import annotations

import ast
from pathlib import Path

from safespace.signals import SIGNAL_TYPES

SRC = Path(__file__).resolve().parents[2] / "src" / "safespace"

# Where a type's name may be written: its own module(s) and the registry.
OWN = {
    "signals/_registry.py": set(SIGNAL_TYPES),
    "signals/_pdq_type.py": {"pdq"},
    "signals/_pdq.py": {"pdq"},
    "signals/_md5.py": {"md5"},
    "signals/_sha256.py": {"sha256"},
    "signals/_vpdq_type.py": {"vpdq"},
    "signals/_video.py": {"vpdq"},  # vPDQ's hashing (its thread names)
    "signals/_url.py": {"url", "url_sha256"},
    "signals/_keyword.py": {"keyword"},
    # Media hashing computes the built-ins in one read of the file; Signals' fields and
    # as_dict() keys are their names.
    "signals/_hashing.py": set(SIGNAL_TYPES),
}
# (module, spelling) -> why that string is not a signal type.
NOT_SIGNALS = {
    ("reports/_evidence.py", "sha256"): "the stored evidence file's own digest, in audit records",
    ("api/_routes/evidence.py", "sha256"): "the stored evidence file's own digest",
    ("text/_urllist.py", "sha256"): "how a URL-list expression matched (by its digest)",
    # "url" is also an ordinary word: an address field, a query parameter.
    ("text/_extract.py", "url"): "redirect wrappers' query parameter holding the target",
    ("api/_routes/deter.py", "url"): "Deter's 'url' context (a typed address)",
    ("api/_routes/hma.py", "url"): "HMA lookup's url query parameter (media to fetch)",
    ("deter/_experiments.py", "url"): "Deter's 'url' context (a typed address)",
    ("deter/_render.py", "url"): "a help resource's address field",
    ("deter/_resources.py", "url"): "a help resource's address field",
    ("reports/_referrals.py", "url"): "a referral's page address field",
    ("reports/_report_help.py", "url"): "a help link's address field",
    ("reports/_webhooks.py", "url"): "a webhook's address setting",
    ("cli/_exchange.py", "url"): "an exchange source's server address setting",
    ("exchanges/_source_safespace.py", "url"): "an exchange source's server address setting",
    # The JSON of one vPDQ frame is {frame, timestamp, quality, pdq}: a field of a frame, not
    # the pdq type. To move into the vPDQ signal type's module when vPDQ joins the registry.
    ("signals/_video.py", "pdq"): "the pdq field of a vPDQ frame's JSON",
}
EXEMPT_FOLDERS = ("store/migrations/",)


def _names() -> dict[str, str]:
    """Every spelling (lower-cased) -> the type it names."""
    return {n.lower(): k.name for k in SIGNAL_TYPES.values() for n in (k.name, *k.aliases)}


def _docstrings(tree: ast.AST) -> set[int]:
    """Ids of the docstring constants and of the strings in ``__all__`` lists."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            ids |= {id(c) for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def literals(source: str) -> list[tuple[int, str]]:
    """(line, type) of every string constant in ``source`` that names a signal type."""
    tree = ast.parse(source)
    names = _names()
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            kind = names.get(node.value.strip().lower())
            if kind is not None:
                found.append((node.lineno, kind))
    return found


def test_no_module_names_a_signal_type_but_its_own_and_the_registry() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(EXEMPT_FOLDERS):
            continue
        allowed = OWN.get(rel, set())
        for line, kind in literals(path.read_text(encoding="utf-8")):
            if kind not in allowed and (rel, kind) not in NOT_SIGNALS:
                offenders.append(f"src/safespace/{rel}:{line}: {kind!r}")
    assert not offenders, "signal type names written outside the registry:\n" + "\n".join(offenders)


def test_the_check_finds_literals_and_spares_docstrings() -> None:
    source = (
        '"""About pdq."""\n__all__ = ["PDQ"]\n\ndef f():\n    """md5 here."""\n'
        '    return {"PDQ": 1, "x": "video_md5"}\n'
    )
    assert sorted(literals(source)) == [(6, "md5"), (6, "pdq")]
