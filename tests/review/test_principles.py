"""Each of the six principles, met and not met, read from small proposals.

The bare proposal (``proposal()``) meets none of them: no tiers, no burn, no rules.
"""

from __future__ import annotations

import pytest

from tests.review.helpers import BURN, NAME, line_of, plain_tiers, proposal, review_of


def status(text: str, key: str) -> str:
    return review_of(text).principle(key).status


def test_the_bare_proposal_meets_nothing_and_needs_rework():
    review = review_of(proposal())
    assert [p.status for p in review.principles] == ["not_met"] * 6
    assert review.verdict.word == "rework"
    assert review.verdict.met == 0
    assert all(p.decided_by == "tool" for p in review.principles)
    assert all(p.remedy for p in review.principles)


# --- reason to join ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section",
    [
        BURN,
        plain_tiers("Standard", bodies={0: "benefits:\n  - kind: free\n    description: Free tea"}),
        """
        rules:
          - id: welcome
            name: Welcome
            when: {member: {days_since_joined: {lte: 30}}}
            then: [{bonus_points: 300}]
        """,
    ],
    ids=["spendable points", "first-level benefit", "welcome offer"],
)
def test_reason_to_join_is_met_by_a_pitch_and_something_from_day_one(section: str):
    text = proposal(section)
    result = review_of(text).principle("reason_to_join")
    assert result.status == "met"
    pitch = result.evidence[0]
    assert pitch.text.startswith("pitch:")
    assert (pitch.file, pitch.line) == (NAME, line_of(text, "pitch:"))


def test_reason_to_join_is_not_met_by_a_pitch_alone():
    result = review_of(proposal()).principle("reason_to_join")
    assert result.status == "not_met"
    assert [e.text for e in result.evidence] == [
        'pitch: "Join for free delivery."',
        'the pitch names "free delivery"',
    ]
    assert "first level" in (result.remedy or "")


def test_only_first_level_benefits_welcome_a_new_member():
    gold_only = plain_tiers(
        "Standard", "Gold", bodies={1: "benefits:\n  - kind: free\n    description: Free tea"}
    )
    assert status(proposal(gold_only), "reason_to_join") == "not_met"


# --- repurchase incentive ------------------------------------------------------------------


@pytest.mark.parametrize(
    "section",
    [
        """
        burn:
          points: 100
          worth: 1
          catalogue:
            - {id: free-tea, name: A free tea, points: 200, voucher: 5}
        """,
        """
        rules:
          - id: come-back
            name: Come back within a week
            when: {member: {days_since_last_purchase: {between: [1, 7]}}}
            then: [{bonus_points: 50}]
        """,
        """
        outreach:
          - id: lapse
            trigger: lapse
            cycle_days: 14
            channel: sms
            template: We miss you
            offer: [{bonus_points: 100}]
            grants: {valid_days: 7}
        """,
    ],
    ids=["catalogue", "next-visit rule", "lapse outreach granting an offer"],
)
def test_repurchase_incentive_is_met_by_a_catalogue_or_next_visit_offers(section: str):
    text = proposal(section)
    result = review_of(text).principle("repurchase_incentive")
    assert result.status == "met"
    assert result.evidence[0].file == NAME
    assert result.evidence[0].line is not None


def test_a_catalogue_is_pointed_at_its_line():
    text = proposal(
        """
        burn:
          points: 100
          worth: 1
          catalogue:
            - {id: free-tea, name: A free tea, points: 200, voucher: 5}
        """
    )
    (evidence,) = review_of(text).principle("repurchase_incentive").evidence
    assert evidence.line == line_of(text, "catalogue:")
    assert "1 reward" in evidence.text


@pytest.mark.parametrize(
    "section",
    [
        """
        rules:
          - id: second-visit
            name: Second visit gift, once
            limit: {per_member: 1, period: ever}
            when: {member: {days_since_last_purchase: {gte: 1}}}
            then: [{bonus_points: 300}]
        """,
        """
        outreach:
          - id: birthday
            trigger: birthday
            channel: sms
            template: Happy birthday
            offer: [{bonus_points: 100}]
        """,
        """
        outreach:
          - id: lapse
            trigger: lapse
            cycle_days: 14
            channel: sms
            template: We miss you, 100 bonus points on your next visit
            offer: [{bonus_points: 100}]
        """,
        BURN,
    ],
    ids=[
        "one-off sign-up gift",
        "birthday gift",
        "lapse outreach promising an offer the till does not honour",
        "plain burn value",
    ],
)
def test_repurchase_incentive_is_not_met_by_one_off_gifts(section: str):
    assert status(proposal(section), "repurchase_incentive") == "not_met"


