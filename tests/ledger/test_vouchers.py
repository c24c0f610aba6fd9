"""Vouchers: issued, listed, used once through the quote, journalled; bulk codes unique."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.errors import ConflictError, InputError, RedemptionError
from engine.ledger.check import check
from engine.ledger.tables import vouchers
from engine.ledger.views import member_view
from engine.ledger.vouchers import (
    ALPHABET,
    Issue,
    generate,
    issue,
    journal_of,
    new_code,
    use_vouchers,
)
from engine.pricing.model import Member, Voucher, parse_transaction
from tests.ledger.conftest import BEANS, LATTE, sale

SHOP = "coffee-shop"
NOW = datetime(2026, 11, 24, tzinfo=UTC)
UNTIL = datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC)


def enrolled(ledger, member="m1"):
    ledger.enrol(SHOP, member, {"name": "Ann", "joined": "2026-01-05"})
    return member


def give(database, member, value="10.00", *, batch="test:1", channels=(), until=UNTIL):
    what = Issue(Decimal(value), "manual", batch, expires_at=until, channels=channels)
    with database.begin() as conn:
        return issue(conn, SHOP, member, what, NOW)


def test_a_code_is_three_groups_of_four_unambiguous_symbols():
    code = new_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [4, 4, 4]
    assert set("".join(groups)) <= set(ALPHABET)
    assert not set("01ILOU") & set(ALPHABET)


def test_a_voucher_pays_part_of_the_sale_and_points_are_earned_on_the_rest(ledger, database):
    member = enrolled(ledger)
    code = give(database, member, "10.00")
    plain = ledger.quote(SHOP, member, sale("q0", LATTE)).as_dict()
    quoted = ledger.quote(SHOP, member, sale("q1", LATTE, vouchers=[code])).as_dict()
    assert quoted["vouchers"] == [{"code": code, "value": "10.00", "paid": "10.00"}]
    assert Decimal(quoted["totals"]["payable"]) == Decimal(plain["totals"]["payable"]) - 10
    assert quoted["points"]["total"] < plain["points"]["total"]
    assert "vouchers" not in plain


def test_a_voucher_worth_more_than_the_basket_pays_the_basket_and_the_rest_is_lost(
    ledger, database
):
    member = enrolled(ledger)
    code = give(database, member, "500.00")
    quoted = ledger.quote(SHOP, member, sale("q1", LATTE, vouchers=[code])).as_dict()
    assert quoted["vouchers"][0]["paid"] == quoted["totals"]["amount"]
    assert Decimal(quoted["totals"]["payable"]) == 0


def test_committing_uses_the_voucher_once_and_journals_it(ledger, database):
    member = enrolled(ledger)
    code = give(database, member, "10.00")
    ledger.commit_sale(SHOP, member, sale("t1", BEANS, vouchers=[code]))
    again = ledger.commit_sale(SHOP, member, sale("t1", BEANS, vouchers=[code]))
    assert again.replayed
    with pytest.raises(RedemptionError) as refused:
        ledger.commit_sale(SHOP, member, sale("t2", BEANS, vouchers=[code]))
    assert refused.value.code == "voucher.used"
    with database.connect() as conn:
        events = journal_of(conn, SHOP, [code])
    assert [(e["kind"], e["transaction_id"], Decimal(e["amount"])) for e in events] == [
        ("issue", None, Decimal(10)),
        ("use", "t1", Decimal(10)),
    ]
    assert check(database) == []


def test_an_expired_voucher_is_refused(ledger, database):
    member = enrolled(ledger)
    code = give(database, member, until=datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(RedemptionError) as refused:
        ledger.quote(SHOP, member, sale("q1", LATTE, vouchers=[code]))
    assert refused.value.code == "voucher.expired"


def test_a_voucher_for_another_channel_is_refused_and_its_own_channel_accepts_it(ledger, database):
    member = enrolled(ledger)
    code = give(database, member, channels=("app",))
    with pytest.raises(RedemptionError) as refused:
        ledger.quote(SHOP, member, sale("q1", LATTE, vouchers=[code], channel="store"))
    assert refused.value.code == "voucher.wrong_channel"
    quoted = ledger.quote(SHOP, member, sale("q2", LATTE, vouchers=[code], channel="app"))
    assert quoted.as_dict()["vouchers"][0]["code"] == code


def test_another_members_voucher_is_unknown_to_this_member(ledger, database):
    owner, other = enrolled(ledger, "m1"), enrolled(ledger, "m2")
    code = give(database, owner)
    with pytest.raises(RedemptionError) as refused:
        ledger.quote(SHOP, other, sale("q1", LATTE, vouchers=[code]))
    assert refused.value.code == "voucher.unknown"


def test_issuing_twice_under_one_batch_gives_the_member_one_voucher(ledger, database):
    member = enrolled(ledger)
    assert give(database, member, batch="convert:2026-Q4") is not None
    assert give(database, member, batch="convert:2026-Q4") is None


def test_the_member_view_lists_vouchers_with_their_state(ledger, database, coffee):
    member = enrolled(ledger)
    used = give(database, member, "5.00", batch="a")
    open_ = give(database, member, "7.50", batch="b")
    ledger.commit_sale(SHOP, member, sale("t1", BEANS, vouchers=[used]))
    with database.connect() as conn:
        listed = member_view(conn, coffee, member, NOW)["vouchers"]
    states = {v["code"]: (v["state"], v["value"], v["used_by"]) for v in listed}
    assert states == {used: ("used", "5.00", "t1"), open_: ("open", "7.50", None)}


def test_bulk_codes_are_all_distinct_bearer_codes_any_member_can_use_once(ledger, database):
    first, second = enrolled(ledger, "m1"), enrolled(ledger, "m2")
    with database.begin() as conn:
        codes = generate(conn, SHOP, Issue(Decimal(5), "campaign:spring", "bulk:spring"), 2500, NOW)
    assert len(codes) == len(set(codes)) == 2500
    with database.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(vouchers)).scalar_one()
    assert stored == 2500
    ledger.commit_sale(SHOP, first, sale("t1", LATTE, vouchers=[codes[0]]))
    with pytest.raises(RedemptionError):
        ledger.commit_sale(SHOP, second, sale("t2", LATTE, vouchers=[codes[0]]))
    ledger.commit_sale(SHOP, second, sale("t3", LATTE, vouchers=[codes[1]]))


def test_a_code_presented_twice_in_one_sale_is_refused_with_its_path(ledger, database):
    member = enrolled(ledger)
    code = give(database, member)
    with pytest.raises(InputError) as refused:
        ledger.quote(SHOP, member, sale("q1", LATTE, vouchers=[code, code]))
    assert refused.value.problems[0].path == ("vouchers", 1)


def test_a_sale_racing_for_a_used_code_fails_with_a_conflict(ledger, database):
    """The quote saw the voucher open; by the time it is written another sale used it."""
    member = enrolled(ledger)
    code = give(database, member)
    evaluator = ledger.evaluator(SHOP)
    seen_open = Member(id=member, vouchers=(Voucher(code, Decimal(10)),))
    quote = evaluator.quote(
        seen_open, parse_transaction(sale("t9", LATTE, vouchers=[code]), evaluator.currency)
    )
    with database.begin() as conn:
        conn.execute(vouchers.update().values(used_at=NOW, used_by="elsewhere"))
        with pytest.raises(ConflictError):
            use_vouchers(conn, SHOP, member, quote, NOW)


def test_the_cli_prints_a_batch_of_distinct_codes_and_the_same_ones_again(database_url, database):
    from click.testing import CliRunner

    from engine.ledger.cli import ledger as command

    args = ["generate-vouchers", "--programme", "rules/coffee-shop/programme.yaml"]
    args += ["--database", database_url, "--id", "autumn", "--count", "40", "--value", "5.00"]
    args += ["--channel", "store", "--expires-at", "2027-01-31T23:59:59+08:00"]
    first = CliRunner().invoke(command, args)
    assert first.exit_code == 0, first.output
    codes = first.stdout.split()
    assert len(codes) == len(set(codes)) == 40
    again = CliRunner().invoke(command, args)
    assert sorted(again.stdout.split()) == sorted(codes)
    assert "already generated: 40 codes" in again.stderr
    bad = CliRunner().invoke(command, [*args[:-6], "--count", "3", "--value", "lots"])
    assert bad.exit_code == 1 and "value must be an amount in CNY" in bad.output
    assert check(database) == []  # the batch's record is a transaction with no points
