import { api, clearProblem, el, fillProgrammes, showProblem, when } from "./api.js";

const form = document.getElementById("lookup");
const box = document.getElementById("member");
const matches = document.getElementById("matches");
let programmes = [];
const role = document.querySelector('meta[name="role"]')?.content ?? "";
const seesOutreach = role === "marketer" || role === "admin"; // the API's rule for the work list

function table(caption, head, rows) {
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.length ? rows.map((row) => el("tr", {}, row.map((c) => el("td", { text: c ?? "—" })))) : el("tr", {}, el("td", { colspan: head.length, text: "None." }))),
  );
}

function show(m, timezone) {
  const t = m.tier;
  const progress = t.next
    ? `${t.qualifying_spend} qualifying spend; ${t.remaining_to_next} more to ${t.next} (at ${t.next_threshold})`
    : `${t.qualifying_spend} qualifying spend; top tier`;
  box.replaceChildren(
    el(
      "div",
      { class: "card" },
      el("h2", { text: `${m.name ?? m.id} (${m.id})` }),
      el(
        "dl",
        { class: "facts" },
        el("dt", { text: "Balance" }), el("dd", { id: "balance", class: "big", text: String(m.balance.total) }),
        el("dt", { text: "Spendable / pending / debt" }), el("dd", { text: `${m.balance.spendable} / ${m.balance.pending} / ${m.balance.debt}` }),
        el("dt", { text: "Tier" }), el("dd", { id: "tier", text: `${t.id} since ${t.since ?? "—"}${t.valid_until ? `, valid until ${t.valid_until}` : ""}` }),
        el("dt", { text: "Progress" }), el("dd", {}, progress, t.next
          ? el("progress", { max: t.next_threshold, value: t.qualifying_spend, "aria-label": `Qualifying spend towards ${t.next}` })
          : ""),
        el("dt", { text: "Joined" }), el("dd", { text: m.joined ?? "—" }),
      ),
      el("p", { class: "meta", text: `${m.programme}@${m.version}` }),
    ),
    el("div", { class: "card" }, table(`Point lots (times in ${timezone})`, ["Points left", "Earned", "Spendable from", "Expires"], m.lots.map((l) => [
      l.points, when(l.earned_at, timezone), l.pending_until ? when(l.pending_until, timezone) : "now", l.expires_at ? when(l.expires_at, timezone) : "never",
    ]))),
    el("div", { class: "card" }, table(`History, newest first${m.history.next_before ? " (latest page)" : ""}`, ["When", "Kind", "Points", "Transaction", "Reason"], m.history.entries.map((e) => [
      when(e.at, timezone), e.kind, e.points, e.transaction_id, e.reason,
    ]))),
  );
}

async function lookUp(programmeId, memberId) {
  const programme = encodeURIComponent(programmeId);
  const member = encodeURIComponent(memberId);
  const timezone = programmes.find((p) => p.id === programmeId)?.timezone ?? "UTC";
  show(await api("GET", `/v1/programmes/${programme}/members/${member}`), timezone);
  if (seesOutreach) {
    const { tasks } = await api("GET", `/v1/programmes/${programme}/outreach/tasks?member=${member}&limit=50`);
    box.append(
      el("div", { class: "card", id: "outreach" }, table("Outreach tasks", ["Due", "Trigger", "Channel", "Status", "Message"], tasks.map((t) => [
        t.due, t.trigger, t.channel, t.status, t.message,
      ]))),
    );
  }
}

// A phone or card number goes in a POST body (never the address bar, history or a log);
// one match opens the member, several are offered to pick from.
async function search(programmeId, field, value) {
  const path = `/v1/programmes/${encodeURIComponent(programmeId)}/member-search`;
  const { members } = await api("POST", path, { json: { [field]: value } });
  if (members.length === 1) {
    await lookUp(programmeId, members[0].id);
    return;
  }
  const label = field === "phone" ? "phone" : "card number";
  matches.replaceChildren(
    el(
      "div",
      { class: "card", id: "match-list" },
      members.length
        ? el("p", { text: `${members.length} members have this ${label}:` })
        : el("p", { text: `No member has this ${label}.` }),
      el("ul", {}, members.map((m) => {
        const open = el("button", { type: "button", class: "link", text: `${m.name ?? "—"} (${m.id})` });
        open.addEventListener("click", () => { matches.replaceChildren(); lookUp(programmeId, m.id).catch(showProblem); });
        return el("li", {}, open);
      })),
    ),
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblem();
  matches.replaceChildren();
  box.replaceChildren();
  const value = document.getElementById("member-id").value.trim();
  const field = document.getElementById("find-by").value;
  try {
    if (field === "id") await lookUp(form.programme.value, value);
    else await search(form.programme.value, field, value);
  } catch (error) {
    box.replaceChildren();
    showProblem(error);
  }
});

fillProgrammes(form.programme).then((list) => { programmes = list; }, showProblem);