# --- bigger baskets ------------------------------------------------------------------------

RULE = """
rules:
  - id: basket
    name: Basket rule
    when: {when}
    then: [{{discount: {{amount: 15}}}}]
"""


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("{transaction: {amount: {gte: 200}}}", "spend over 200"),
        ("{transaction: {item_count: {gte: 3}}}", "3 items or more"),
        ("{lines: [{category: coffee}, {category: pastry}]}", "a bundle of 2 lines"),
        ("{lines: [{category: beans, quantity: {gte: 2}}]}", "2 or more of one item"),
        ("{lines: [{category: cosmetics, amount: {gte: 800}}]}", "a line over 800"),
    ],
)
def test_bigger_baskets_is_met_by_thresholds_and_bundles(when: str, reason: str):
    text = proposal(RULE.format(when=when))
    (evidence,) = review_of(text).principle("bigger_baskets").evidence
    assert evidence.text.startswith(reason + ": rule 'basket'")
    assert evidence.line == line_of(text, "- id: basket")


@pytest.mark.parametrize(
    "section",
    [
        RULE.format(when="{transaction: {weekday: wed}}"),
        RULE.format(when="{lines: [{category: coffee}]}"),
        """
        campaigns:
          - id: reactivate
            name: Reactivate
            kind: downpour
            window: {from: "2026-04-01", until: "2026-04-14"}
            groups:
              - id: a
                when: {transaction: {amount: {gte: 30}}}
                offer: [{bonus_points: 800}]
        """,
    ],
    ids=["weekday only", "one line", "reactivation group's minimum spend"],
)
def test_bigger_baskets_is_not_met_without_a_threshold_or_bundle(section: str):
    assert status(proposal(section), "bigger_baskets") == "not_met"


# --- stickiness ----------------------------------------------------------------------------

MONTHLY = '["2026-03-18", "2026-04-18", "2026-05-18", "2026-06-18"]'


@pytest.mark.parametrize(
    ("section", "said"),
    [
        (RULE.format(when="{transaction: {weekday: wed}}"), "every week (wed)"),
        (RULE.format(when="{transaction: {date: {in: " + MONTHLY + "}}}"), "every month on day 18"),
        (
            RULE.format(when="{transaction: {day_of_month: [18]}}"),
            "every month (day_of_month: [18])",
        ),
        (
            RULE.format(when="{transaction: {last_day_of_month: true}}"),
            "every month (last_day_of_month: true)",
        ),
        (
            plain_tiers(
                "Standard",
                bodies={
                    0: "benefits:\n  - kind: free\n    description: A free cake\n"
                    "    quantity: 1\n    per: month"
                },
            ),
            "Standard: A free cake (per month)",
        ),
    ],
    ids=[
        "member day every week",
        "member day every month",
        "day_of_month",
        "last day of the month",
        "monthly benefit",
    ],
)
def test_stickiness_is_met_by_a_weekly_or_monthly_member_deal(section: str, said: str):
    (evidence,) = review_of(proposal(section)).principle("stickiness").evidence
    assert evidence.text.startswith(said)


@pytest.mark.parametrize(
    "section",
    [
        # A weekday deal inside a 10-day sale is a promotion, not a habit.
        RULE.format(when="{transaction: {weekday: sun}}").replace(
            "    when:", '    window: {from: "2026-09-18", until: "2026-09-27"}\n    when:'
        ),
        RULE.format(when="{transaction: {weekday: [mon, tue, wed, thu, fri, sat, sun]}}"),
        RULE.format(when='{transaction: {date: {in: ["2026-03-18", "2026-04-18"]}}}'),
        plain_tiers(
            "Standard",
            bodies={0: "benefits:\n  - kind: free\n    description: Cake\n    per: year"},
        ),
    ],
    ids=["short window", "every day", "two dates only", "yearly benefit"],
)
def test_stickiness_is_not_met_by_one_off_or_daily_deals(section: str):
    assert status(proposal(section), "stickiness") == "not_met"


# --- emotional bond ------------------------------------------------------------------------


