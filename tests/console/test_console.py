"""The console in a real browser against a real server: what a marketer, a reviewer and a
till clerk see and can do, and that every page loads with no console error or failed request.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console.conftest import sign_in
from tests.served import call

QUOTE_AT = "2026-11-18T08:15"  # member day (double points) and early-bird hours, Shanghai
CAMPAIGN = "/v1/programmes/recommended/campaigns/reactivate-near-critical-point"
LAUNCH_DAY = "2026-04-13"  # the campaign's first day; the demo history ends the day before


@pytest.fixture(scope="module")
def demo_members(server):
    """400 synthetic members of the recommended programme, with six months of history."""
    loyalty = Path(sys.executable).with_name("loyalty")
    command = [str(loyalty), "demo", "generate", "--members", "400", "--until", "2026-04-12"]
    subprocess.run([*command, "--database", server.database], check=True, capture_output=True)
    return 400


def clean(watch, *, refused_ok=()) -> None:
    """No console error, failed request or refused call, but those the test expects."""
    expected = tuple(f"status of {r.split()[0]} " for r in refused_ok)
    assert [e for e in watch.errors if not (expected and any(x in e for x in expected))] == []
    assert watch.failed == [], watch.failed
    assert [r for r in watch.refused if not r.startswith(refused_ok)] == [], watch.refused


def retype(editor, old: str, new: str) -> None:
    """Select the first ``old`` in the editor and type ``new`` over it, as a person edits one
    line (filling the whole 8 kB programme takes over 10 s on a loaded machine)."""
    start = editor.input_value().index(old)
    editor.evaluate(
        "(area, [a, b]) => { area.focus(); area.setSelectionRange(a, b); }",
        [start, start + len(old)],
    )
    editor.page.keyboard.insert_text(new)


def test_the_first_visit_asks_for_a_key_and_a_wrong_key_is_refused(server, page):
    page, watch = page
    page.goto(f"{server.base}/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.get_by_label("API key").fill("lr_000000000000_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_contain_text("not valid")
    assert "not-a-key" not in page.url
    clean(watch, refused_ok=("401 POST",))
    assert call("GET", f"{server.base}/v1/programmes")[0] == 401  # no session, no key: 401


def test_a_marketer_sees_each_programme_as_one_poster(server, page):
    page, watch = page
    sign_in(page, server, "marketer")
    coffee = page.locator('[data-programme="coffee-shop"]')
    expect(coffee.get_by_role("heading", level=2)).to_have_text("拾光咖啡 Shiguang Coffee Club")
    expect(coffee.locator(".earn")).to_contain_text("1 point per ¥1")
    expect(coffee.locator(".burn")).to_contain_text("10 points = ¥1")
    expect(coffee.locator(".expiry")).to_contain_text("end of the month 12 months after")
    expect(coffee.locator(".tier")).to_have_count(3)
    expect(coffee).to_contain_text("早鸟咖啡 Early bird")
    expect(page.locator(".programme")).to_have_count(6)  # 4 retail examples, hotel, airline
    retail = page.locator('[data-programme="calendar-retail"]')
    expect(retail.locator(".earn")).to_contain_text("1 point per HK$1")
    expect(retail).to_contain_text(
        "Anniversary: spend HK$3,000, save HK$300 (2026-09-18 to 2026-09-27)"
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == "loyalty_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    clean(watch)


def test_a_typo_is_marked_beside_its_line_and_fixing_it_clears_the_mark(server, page):
    page, watch = page
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="Edit and validate").click()
    page.get_by_label("Start from").select_option("coffee-shop")
    editor = page.get_by_label("Programme YAML")
    expect(editor).to_have_value(re.compile("Shiguang Coffee Club"))
    expect(page.locator("#status")).to_have_attribute("data-valid", "true")
    text = editor.input_value()
    line = text.split("\n").index('  name: "拾光咖啡 Shiguang Coffee Club"') + 1
    retype(editor, '  name: "拾光咖啡', '  nmae: "拾光咖啡')
    expect(page.locator(f'#gutter .mark.error[data-line="{line}"]')).to_be_visible()
    problem = page.locator(f'#problems li[data-line="{line}"]')
    expect(problem).to_contain_text("unknown field 'nmae'")
    expect(problem).to_contain_text("did you mean 'name'?")
    expect(page.locator("#status")).to_have_attribute("data-valid", "false")
    page.get_by_role("button", name="Diff against live").click()
    expect(page.locator("#diff-lines .added")).to_have_text(
        f'+ {line}\t  nmae: "拾光咖啡 Shiguang Coffee Club"'
    )
    expect(page.locator("#diff-lines .removed")).to_have_text(
        '- \t  name: "拾光咖啡 Shiguang Coffee Club"'
    )
    retype(editor, '  nmae: "拾光咖啡', '  name: "拾光咖啡')
    expect(page.locator("#status")).to_have_attribute("data-valid", "true")
    expect(page.locator("#gutter .mark")).to_have_count(0)
    clean(watch)


def test_the_simulator_shows_the_points_the_api_quotes(server, page):
    page, watch = page
    members = f"{server.base}/v1/programmes/coffee-shop/members"
    assert call("PUT", f"{members}/sim-1", {"name": "Ann"}, server.keys["marketer"])[0] in (
        200,
        201,
    )
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="Try it").click()
    page.get_by_label("Programme").select_option("coffee-shop")
    page.get_by_label("Stored member id").fill("sim-1")
    page.get_by_label("What-if date and time").fill(QUOTE_AT)
    page.get_by_role("button", name="Quote").click()
    shown = page.locator("#points-total")
    expect(shown).to_have_text(re.compile(r"^\d+$"))
    body = {
        "member_id": "sim-1",
        "at": f"{QUOTE_AT}:00+08:00",
        "transaction": {
            "id": "api-check",
            "at": f"{QUOTE_AT}:00+08:00",
            "lines": [
                {
                    "id": "1",
                    "sku": "LATTE",
                    "category": "coffee",
                    "quantity": 2,
                    "unit_price": "32.00",
                },
                {
                    "id": "2",
                    "sku": "CROISSANT",
                    "category": "pastry",
                    "quantity": 1,
                    "unit_price": "18.00",
                },
            ],
        },
    }
    status, _, quote = call(
        "POST", f"{server.base}/v1/programmes/coffee-shop/quote", body, server.keys["marketer"]
    )
    assert status == 200
    assert shown.inner_text() == str(quote["points"]["total"]) == "134"
    expect(page.locator("#payable")).to_have_text(quote["totals"]["payable"])
    expect(page.locator("#result")).to_contain_text("rule:member-day-18th")
    expect(page.locator("#result")).to_contain_text("Two bags of beans")  # did not apply, and why
    progress = page.get_by_role("progressbar", name="Qualifying spend towards gold")
    assert progress.get_attribute("value") == quote["tier"]["qualifying_after"]
    clean(watch)


def test_a_member_lookup_shows_balance_lots_and_history(server, page):
    page, watch = page
    base, pos = server.base, server.keys["pos"]
    assert (
        call("PUT", f"{base}/v1/programmes/coffee-shop/members/look-1", {"name": "李雷"}, pos)[0]
        == 201
    )
    sale = {
        "member_id": "look-1",
        "id": "till-9-0001",
        "at": "2026-11-28T15:00:00+08:00",
        "lines": [
            {"id": "1", "sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": "36.00"}
        ],
    }
    status, _, committed = call("POST", f"{base}/v1/programmes/coffee-shop/transactions", sale, pos)
    assert status == 201
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Programme").select_option("coffee-shop")
    page.get_by_label("Member id, phone or card").fill("look-1")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#balance")).to_have_text(str(committed["balance_after"]))
    expect(page.locator("#member")).to_contain_text("李雷")
    expect(page.locator("#member")).to_contain_text("till-9-0001")
    expect(page.locator("#tier")).to_contain_text("standard")
    expect(page.locator("#outreach caption")).to_have_text("Outreach tasks")  # a marketer's view
    clean(watch)


def test_a_pos_key_cannot_edit_and_no_call_it_makes_succeeds(server, page):
    page, watch = page
    sign_in(page, server, "pos")
    expect(page.get_by_role("link", name="Edit and validate")).to_have_count(0)  # not offered
    page.goto(f"{server.base}/edit")
    page.get_by_label("Start from").select_option("coffee-shop")
    editor = page.get_by_label("Programme YAML")
    expect(editor).to_have_value(re.compile("Shiguang Coffee Club"))
    expect(page.locator("#alert")).to_have_attribute("data-status", "403")
    expect(page.locator("#alert")).to_contain_text("a pos key cannot do this")
    retype(editor, "programme:", "programme:  # edited")
    expect(page.locator("#status")).to_have_text("Not checked (403)")
    assert watch.ok_writes == []
    clean(watch, refused_ok=("403 POST",))


def test_a_reviewer_gets_the_six_principles_scorecard(server, page):
    page, watch = page
    sign_in(page, server, "reviewer")
    page.get_by_role("link", name="Review").click()
    page.get_by_label("Start from").select_option("coffee-shop")
    expect(page.get_by_label("Proposal (YAML)")).to_have_value(re.compile("Shiguang"))
    page.get_by_role("button", name="Review").click()
    expect(page.locator("#scorecard tbody tr")).to_have_count(6)
    expect(page.locator("#scorecard")).to_contain_text("Reason to join")
    page.locator("#scorecard").get_by_role("button", name="line 17").first.click()
    proposal = page.get_by_label("Proposal (YAML)")
    expect(proposal).to_be_focused()
    selected = proposal.evaluate("area => area.value.slice(area.selectionStart, area.selectionEnd)")
    assert selected.startswith("  pitch:")  # the evidence's line in the proposal
    clean(watch)


def test_the_api_explorer_renders_the_contract(server, page):
    page, watch = page
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="API").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("loyalty", timeout=20_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    operation = page.locator("#operations-programmes-listProgrammes")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    expect(status).to_have_text("200")  # "Try it out" calls /v1 with the session
    clean(watch)


def test_signing_out_ends_the_session(server, page):
    page, watch = page
    sign_in(page, server, "marketer")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.goto(f"{server.base}/members")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    clean(watch)


def test_a_marketer_previews_estimates_and_launches_a_campaign(server, demo_members, page):
    page, watch = page
    marketer = server.keys["marketer"]
    at = f"?at={LAUNCH_DAY}T00:00:00%2B08:00"
    _, _, preview = call("GET", f"{server.base}{CAMPAIGN}/preview{at}", key=marketer)
    _, _, estimate = call("GET", f"{server.base}{CAMPAIGN}/estimate{at}", key=marketer)
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_label("Programme").select_option("recommended")
    page.get_by_label("As of (date)").fill(LAUNCH_DAY)
    page.get_by_role("button", name="Preview audience").click()
    expect(page.locator("#preview-result h2")).to_have_text(
        f"Audience: {preview['audience']} members"
    )
    page.get_by_role("button", name="Estimate budget").click()
    expect(page.locator("#downpour-cost")).to_contain_text(f"{estimate['total']['points']} points")
    page.get_by_role("button", name="Critical-point chart").click()
    chart = page.get_by_role("img", name=re.compile("critical point"))
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth") > 0
    page.get_by_role("button", name="Launch…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Launch").click()
    expect(page.locator("#launch-result h2")).to_have_text("Launched")
    _, _, after = call("GET", f"{server.base}{CAMPAIGN}/preview{at}", key=marketer)
    assert after["launched"] is not None
    page.get_by_role("button", name="Lift report").click()
    report = page.get_by_role("img", name=re.compile("against its holdout"))
    expect(report).to_be_visible()
    assert report.evaluate("image => image.complete && image.naturalWidth") > 0
    clean(watch)


def test_a_pos_key_cannot_launch_a_campaign(server, demo_members, page):
    page, watch = page
    sign_in(page, server, "pos")
    page.goto(f"{server.base}/campaigns")
    page.get_by_label("Programme").select_option("recommended")
    page.get_by_role("button", name="Launch…").click()
    page.get_by_role("dialog").get_by_role("button", name="Launch").click()
    expect(page.locator("#alert")).to_have_attribute("data-status", "403")
    assert watch.ok_writes == []
    clean(watch, refused_ok=("403 POST",))


def test_signing_in_works_from_the_keyboard_alone(server, page):
    page, watch = page
    page.goto(f"{server.base}/")
    expect(page.get_by_label("API key")).to_be_focused()  # the one thing to do here
    page.keyboard.press("Shift+Tab")  # the header's links come before it, the button after
    expect(page.get_by_role("link", name="Sign in")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type(server.keys["marketer"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/programmes$"))
    page.wait_for_load_state("networkidle")
    clean(watch)


@pytest.mark.parametrize(
    "path", ["/programmes", "/edit", "/try", "/members", "/review", "/campaigns"]
)
def test_every_control_on_every_page_has_a_label(server, page, path):
    page, watch = page
    sign_in(page, server, "admin")
    page.goto(f"{server.base}{path}")
    page.wait_for_load_state("networkidle")
    controls = page.locator("main input:not([type=hidden]), main select, main textarea")
    unnamed = [
        html
        for html, named in controls.evaluate_all(
            "nodes => nodes.map(n => [n.outerHTML.slice(0, 80),"
            " n.labels.length > 0 || n.hasAttribute('aria-label')])"
        )
        if not named
    ]
    assert unnamed == []
    assert page.locator("h1").count() == 1 and page.locator("html").get_attribute("lang") == "en"
    clean(watch)


def test_a_till_clerk_looks_up_a_member_without_the_marketers_work_list(server, page):
    page, watch = page
    pos = server.keys["pos"]
    assert call("PUT", f"{server.base}/v1/programmes/coffee-shop/members/pos-1", {}, pos)[0] == 201
    sign_in(page, server, "pos")
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Programme").select_option("coffee-shop")
    page.get_by_label("Member id, phone or card").fill("pos-1")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#balance")).to_have_text("0")
    expect(page.locator("#outreach")).to_have_count(0)
    clean(watch)  # no 403 from asking for what a pos key may not read


LIVE = (Path(__file__).parents[2] / "rules" / "coffee-shop" / "programme.yaml").read_text("utf-8")
P = "/v1/programmes/coffee-shop"


def test_a_draft_is_saved_on_the_server_opened_again_and_deleted(server, page):
    page, watch = page
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="Edit and validate").click()
    page.get_by_label("Start from").select_option("coffee-shop")
    editor = page.get_by_label("Programme YAML")
    expect(page.locator("#status")).to_have_attribute("data-valid", "true")
    retype(editor, "earn:\n  points: 1\n", "earn:\n  points: 3\n")
    page.get_by_label("Draft name").fill("三倍积分 triple points")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#status")).to_have_text('Draft "三倍积分 triple points" saved')
    _, _, listed = call("GET", f"{server.base}{P}/drafts", key=server.keys["reviewer"])
    (saved,) = [d for d in listed["drafts"] if d["name"] == "三倍积分 triple points"]
    assert saved["valid"] and saved["saved_by"] == "api:marketer"
    page.get_by_label("Start from").select_option("calendar-retail")
    expect(editor).to_have_value(re.compile("calendar-retail"))
    page.get_by_label("Start from").select_option("coffee-shop")
    page.get_by_label("Saved drafts").select_option(str(saved["id"]))
    page.get_by_role("button", name="Open draft").click()
    expect(editor).to_have_value(re.compile("earn:\n  points: 3\n"))
    page.get_by_role("button", name="Diff against live").click()
    expect(page.locator("#diff-lines .added")).to_contain_text("points: 3")
    page.get_by_role("button", name="Delete draft").click()
    expect(page.locator("#status")).to_have_text("Draft deleted")
    assert (
        call("GET", f"{server.base}{P}/drafts/{saved['id']}", key=server.keys["marketer"])[0] == 404
    )
    clean(watch)


def test_the_simulator_quotes_a_draft_beside_the_live_version(server, page):
    page, watch = page
    marketer = server.keys["marketer"]
    draft = {
        "name": "double",
        "source": LIVE.replace("  points: 1\n  per: 1\n", "  points: 2\n  per: 1\n", 1),
    }
    status, _, saved = call("POST", f"{server.base}{P}/drafts", draft, marketer)
    assert status == 201 and saved["valid"]
    body = {
        "member": {"id": "walk-in"},
        "at": f"{QUOTE_AT}:00+08:00",
        "transaction": {
            "id": "api-check",
            "at": f"{QUOTE_AT}:00+08:00",
            "lines": [
                {
                    "id": "1",
                    "sku": "LATTE",
                    "category": "coffee",
                    "quantity": 2,
                    "unit_price": "32.00",
                },
                {
                    "id": "2",
                    "sku": "CROISSANT",
                    "category": "pastry",
                    "quantity": 1,
                    "unit_price": "18.00",
                },
            ],
        },
    }
    _, _, live = call("POST", f"{server.base}{P}/quote", body, marketer)
    _, _, under_draft = call("POST", f"{server.base}{P}/drafts/{saved['id']}/quote", body, marketer)
    assert under_draft["points"]["total"] > live["points"]["total"]
    sign_in(page, server, "marketer")
    page.get_by_role("link", name="Try it").click()
    page.get_by_label("Programme").select_option("coffee-shop")
    page.get_by_label("Compare with draft").select_option(str(saved["id"]))
    page.locator("#quote-form summary").click()
    page.get_by_label("Member state").fill('{"id": "walk-in"}')  # an inline member
    page.get_by_label("What-if date and time").fill(QUOTE_AT)
    page.get_by_role("button", name="Quote").click()
    expect(page.locator("#points-total")).to_have_text(str(live["points"]["total"]))
    expect(page.locator("#draft-points-total")).to_have_text(str(under_draft["points"]["total"]))
    expect(page.locator("#draft-quote h2").first).to_have_text(re.compile("^Draft: double"))
    expect(page.locator("#quote h2").first).to_contain_text(f"Live: coffee-shop@{live['version']}")
    clean(watch)


def test_a_reviewer_records_a_decision_and_the_scorecard_follows_it(server, page):
    page, watch = page
    sign_in(page, server, "reviewer")
    page.get_by_role("link", name="Review").click()
    page.get_by_label("Start from").select_option("coffee-shop")
    expect(page.get_by_label("Proposal (YAML)")).to_have_value(re.compile("Shiguang"))
    page.get_by_role("button", name="Review", exact=True).click()
    social = page.locator("#scorecard tbody tr", has_text="Social face")
    expect(social.locator(".verdict")).to_have_text(re.compile("^met"))
    page.get_by_label("Reviewer", exact=True).fill("王芳 Wang Fang")
    page.get_by_label("Decision on Social face").select_option("rejected")
    page.get_by_label("Reason for Social face").fill("The express lane is not signposted.")
    page.get_by_role("button", name="Record decisions").click()
    expect(page.locator("#recorded")).to_contain_text("Recorded")
    expect(social.locator(".verdict")).to_have_text(re.compile("^not_met.*by the reviewer"))
    _, _, recorded = call("GET", f"{server.base}{P}/review-decisions", key=server.keys["reviewer"])
    assert recorded["document"]["decisions"] == {
        "social_face": {"decision": "rejected", "reason": "The express lane is not signposted."}
    }
    assert recorded["document"]["reviewer"] == "王芳 Wang Fang"
    clean(watch)


def test_a_member_is_looked_up_by_phone_or_card(server, page):
    page, watch = page
    pos = server.keys["pos"]
    members = f"{server.base}{P}/members"
    phone = {
        "name": "韩梅梅",
        "contact": {"phone": "+86 139 0000 1111"},
        "tags": {"card": "SG-0042"},
    }
    assert call("PUT", f"{members}/phone-1", phone, pos)[0] == 201
    twin = {"name": "Twin", "tags": {"card": "SG-0043"}, "contact": {"phone": "+86 139 0000 2222"}}
    assert call("PUT", f"{members}/phone-2", twin, pos)[0] == 201
    assert call("PUT", f"{members}/phone-3", twin, pos)[0] == 201
    sign_in(page, server, "pos")
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Programme").select_option("coffee-shop")
    page.get_by_label("Find by").select_option("phone")
    page.get_by_label("Member id, phone or card").fill("+86 139 0000 1111")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#member h2")).to_have_text("韩梅梅 (phone-1)")
    assert "0000" not in page.url
    page.get_by_label("Find by").select_option("card")
    page.get_by_label("Member id, phone or card").fill("SG-0043")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#match-list li")).to_have_count(2)
    page.get_by_role("button", name="Twin (phone-3)").click()
    expect(page.locator("#member h2")).to_have_text("Twin (phone-3)")
    clean(watch)


def test_a_refused_reload_shows_its_problems_on_the_programme_card(server, page):
    page, watch = page
    marketer = server.keys["marketer"]
    file = server.rules / "coffee-shop" / "programme.yaml"
    file.write_text(LIVE.replace("  name:", "  nmae:", 1), encoding="utf-8")
    try:
        assert call("POST", f"{server.base}/v1/admin/reload", key=marketer)[0] == 422
        sign_in(page, server, "marketer")
        refused = page.locator('[data-programme="coffee-shop"] .refused')
        expect(refused.locator("h3")).to_contain_text("Last reload refused")
        expect(refused).to_contain_text("unknown field 'nmae'")
        expect(refused).to_contain_text("the version above is still live")
        expect(page.locator('[data-programme="calendar-retail"] .refused')).to_have_count(0)
    finally:
        file.write_text(LIVE, encoding="utf-8")
        assert call("POST", f"{server.base}/v1/admin/reload", key=marketer)[0] == 200
    page.reload()
    expect(page.locator('[data-programme="coffee-shop"] h2')).to_be_visible()
    expect(page.locator(".refused")).to_have_count(0)
    clean(watch)


def test_leaving_a_page_mid_load_is_not_a_failure_but_a_refused_load_is(server, page):
    page, watch = page
    sign_in(page, server, "admin")
    for path in ("/campaigns", "/members", "/review", "/try", "/edit", "/programmes"):
        page.goto(f"{server.base}{path}", wait_until="commit")  # leave before it settles
    page.wait_for_load_state("networkidle")
    assert watch.failed == []
    page.goto("about:blank")  # no CSP here: the image is tried, and refused by the network
    page.set_content('<img alt="" src="http://127.0.0.1:9/nothing-listens-here.png">')
    page.wait_for_load_state("load")
    assert [f for f in watch.failed if "nothing-listens-here" in f] != []
