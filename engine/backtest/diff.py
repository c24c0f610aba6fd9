"""Member-level differences between the live version's replay and a proposal's.

A sale's impact is what the member got from it under the proposal less under the live
version: discounts plus the face value of the points earned (the burn value). A member's
impact sums their sales'. Sorted by the size of the impact, largest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.backtest.figures import MemberFigures
from engine.backtest.replay import Result
from engine.backtest.run import Backtest, VersionRun
from engine.backtest.value import burn_value, facts

MATERIAL_PERCENT = Decimal(5)  # a loss of 5% of what a member got is material by default


@dataclass(frozen=True)
class SaleChange:
    id: str
    member_id: str | None
    kind: str
    points: int  # proposal - live
    discounts: Decimal
    impact: Decimal
    refused: str | None  # "live", "proposal" or None when both posted it

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "member_id": self.member_id,
            "kind": self.kind,
            "points": self.points,
            "discounts": str(self.discounts),
            "impact": str(self.impact),
            "refused_under": self.refused,
        }


@dataclass(frozen=True)
class MemberChange:
    member_id: str
    points: int
    discounts: Decimal
    impact: Decimal
    live_value: Decimal
    material: bool
    tier_end: tuple[str | None, str | None]
    tier_review: tuple[str | None, str | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "points": self.points,
            "discounts": str(self.discounts),
            "impact": str(self.impact),
            "live_value": str(self.live_value),
            "material": self.material,
            "tier_at_end": list(self.tier_end),
            "tier_at_next_review": list(self.tier_review),
        }


@dataclass
class Comparison:
    live: str
    proposal: str
    sales: list[SaleChange] = field(default_factory=list)
    members: list[MemberChange] = field(default_factory=list)
    material_percent: Decimal = MATERIAL_PERCENT
    tier_drops: dict[str, list[str]] = field(default_factory=dict)  # label -> member ids

    @property
    def worse_off(self) -> list[MemberChange]:
        return [m for m in self.members if m.impact < 0]

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        worse = self.worse_off
        return {
            "live": self.live,
            "proposal": self.proposal,
            "sales_changed": len(self.sales),
            "members_changed": len(self.members),
            "sales": [s.as_dict() for s in self.sales[:limit]],
            "members": [m.as_dict() for m in self.members[:limit]],
            "devaluation": {
                "no_member_worse_off": not worse,
                "members_worse_off": len(worse),
                "value_lost": str(sum((m.impact for m in worse), Decimal(0))),
                "material_percent": str(self.material_percent),
                "members_materially_worse_off": sum(1 for m in worse if m.material),
            },
            "tier_drop_forecast": {k: len(v) for k, v in self.tier_drops.items()},
            "tier_drops": {k: v[:limit] for k, v in self.tier_drops.items()},
        }


def compare(
    test: Backtest, proposal: VersionRun, *, material_percent: Decimal = MATERIAL_PERCENT
) -> Comparison:
    live = test.runs[0]
    found = Comparison(live.label, proposal.label, material_percent=material_percent)
    found.sales = _sales(live, proposal)
    found.members = _members(live, proposal, material_percent)
    found.tier_drops = {live.label: _drops(live), proposal.label: _drops(proposal)}
    return found


def _worth(run: VersionRun, points: int) -> Decimal:
    return burn_value(run.evaluator, facts(run.evaluator), points)


def _sales(live: VersionRun, proposal: VersionRun) -> list[SaleChange]:
    changes = []
    for old, new in zip(live.results, proposal.results, strict=True):
        if old.ok == new.ok and (old.earned, old.redeemed, old.discounts) == (
            new.earned,
            new.redeemed,
            new.discounts,
        ):
            continue
        points = _earned(new) - _earned(old)
        discounts = new.discounts - old.discounts
        refused = "live" if not old.ok else "proposal" if not new.ok else None
        impact = discounts + _worth(proposal, _earned(new)) - _worth(live, _earned(old))
        changes.append(
            SaleChange(old.id, old.member_id, old.kind, points, discounts, impact, refused)
        )
    return sorted(changes, key=lambda c: (-abs(c.impact), c.id))


def _earned(result: Result) -> int:
    return result.earned if result.ok else 0


def _members(
    live: VersionRun, proposal: VersionRun, material_percent: Decimal
) -> list[MemberChange]:
    changes = []
    empty = MemberFigures()
    for member_id in sorted(set(live.figures.members) | set(proposal.figures.members)):
        old = live.figures.members.get(member_id, empty)
        new = proposal.figures.members.get(member_id, empty)
        impact = new.value - old.value
        tiers = (old.tier_end, new.tier_end), (old.tier_review, new.tier_review)
        if (
            not impact
            and old.earned == new.earned
            and tiers[0][0] == tiers[0][1]
            and (tiers[1][0] == tiers[1][1])
        ):
            continue
        material = impact < 0 and (old.value <= 0 or -impact * 100 >= old.value * material_percent)
        changes.append(
            MemberChange(
                member_id,
                new.earned - old.earned,
                new.discounts - old.discounts,
                impact,
                old.value,
                material,
                *tiers,
            )
        )
    return sorted(changes, key=lambda c: (-abs(c.impact), c.member_id))


def _drops(run: VersionRun) -> list[str]:
    """Members who would lose status at the next review under ``run``'s version."""
    order = {level["id"]: i for i, level in enumerate(run.evaluator.levels)}
    return sorted(
        member_id
        for member_id, who in run.figures.members.items()
        if who.tier_end in order
        and who.tier_review in order
        and order[who.tier_review] < order[who.tier_end]
    )