def test_emotional_bond_is_met_by_a_themed_card():
    text = proposal('review:\n  theme: "The card carries your neighbourhood\'s name."\n')
    (evidence,) = review_of(text).principle("emotional_bond").evidence
    assert evidence.text.startswith("themed card:")
    assert evidence.line == line_of(text, "theme:")


@pytest.mark.parametrize(
    "description",
    ["Round up your change for the community canteen", "每100杯捐一棵树 公益", "We plant a tree"],
)
def test_emotional_bond_is_met_by_a_cause_linked_benefit(description: str):
    benefit = f'benefits:\n  - kind: welfare\n    description: "{description}"'
    text = proposal(plain_tiers("Standard", bodies={0: benefit}))
    (evidence,) = review_of(text).principle("emotional_bond").evidence
    assert evidence.text.startswith("cause-linked:")


def test_emotional_bond_is_not_met_by_money_alone():
    benefit = "benefits:\n  - kind: discount\n    description: 5% off\n    percent: 5"
    assert status(proposal(plain_tiers("Standard", bodies={0: benefit})), "emotional_bond") == (
        "not_met"
    )


# --- social face ---------------------------------------------------------------------------


def test_social_face_is_met_by_a_paid_level():
    paid = "paid: {fee: 1880, term_months: 12}"
    text = proposal(plain_tiers("Standard", "Platinum", bodies={1: paid}))
    (evidence,) = review_of(text).principle("social_face").evidence
    assert evidence.text == "paid level: Platinum for 1,880 CNY"
    assert evidence.line == line_of(text, "- id: t1")


def test_social_face_is_met_by_an_invitation_only_level():
    text = proposal(plain_tiers("Standard", "Black", bodies={1: "invitation_only: true"}))
    assert review_of(text).principle("social_face").evidence[0].text.startswith("invitation-only")


def test_social_face_is_met_by_visible_status_on_a_higher_level():
    lane = "benefits:\n  - kind: privilege\n    description: Express lane"
    text = proposal(plain_tiers("Standard", "Gold", bodies={1: lane}))
    (evidence,) = review_of(text).principle("social_face").evidence
    assert evidence.text == "privilege for Gold: Express lane"
    assert evidence.line == line_of(text, "- kind: privilege")


def test_social_face_is_not_met_when_everybody_gets_the_privilege():
    lane = "benefits:\n  - kind: privilege\n    description: Express lane"
    assert status(proposal(plain_tiers("Standard", "Gold", bodies={0: lane})), "social_face") == (
        "not_met"
    )


# --- claims --------------------------------------------------------------------------------


def test_a_claim_without_structure_needs_judgement():
    text = proposal('review:\n  claims:\n    social_face: "Members love the gold card."\n')
    result = review_of(text).principle("social_face")
    assert result.status == "needs_judgement"
    assert result.decided_by == "tool"
    (claim,) = result.evidence
    assert (claim.kind, claim.text, claim.line) == (
        "claim",
        "Members love the gold card.",
        line_of(text, "social_face:"),
    )
    assert result.remedy  # still says what would satisfy it


def test_a_claim_beside_structure_is_shown_as_supporting_evidence():
    text = proposal(BURN, 'review:\n  claims:\n    reason_to_join: "Points from day one."\n')
    result = review_of(text).principle("reason_to_join")
    assert result.status == "met"
    assert [e.kind for e in result.evidence] == ["structure", "structure", "structure", "claim"]


def test_claims_alone_never_make_a_proposal_launchable():
    claims = "\n".join(
        f'    {key}: "We have it."'
        for key in (
            "reason_to_join",
            "repurchase_incentive",
            "bigger_baskets",
            "stickiness",
            "emotional_bond",
            "social_face",
        )
    )
    review = review_of(proposal("review:\n  claims:\n" + claims + "\n"))
    assert review.verdict.met == 0
    assert review.verdict.needs_judgement == 6
    assert review.verdict.word == "rework"


def test_four_principles_met_is_launchable_and_three_is_not():
    lane = "benefits:\n  - kind: privilege\n    description: Express lane"
    three = proposal(
        BURN,
        plain_tiers("Standard", "Gold", bodies={1: lane}),
        RULE.format(when="{transaction: {weekday: wed}}"),
    )
    four = three + 'review:\n  theme: "Your neighbourhood on the card."\n'
    assert (review_of(three).verdict.met, review_of(three).verdict.launchable) == (3, False)
    assert (review_of(four).verdict.met, review_of(four).verdict.launchable) == (4, True)
