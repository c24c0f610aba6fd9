"""A frozen, typed model of a programme's ``tiers`` section, parsed once.

TODAY's syntax maps onto it unchanged in meaning: ``qualifying.metric/period`` is one metric
and one window, ``threshold.amount`` a leaf, ``top_percent`` a leaf resolved at the review
(``resolved`` amounts, never below the level's ``floor``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from engine.tiering.requirements import AllOf, AnyOf, Leaf, Requirement

MetricKind = Literal["spend", "points", "nights", "stays", "segments", "distance", "counter"]
WHOLE_KINDS = frozenset({"nights", "stays", "segments", "counter", "points"})
DEFAULT_QUANTITY = {"distance": "distance_km"}
# Today's ``qualifying.period`` → a window; today's ``status_lasts`` → a validity.
PERIOD_WINDOWS: dict[str, dict[str, Any]] = {
    "calendar_year": {"kind": "calendar_year"},
    "rolling_12_months": {"kind": "rolling_months", "months": 12},
    "anniversary_year": {"kind": "membership_year", "from": "join"},
}


@dataclass(frozen=True)
class Multiplier:
    by: Decimal
    category: str | None = None
    sku: str | None = None
    attribute: str | None = None
    values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Metric:
    id: str
    kind: MetricKind
    quantity: str
    per: Literal["line", "transaction"] = "line"
    points: Literal["base", "with_bonuses"] = "base"
    exclude_categories: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()
    exclude_flags: frozenset[str] = frozenset()
    multipliers: tuple[Multiplier, ...] = ()
    # Today's nights/segments count each line's ``quantity``, today's visits one per sale.
    legacy: Literal["line_quantity", "one_per_transaction"] | None = None

    @property
    def whole(self) -> bool:
        """Whether amounts of this metric are whole numbers (nights, stays, points...)."""
        return self.kind in WHOLE_KINDS


@dataclass(frozen=True)
class Window:
    kind: Literal[
        "calendar_year",
        "year_from_month",
        "rolling_months",
        "membership_year",
        "calendar_months",
        "review_anchored",
    ]
    start_month: int = 1
    months: int = 12
    anchor: Literal["join", "upgrade"] = "join"


@dataclass(frozen=True)
class Validity:
    """How long status lasts. ``legacy`` carries today's ``status_lasts``/``status_through``."""

    kind: Literal[
        "fixed_date",
        "months_from_upgrade",
        "until_next_review",
        "rest_of_year_and_next",
        "legacy",
    ]
    month: int = 12
    day: int | None = None  # None: the month's last day
    years: int = 1
    months: int = 12
    legacy_rule: str = "end_of_next_period"
    legacy_through: str = "day_before"


@dataclass(frozen=True)
class Downgrade:
    to: Literal["one_level", "to_qualified", "never"] = "to_qualified"
    grace_months: int = 0
    reinstate_months: int = 0


@dataclass(frozen=True)
class Milestone:
    id: str
    metric: str
    points: int
    at: tuple[Decimal, ...] = ()
    every: Decimal | None = None
    after: Decimal = Decimal(0)
    up_to: Decimal | None = None


@dataclass(frozen=True)
class Level:
    id: str
    rank: int
    requires: Requirement | None = None  # None: the base level, or not reached by metrics
    requalify: Requirement | None = None  # None: keeping needs what reaching needs
    lifetime: Requirement | None = None
    invitation_only: bool = False
    top_percent: Decimal | None = None  # resolved into ``requires`` by ``with_resolved``
    floor: Decimal = Decimal(0)
    earn_multiplier: Decimal | None = None
    expiry: Mapping[str, Any] = field(default_factory=dict)

    @property
    def keep(self) -> Requirement | None:
        """What keeping this level needs: ``requalify`` if stated, else ``requires``."""
        return self.requalify if self.requalify is not None else self.requires


@dataclass(frozen=True)
class TierModel:
    metrics: Mapping[str, Metric]
    window: Window
    validity: Validity
    downgrade: Downgrade
    levels: tuple[Level, ...]
    milestones: tuple[Milestone, ...] = ()

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(level.id for level in self.levels)

    def level(self, tier: str | None) -> Level:
        """The level ``tier``, or the base level for an unknown or missing tier."""
        for level in self.levels:
            if level.id == tier:
                return level
        return self.levels[0]

    def with_resolved(self, resolved: Mapping[str, Decimal]) -> TierModel:
        """Top-percent levels turned into amount leaves on the first metric, as the review
        resolved them (never below ``floor``); unresolved ones stay unreachable."""
        first = next(iter(self.metrics))
        levels = []
        for level in self.levels:
            if level.top_percent is not None and level.id in resolved:
                amount = max(Decimal(resolved[level.id]), level.floor)
                level = replace(level, requires=Leaf(first, amount))
            levels.append(level)
        return replace(self, levels=tuple(levels))


def parse(tiers: Mapping[str, Any]) -> TierModel:
    """The model of a schema-valid ``tiers`` mapping (today's syntax or the extended one)."""
    qualifying = tiers.get("qualifying", {})
    metrics = _metrics(tiers, qualifying)
    first = next(iter(metrics))
    levels = tuple(_level(raw, rank, first) for rank, raw in enumerate(tiers["levels"]))
    return TierModel(
        metrics=metrics,
        window=_window(qualifying),
        validity=_validity(tiers),
        downgrade=_downgrade(tiers.get("downgrade", "to_qualified")),
        levels=levels,
        milestones=tuple(_milestone(raw) for raw in tiers.get("milestones", ())),
    )


