"""The single-file HTML reports: Jinja2 templates with inline CSS, no external assets.

The print stylesheet fits a review on one A4 page: smaller type, no margins wasted, rows kept
whole, colours kept (status colours carry meaning).
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, StrictUndefined, Template

from engine.review.diff import ReviewDiff
from engine.review.model import Review
from engine.review.present import (
    ASSUMPTION_WORDS,
    assumption_value,
    cut,
    decided_by,
    decisions_hint,
    hints_once,
    overridden,
    short_where,
    shown_evidence,
    status_word,
)

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --met: #1a7f37;
  --not: #cf222e; --judge: #9a6700; --info: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC",
  "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--ink);
  max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; }
header { border-bottom: 2px solid var(--ink); padding-bottom: .4rem; }
h1 { font-size: 1.35rem; margin: 0 0 .2rem; }
h2 { font-size: 1rem; margin: 1rem 0 .3rem; }
.meta, .where, .note { color: var(--muted); font-size: .85em; }
.where { white-space: nowrap; font-variant-numeric: tabular-nums; }
.verdict { display: inline-block; font-weight: 700; color: #fff; padding: .1rem .5rem;
  border-radius: .25rem; margin-right: .4rem; text-transform: uppercase; }
.verdict.launchable { background: var(--met); } .verdict.rework { background: var(--not); }
table { border-collapse: collapse; width: 100%; }
table.principles { table-layout: fixed; }
table.principles td { overflow-wrap: anywhere; }
th, td { text-align: left; vertical-align: top; padding: .2rem .4rem;
  border-bottom: 1px solid var(--rule); }
th { font-size: .85em; color: var(--muted); font-weight: 600; }
.status { font-weight: 700; white-space: nowrap; }
.met { color: var(--met); } .not_met { color: var(--not); }
.needs_judgement { color: var(--judge); }
.serious { color: var(--not); font-weight: 700; }
.warning { color: var(--judge); font-weight: 700; }
.info { color: var(--info); } .ok { color: var(--met); }
ul { margin: 0; padding-left: 1rem; }
li.claim { font-style: italic; }
.remedy { margin-top: .15rem; }
.assumptions { display: flex; flex-wrap: wrap; gap: .2rem 1.2rem; margin: 0; padding: 0;
  list-style: none; }
@media print {
  @page { size: A4; margin: 9mm; }
  body { font-size: 7.4pt; line-height: 1.28; max-width: none; margin: 0; padding: 0; }
  h1 { font-size: 11pt; } h2 { font-size: 8.5pt; margin: .45rem 0 .15rem; }
  th, td { padding: .08rem .25rem; }
  tr, li { break-inside: avoid; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""

REVIEW = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Review: {{ review.name }}</title>
<style>{{ style }}</style>
</head>
<body>
<header>
<h1>Review: {{ review.name }}</h1>
<div class="meta">Programme <code>{{ review.programme_id }}</code>, version
<code>{{ review.version }}</code>, file <code>{{ review.file }}</code></div>
<p><span class="verdict {{ review.verdict.word }}">{{ review.verdict.word }}</span>
{{ review.verdict.summary }}.</p>
<div class="meta">Reviewer decisions:
{% if review.decisions %}
<code>{{ review.decisions.file }}</code> ({{ review.decisions.reviewer }},
{{ review.decisions.date }}).
{% if review.decisions.stale %}<strong>Note:</strong> recorded for version
<code>{{ review.decisions.programme_version }}</code>; the proposal is now
<code>{{ review.version }}</code>. Check they still hold.{% endif %}
{% else %}
{{ decisions_hint(review) }}.
{% endif %}
</div>
</header>
<h2>The six principles</h2>
<table class="principles">
<colgroup><col style="width:1.4em"><col style="width:8.5em"><col style="width:6em">
<col style="width:8em"><col></colgroup>
<tr><th>#</th><th>Principle</th><th>Status</th><th>Decided by</th><th>Evidence</th></tr>
{% for result in review.principles %}
{% set structure, hidden, claims = shown_evidence(result) %}
<tr>
<td>{{ loop.index }}</td>
<td>{{ result.principle.title }} {{ result.principle.chinese }}</td>
<td class="status {{ result.status }}">{{ status_word(result.status) }}</td>
<td>{{ decided_by(result) }}</td>
<td><ul>
{% if result.decision %}
<li><strong>Reviewer:</strong> {{ result.decision.reason }}
{%- if overridden(result) %} <span class="note">({{ overridden(result) }})</span>{% endif %}</li>
{% endif %}
{% for e in structure %}
<li><span class="where">{{ short_where(e.file, e.line, review.file) }}</span> {{ cut(e.text) }}</li>
{% endfor %}
{% if hidden %}<li class="note">and {{ hidden }} more</li>{% endif %}
{% for c in claims %}
<li class="claim"><span class="where">claim, {{ short_where(c.file, c.line, review.file) }}</span>
&ldquo;{{ cut(c.text) }}&rdquo;</li>
{% endfor %}
</ul>
{% if result.remedy %}<div class="remedy"><strong>Would satisfy:</strong>
{{ result.remedy }}.</div>{% endif %}
</td>
</tr>
{% endfor %}
</table>
<h2>Design checks</h2>
<table>
<tr><th>Severity</th><th>Check</th><th>Where</th><th>Finding</th></tr>
{% for f, hint in hints_once(review.findings) %}
<tr>
<td class="{{ f.severity }}">{{ f.severity }}</td>
<td><code>{{ f.check }}</code></td>
<td class="where">{{ short_where(f.file, f.line, review.file) }}</td>
<td>{{ f.message }}{% if hint %}<div class="note">Hint: {{ hint }}</div>{% endif %}</td>
</tr>
{% endfor %}
</table>
<h2>Assumptions</h2>
<ul class="assumptions">
{% for a in review.assumptions %}
<li>{{ words[a.name] }}: <strong>{{ assumption_value(a.name, a.value) }}</strong>
<span class="note">({{ "stated" if a.stated else "default" }})</span></li>
{% endfor %}
</ul>
</body>
</html>
"""

