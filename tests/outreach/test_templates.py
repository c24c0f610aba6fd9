"""Templates: problems found at validation time (with their line), and render failures."""

from __future__ import annotations

from datetime import date

from engine.outreach.templates import template_problems, to_jinja, variables_for
from engine.policy.loader import load_programme
from tests.outreach.helpers import member, programme, run, tasks, trigger


def problems(*triggers):
    return list(template_problems({"outreach": list(triggers)}))


def test_the_example_programmes_have_valid_templates():
    for folder in ("recommended", "coffee-shop", "calendar-retail"):
        document = load_programme(f"rules/{folder}/programme.yaml").document
        assert list(template_problems(document)) == [], folder


def test_an_unknown_variable_is_an_error_naming_it_its_line_and_the_allowed_ones():
    template = "Hello {{ name }}\nYou have {{ pionts }} points\nexpiring {{ expiry_date }}"
    [problem] = problems(trigger("points_expiring", days_before=7, template=template))
    assert problem.is_error and problem.path == ("outreach", 0, "template")
    assert problem.message == "unknown variable 'pionts' on line 2 of the template"
    assert "points" in problem.hint and "expiry_date" in problem.hint
    assert problem.code == "outreach.template"


def test_the_short_form_is_checked_too_and_each_trigger_has_its_own_variables():
    [problem] = problems(
        trigger("birthday", template="ok {name}"),
        trigger("lapse", cycle_days=7, template="{name}\n\n{points} points"),
    )
    assert problem.path == ("outreach", 1, "template")
    assert problem.message == "unknown variable 'points' on line 3 of the template"


def test_tier_change_variables_depend_on_the_change():
    upgrade = trigger("tier_change", change="upgrade", template="{review_date}")
    downgrade = trigger("tier_change", change="downgrade", template="{review_date}")
    assert [p.path[1] for p in problems(upgrade, downgrade)] == [0]
    assert "new_tier" in variables_for(downgrade) and "new_tier" not in variables_for(upgrade)


def test_a_syntax_error_is_reported_with_its_line():
    [problem] = problems(trigger("birthday", template="Hi {{ name }}\nline two\n{{ name | }}"))
    assert problem.is_error and problem.path == ("outreach", 0, "template")
    assert problem.message.endswith("(line 3 of the template)")
    [unclosed] = problems(trigger("birthday", template="{% if offer %}\n{{ offer }}"))
    assert "endif" in unclosed.message


def test_an_unknown_filter_is_reported():
    [problem] = problems(trigger("birthday", template="x\n{{ name | shout }}"))
    assert "shout" in problem.message and "line 2" in problem.message


def test_locally_set_variables_and_loops_are_not_unknown():
    template = (
        "{% set greeting = 'Hi' %}{{ greeting }} {{ name }}{% for c in name %}{{ c }}{% endfor %}"
    )
    assert problems(trigger("birthday", template=template)) == []


def test_the_short_form_leaves_jinja_alone():
    assert to_jinja("{name} {{ tier }} {% if x %}{x}{% endif %} {#c#}") == (
        "{{ name }} {{ tier }} {% if x %}{{ x }}{% endif %} {#c#}"
    )


def test_a_render_failure_fails_that_task_only_and_the_run_goes_on(database):
    evaluator = programme(
        [
            trigger("birthday", id="fragile", template="{{ 100 // (balance | int) }} left"),
            trigger("birthday", id="sturdy", template="Happy birthday {name}"),
        ]
    )
    member(database, evaluator, "zero", birthday=date(1990, 3, 15), balance=0)
    member(database, evaluator, "five", birthday=date(1990, 3, 15), balance=5)
    report = run(database, evaluator, date(2026, 3, 15))
    assert (report.total, report.rendered, report.failed) == (4, 3, 1)
    failed = [t for t in tasks(database) if t["status"] == "failed"]
    assert [(t["trigger_id"], t["member_id"]) for t in failed] == [("fragile", "zero")]
    assert "ZeroDivisionError" in failed[0]["last_error"] and failed[0]["message"] is None
    assert {t["message"] for t in tasks(database, trigger_id="sturdy")} == {
        "Happy birthday Name zero",
        "Happy birthday Name five",
    }


def test_the_sandbox_refuses_python_internals(database):
    evaluator = programme([trigger("birthday", template="{{ name.__class__.__mro__ }}")])
    member(database, evaluator, "m1", birthday=date(1990, 3, 15))
    report = run(database, evaluator, date(2026, 3, 15))
    assert report.failed == 1
    assert (
        "SecurityError" in tasks(database)[0]["last_error"]
        or "unsafe" in tasks(database)[0]["last_error"]
    )


def test_amounts_and_dates_follow_the_programme_locale(database):
    template = "{points} / {value_money} / {expiry_date}"
    chinese = programme(
        [trigger("points_expiring", days_before=30, template=template)],
        locale="zh-CN",
        currency="CNY",
    )
    from tests.outreach.helpers import lot

    member(database, chinese, "m1")
    lot(database, chinese, "m1", 123456, date(2026, 12, 31))
    run(database, chinese, date(2026, 12, 20))
    assert tasks(database)[0]["message"] == "123,456 / ¥1,234.56 / 2026年12月31日"
