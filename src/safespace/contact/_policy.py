"""The contact policy: who counts as a child where, the rules in order, signal thresholds.

Read from a YAML file (the packaged ``data/policy.yaml``, or an operator's file that says
``extends: default`` to put its own rules first and ``disable`` some default ones, or
``extends: none`` to stand alone). Every problem is a ``ConfigError`` naming the file and
the place, like Deter's data files.

A policy under which an adult with no connection to a child could send that child a direct
message is refused at load unless it says ``allow_unconnected_adult_dm_to_children: true``:
the check runs the compiled rules over every child band, country limit and unconnected
relation, so it catches any rule, however written, that lets such a message through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from safespace.contact._types import ACTIONS, DECISIONS
from safespace.deter._experiments import Arm, Experiment, _plan
from safespace.deter._schema import Node, load_yaml
from safespace.errors import ConfigError

__all__ = [
    "AGE_LIMITS",
    "DEFAULT_POLICY",
    "PARTIES",
    "SIDES",
    "Moment",
    "Policy",
    "Rule",
    "SignalRules",
    "load_policy",
]

DEFAULT_POLICY = Path(__file__).resolve().parent / "data" / "policy.yaml"
# An age limit must fall on a band boundary: a child is anyone in a band wholly below it.
AGE_LIMITS = {13: ("under-13",), 16: ("under-13", "13-15"), 18: ("under-13", "13-15", "16-17")}
PARTIES = ("child", "adult", "any")
SIDES = ("actor", "target")
_TRI = {"true": True, "false": False, "any": None}


@dataclass(frozen=True, slots=True)
class Rule:
    """When every condition holds (None: any), the decision applies; first match wins."""

    id: str
    description: str
    decision: str
    actions: frozenset[str]
    actor: str = "any"  # child | adult | any, after the policy's age limits
    target: str = "any"
    connected: bool | None = None
    follows: bool | None = None
    actor_flagged: bool | None = None
    mutual_contacts_below: int | None = None
    prompt_actor: str | None = None  # a moment id
    prompt_target: str | None = None


@dataclass(frozen=True, slots=True)
class SignalRules:
    """When an adult is flagged, from the events the platform sends (see ``_signals.py``)."""

    retention_days: int = 90
    window_days: int = 30
    blocked_or_reported_by_children: int = 2  # distinct children, within the window
    ignored_requests_to_children: int = 10  # ignored requests to children, within the window
    ignored_share: float = 0.8  # ...and at least this share of the answered requests


@dataclass(frozen=True, slots=True)
class Moment:
    """A moment a prompt is shown at: which side sees it, its variants (title, text)."""

    id: str
    side: str
    default: str
    variants: dict[str, tuple[str, str]]
    neutral: frozenset[str]
    help: bool


@dataclass(frozen=True)
class Policy:
    source: str
    rules: tuple[Rule, ...]
    default_decision: str
    default_age_limit: int
    country_limits: dict[str, int]
    unassured_actor_as_adult: bool
    allow_unconnected_adult_dm_to_children: bool
    signals: SignalRules
    moments: dict[str, Moment]
    experiments: tuple[Experiment, ...] = field(default=())
    # Conversation-risk scoring (off by default) and the operator's extra term lists.
    risk_enabled: bool = False
    risk_terms: tuple[Path, ...] = ()
    # A scored conversation with a platform's conversation_id goes to the review queue when
    # any label's score reaches this (0.5: one rule fired).
    risk_review_score: float = 0.5

    def child_bands(self, country: str | None) -> tuple[str, ...]:
        limit = self.country_limits.get(country.upper(), None) if country else None
        return AGE_LIMITS[limit if limit is not None else self.default_age_limit]

    def experiment_for(self, moment: str) -> Experiment | None:
        for exp in self.experiments:
            if exp.enabled and moment in exp.contexts:
                return exp
        return None


def load_policy(path: Path | None = None) -> Policy:
    """Read, check and compile a policy file (the packaged default when ``path`` is None)."""
    path = DEFAULT_POLICY if path is None else path
    root = load_yaml(path, kind="contact policy")
    allowed = {
        "version", "extends", "disable", "age_limits", "unassured_actor_as_adult",
        "allow_unconnected_adult_dm_to_children", "default_decision", "rules", "signals",
        "prompts", "conversation_risk",
    }  # fmt: skip
    root.keys(allowed)
    extends = root.get("extends", "none").choice({"none", "default"})
    base: Policy | None = None
    if extends == "default":
        if path.resolve() == DEFAULT_POLICY:
            raise root.get("extends").fail("the default policy cannot extend itself")
        base = load_policy(DEFAULT_POLICY)
    elif root.get("rules").value is None:
        raise root.fail("a policy that does not extend the default needs 'rules'")

    prompts = root.get("prompts")
    moments: dict[str, Moment] = dict(base.moments) if base else {}
    experiments: tuple[Experiment, ...] = base.experiments if base else ()
    if prompts.value is not None:
        prompts.keys({"moments", "experiments"})
        if prompts.get("moments").value is not None:
            moments = _moments(prompts)
        if prompts.get("experiments").value is not None:
            experiments = _experiments(prompts, moments)
    own = _rules(root.get("rules"), moments)
    disabled = set(root.get("disable").texts()) if root.get("disable").value is not None else set()
    if disabled and base is None:
        raise root.get("disable").fail("'disable' only applies with 'extends: default'")
    inherited: list[Rule] = []
    if base is not None:
        known = {r.id for r in base.rules}
        for rule_id in sorted(disabled - known):
            raise root.get("disable").fail(f"no default rule {rule_id!r}")
        inherited = [r for r in base.rules if r.id not in disabled]
        for r in inherited:
            for m in (r.prompt_actor, r.prompt_target):
                if m is not None and m not in moments:
                    raise root.get("prompts").fail(f"default rule {r.id!r} needs moment {m!r}")
    ids = [r.id for r in own]
    clash = sorted({i for i in ids if ids.count(i) > 1} | (set(ids) & {r.id for r in inherited}))
    if clash:
        raise root.get("rules").fail(f"duplicate rule id {clash[0]!r}")

    limits = root.get("age_limits")
    default_limit = base.default_age_limit if base else 18
    countries = dict(base.country_limits) if base else {}
    if limits.value is not None:
        limits.keys({"default", "countries"})
        if limits.get("default").value is not None:
            default_limit = _limit(limits.get("default"))
        for code, node in limits.get("countries", {}).items():
            if not (len(code) == 2 and code.isascii() and code.isalpha()):
                raise node.fail(f"{code!r} is not a two-letter country code")
            countries[code.upper()] = _limit(node)

    signals = _signals(root.get("signals"), base.signals if base else SignalRules())
    risk_enabled, risk_terms = (base.risk_enabled, base.risk_terms) if base else (False, ())
    review_score = base.risk_review_score if base else 0.5
    risk = root.get("conversation_risk")
    if risk.value is not None:
        risk.keys({"enabled", "terms", "review_score"})
        risk_enabled = risk.get("enabled", False).boolean()
        if risk.get("review_score").value is not None:
            review_score = risk.get("review_score").number(minimum=0.0, maximum=1.0)
        found: list[Path] = []
        for item in risk.get("terms").seq():
            term_path = path.parent / item.text(max_len=1000)
            if not term_path.is_file():
                raise item.fail(f"no term list at {term_path}")
            found.append(term_path)
        risk_terms = tuple(found)
    policy = Policy(
        source=str(path),
        rules=(*own, *inherited),
        default_decision=root.get(
            "default_decision", base.default_decision if base else "allow"
        ).choice(set(DECISIONS) - {"prompt"}),
        default_age_limit=default_limit,
        country_limits=countries,
        unassured_actor_as_adult=_flag(root, "unassured_actor_as_adult", base, True),
        allow_unconnected_adult_dm_to_children=_flag(
            root, "allow_unconnected_adult_dm_to_children", base, False
        ),
        signals=signals,
        moments=moments,
        experiments=experiments,
        risk_enabled=risk_enabled,
        risk_terms=risk_terms,
        risk_review_score=review_score,
    )
    if not policy.allow_unconnected_adult_dm_to_children:
        _check_children_unreachable(policy, root)
    return policy


def _flag(root: Node, key: str, base: Policy | None, default: bool) -> bool:
    node = root.get(key)
    if node.value is None:
        return bool(getattr(base, key)) if base is not None else default
    return node.boolean()


def _limit(node: Node) -> int:
    value = node.integer()
    if value not in AGE_LIMITS:
        raise node.fail(f"an age limit must be one of {', '.join(map(str, AGE_LIMITS))}")
    return value


def _tri(node: Node) -> bool | None:
    if node.value is None or node.value == "any":
        return None
    return node.boolean()


def _rules(node: Node, moments: dict[str, Moment]) -> list[Rule]:
    out: list[Rule] = []
    conditions = {
        "actions", "actor", "target", "connected", "follows", "actor_flagged",
        "mutual_contacts_below",
    }  # fmt: skip
    for item in node.seq():
        item.keys(
            {"id", "description", "when", "decision", "prompts"}, frozenset({"id", "decision"})
        )
        when = item.get("when", {})
        when.keys(conditions)
        acts = when.get("actions", "*")
        if acts.value == "*":
            actions = frozenset(ACTIONS)
        else:
            actions = frozenset(a.choice(set(ACTIONS)) for a in acts.seq(allow_empty=False))
        prompts = item.get("prompts", {})
        prompts.keys(set(SIDES))
        chosen: dict[str, str | None] = {}
        for side in SIDES:
            p = prompts.get(side)
            if p.value is None:
                chosen[side] = None
                continue
            moment = p.ident()
            if moment not in moments:
                raise p.fail(f"no prompt moment {moment!r} (see prompts.moments)")
            if moments[moment].side != side:
                raise p.fail(f"moment {moment!r} is shown to the {moments[moment].side}")
            chosen[side] = moment
        below = when.get("mutual_contacts_below")
        out.append(
            Rule(
                id=item.get("id").ident(),
                description=item.get("description", "").text(allow_empty=True, max_len=500),
                decision=item.get("decision").choice(set(DECISIONS)),
                actions=actions,
                actor=when.get("actor", "any").choice(set(PARTIES)),
                target=when.get("target", "any").choice(set(PARTIES)),
                connected=_tri(when.get("connected")),
                follows=_tri(when.get("follows")),
                actor_flagged=_tri(when.get("actor_flagged")),
                mutual_contacts_below=None
                if below.value is None
                else below.integer(minimum=1, maximum=1_000_000),
                prompt_actor=chosen["actor"],
                prompt_target=chosen["target"],
            )
        )
    return out


def _signals(node: Node, base: SignalRules) -> SignalRules:
    if node.value is None:
        return base
    node.keys(
        {
            "retention_days", "window_days", "blocked_or_reported_by_children",
            "ignored_requests_to_children", "ignored_share",
        }
    )  # fmt: skip

    def whole(key: str, lo: int, hi: int) -> int:
        n = node.get(key)
        return int(getattr(base, key)) if n.value is None else n.integer(minimum=lo, maximum=hi)

    share = node.get("ignored_share")
    out = SignalRules(
        retention_days=whole("retention_days", 1, 3660),
        window_days=whole("window_days", 1, 3660),
        blocked_or_reported_by_children=whole("blocked_or_reported_by_children", 1, 1_000_000),
        ignored_requests_to_children=whole("ignored_requests_to_children", 1, 1_000_000),
        ignored_share=base.ignored_share
        if share.value is None
        else share.number(minimum=0.0, maximum=1.0),
    )
    if out.window_days > out.retention_days:
        raise node.get("window_days").fail("must not be longer than retention_days")
    return out


def _moments(node: Node) -> dict[str, Moment]:
    out: dict[str, Moment] = {}
    for moment_id, m in node.get("moments").items():
        m.keys({"side", "default", "help", "variants"}, frozenset({"side", "variants", "default"}))
        if not _ident_ok(moment_id):
            raise m.fail(f"{moment_id!r} is not a valid id")
        variants: dict[str, tuple[str, str]] = {}
        neutral: set[str] = set()
        for vid, v in m.get("variants").items():
            v.keys({"title", "text", "neutral"}, frozenset({"title", "text"}))
            if not _ident_ok(vid):
                raise v.fail(f"{vid!r} is not a valid id")
            variants[vid] = (v.get("title").text(max_len=200), v.get("text").text(max_len=2000))
            if v.get("neutral", False).boolean():
                neutral.add(vid)
        if not variants:
            raise m.get("variants").fail("must not be empty")
        default = m.get("default").ident()
        if default not in variants:
            raise m.get("default").fail(f"no variant {default!r}")
        out[moment_id] = Moment(
            moment_id,
            m.get("side").choice(set(SIDES)),
            default,
            variants,
            frozenset(neutral),
            m.get("help", True).boolean(),
        )
    return out


def _ident_ok(value: str) -> bool:
    return bool(value) and value[0].isalnum() and all(c.isalnum() or c in "-_" for c in value)


def _experiments(node: Node, moments: dict[str, Moment]) -> tuple[Experiment, ...]:
    """Prompt experiments, in the shape of Deter's (``contexts`` are moments here)."""
    out: list[Experiment] = []
    covered: dict[str, str] = {}
    fields = {"id", "moments", "control", "arms", "rotation_days", "plan", "enabled"}
    for e in node.get("experiments").seq():
        e.keys(fields, frozenset({"id", "moments", "control", "arms"}))
        exp_id = e.get("id").ident()
        chosen = tuple(m.choice(set(moments)) for m in e.get("moments").seq(allow_empty=False))
        arms: list[Arm] = []
        for a in e.get("arms").seq(allow_empty=False):
            a.keys({"id", "variant", "weight"}, frozenset({"id", "variant"}))
            arm_id = a.get("id").ident()
            if any(x.id == arm_id for x in arms):
                raise a.get("id").fail(f"duplicate arm id {arm_id!r}")
            variant = a.get("variant").ident()
            for m in chosen:
                if variant not in moments[m].variants:
                    raise a.get("variant").fail(f"moment {m!r} has no variant {variant!r}")
            arms.append(
                Arm(arm_id, variant, False, a.get("weight", 1).number(minimum=0, maximum=1e6))
            )
        if len(arms) < 2:
            raise e.get("arms").fail("an experiment needs at least two arms")
        control = e.get("control").ident()
        control_arm = next((a for a in arms if a.id == control), None)
        if control_arm is None or control_arm.weight <= 0:
            raise e.get("control").fail(f"no arm {control!r} with a weight above zero")
        if any(control_arm.variant not in moments[m].neutral for m in chosen):
            raise e.get("control").fail("the control arm must show a neutral variant")
        enabled = e.get("enabled", True).boolean()
        if enabled:
            for m in chosen:
                if m in covered:
                    raise e.get("moments").fail(f"{m!r} is already in experiment {covered[m]!r}")
                covered[m] = exp_id
        plan = _plan(e.get("plan")) if e.get("plan").value is not None else None
        rotation = e.get("rotation_days", 30).number(minimum=1 / 24, maximum=3660)
        out.append(Experiment(exp_id, chosen, control, tuple(arms), rotation, plan, enabled))
    return tuple(out)


def _check_children_unreachable(policy: Policy, root: Node) -> None:
    """Refuse a policy that lets an unconnected adult direct-message any child."""
    from safespace.contact._engine import Engine
    from safespace.contact._types import Account, ContactRequest, Relation

    engine = Engine(policy)
    countries: list[str | None] = [None, *sorted(policy.country_limits)]
    for country in countries:
        children = [*policy.child_bands(country), "unknown"]
        for band in children:
            for assured in (True, False):
                for actor_band in ("18-plus", "unknown"):
                    for mutual in (0, 1, 10, 10_000):
                        req = ContactRequest(
                            Account("adult", actor_band, True),
                            Account("child", band, assured),
                            "direct_message",
                            Relation(connected=False, follows=False, mutual_contacts=mutual),
                            country=country,
                        )
                        got = engine.decide(req, actor_flagged=False)
                        if got.decision != "deny":
                            where = f"country {country}" if country else "the default country"
                            raise ConfigError(
                                f"{root.file}: rule {got.rule!r} lets an adult with no "
                                f"connection send a direct message to a child ({band}, "
                                f"{where}); set allow_unconnected_adult_dm_to_children: "
                                "true if that is really meant"
                            )