DIFF = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Review changes: {{ diff.new.name }}</title>
<style>{{ style }}</style>
</head>
<body>
<header>
<h1>Review changes: {{ diff.new.name }}</h1>
<div class="meta">From <code>{{ diff.old.file }}</code> ({{ diff.old.version }}) to
<code>{{ diff.new.file }}</code> ({{ diff.new.version }})</div>
<p><span class="verdict {{ diff.old.verdict.word }}">{{ diff.old.verdict.word }}</span>
{{ diff.old.verdict.met }} of 6 &rarr;
<span class="verdict {{ diff.new.verdict.word }}">{{ diff.new.verdict.word }}</span>
{{ diff.new.verdict.met }} of 6</p>
</header>
<h2>Principles</h2>
{% if diff.principles %}
<table>
<tr><th>Principle</th><th>Before</th><th>After</th></tr>
{% for c in diff.principles %}
<tr><td>{{ c.new.principle.title }} {{ c.new.principle.chinese }}</td>
{% for side in (c.old, c.new) %}
<td class="status {{ side.status }}">{{ status_word(side.status) }} ({{ side.decided_by }})</td>
{% endfor %}
</tr>
{% endfor %}
</table>
{% else %}<p class="note">No change.</p>{% endif %}
<h2>Design findings</h2>
{% if diff.findings %}
<table>
<tr><th>Change</th><th>Severity</th><th>Check</th><th>Where</th><th>Finding</th></tr>
{% for c in diff.findings %}
<tr><td>{{ c.kind }}</td><td class="{{ c.current.severity }}">{{ c.current.severity }}</td>
<td><code>{{ c.current.check }}</code></td>
<td class="where">{{ c.current.file }}:{{ c.current.line }}</td>
<td>{{ c.current.message }}
{%- for part in c.before_after() %}<br><small>{{ part }}</small>{% endfor %}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">No change.</p>{% endif %}
<h2>Programme changes</h2>
{% if diff.changes %}
<table>
<tr><th>Change</th><th>What</th><th>Where</th></tr>
{% for c in diff.changes %}
<tr><td>{{ c.kind }}</td><td>{{ c.what }}</td><td class="where">{{ c.file }}:{{ c.line }}</td></tr>
{% endfor %}
</table>
{% else %}<p class="note">No change.</p>{% endif %}
</body>
</html>
"""


@cache
def _environment() -> Environment:
    env = Environment(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        style=STYLE,
        words=ASSUMPTION_WORDS,
        assumption_value=assumption_value,
        cut=cut,
        hints_once=hints_once,
        decided_by=decided_by,
        decisions_hint=decisions_hint,
        overridden=overridden,
        short_where=short_where,
        shown_evidence=shown_evidence,
        status_word=status_word,
    )
    return env


@cache
def _template(source: str) -> Template:
    return _environment().from_string(source)


def render_html(review: Review) -> str:
    return _template(REVIEW).render(review=review)


def render_html_diff(diff: ReviewDiff) -> str:
    return _template(DIFF).render(diff=diff)