def _metrics(tiers: Mapping[str, Any], qualifying: Mapping[str, Any]) -> dict[str, Metric]:
    declared = tiers.get("metrics")
    if not declared:
        kind = qualifying.get("metric", "spend")
        # Today's "visits" is a per-transaction counter.
        if kind == "visits":
            visits = Metric("visits", "counter", "visits", per="transaction")
            return {"visits": replace(visits, legacy="one_per_transaction")}
        metric = Metric(kind, kind, DEFAULT_QUANTITY.get(kind, kind))
        return {kind: replace(metric, legacy="line_quantity") if kind != "spend" else metric}
    return {name: _metric(name, raw) for name, raw in declared.items()}


def _metric(name: str, raw: Mapping[str, Any]) -> Metric:
    kind = raw["kind"]
    exclude = raw.get("exclude", {})
    return Metric(
        id=name,
        kind=kind,
        quantity=raw.get("quantity", DEFAULT_QUANTITY.get(kind, kind)),
        per=raw.get("per", "line"),
        points=raw.get("points", "base"),
        exclude_categories=frozenset(exclude.get("categories", ())),
        exclude_skus=frozenset(exclude.get("skus", ())),
        exclude_flags=frozenset(exclude.get("flags", ())),
        multipliers=tuple(
            Multiplier(
                by=_dec(m["by"]),
                category=m.get("category"),
                sku=m.get("sku"),
                attribute=m.get("attribute"),
                values=frozenset(m.get("values", ())),
            )
            for m in raw.get("multipliers", ())
        ),
    )


def requirement(raw: Mapping[str, Any]) -> Requirement:
    """A requirement expression from its mapping."""
    if "any_of" in raw:
        return AnyOf(tuple(requirement(item) for item in raw["any_of"]))
    if "all_of" in raw:
        return AllOf(tuple(requirement(item) for item in raw["all_of"]))
    return Leaf(raw["metric"], _dec(raw["at_least"]))


def _level(raw: Mapping[str, Any], rank: int, first: str) -> Level:
    threshold = raw.get("threshold", {})
    requires = requirement(raw["requires"]) if "requires" in raw else None
    if "amount" in threshold:
        requires = Leaf(first, _dec(threshold["amount"]))
    return Level(
        id=raw["id"],
        rank=rank,
        requires=requires,
        requalify=requirement(raw["requalify"]) if "requalify" in raw else None,
        lifetime=requirement(raw["lifetime"]) if "lifetime" in raw else None,
        invitation_only=bool(raw.get("invitation_only", False)),
        top_percent=_dec(threshold["top_percent"]) if "top_percent" in threshold else None,
        floor=_dec(raw.get("floor", 0)),
        earn_multiplier=_dec(raw["earn_multiplier"]) if "earn_multiplier" in raw else None,
        expiry=dict(raw.get("points_expiry", {})),
    )


def _window(qualifying: Mapping[str, Any]) -> Window:
    raw = qualifying.get("window") or PERIOD_WINDOWS[qualifying.get("period", "calendar_year")]
    return Window(
        kind=raw["kind"],
        start_month=raw.get("start_month", 1),
        months=raw.get("months", 12),
        anchor=raw.get("from", "join"),
    )


def _validity(tiers: Mapping[str, Any]) -> Validity:
    raw = tiers.get("validity")
    if raw is None:
        return Validity(
            "legacy",
            legacy_rule=tiers.get("status_lasts", "end_of_next_period"),
            legacy_through=tiers.get("status_through", "day_before"),
        )
    return Validity(
        kind=raw["kind"],
        month=raw.get("month", 12),
        day=raw.get("day"),
        years=raw.get("years", 1),
        months=raw.get("months", 12),
    )


def downgrade_word(raw: str | Mapping[str, Any]) -> str:
    """``downgrade`` as today's single word, from either form (``one_level`` or
    ``{to: one_level, grace_months: 3}``), for code that reads only the word."""
    return str(raw if isinstance(raw, str) else raw["to"])


def _downgrade(raw: str | Mapping[str, Any]) -> Downgrade:
    if isinstance(raw, str):
        return Downgrade(to=raw)  # type: ignore[arg-type]
    return Downgrade(
        to=raw["to"],
        grace_months=raw.get("grace_months", 0),
        reinstate_months=raw.get("reinstate_months", 0),
    )


def _milestone(raw: Mapping[str, Any]) -> Milestone:
    return Milestone(
        id=raw["id"],
        metric=raw["metric"],
        points=int(raw["points"]),
        at=tuple(sorted(_dec(a) for a in raw.get("at", ()))),
        every=_dec(raw["every"]) if "every" in raw else None,
        after=_dec(raw.get("after", 0)),
        up_to=_dec(raw["up_to"]) if "up_to" in raw else None,
    )


def _dec(value: Any) -> Decimal:
    # str() first: a YAML float such as 1.5 must not carry binary noise into a Decimal.
    return value if isinstance(value, Decimal) else Decimal(str(value))
