import { api, clearProblem, el, fillProgrammes, may, showProblem } from "./api.js";

const form = document.getElementById("quote-form");
const lines = document.getElementById("lines");
const result = document.getElementById("result");
let programmes = [];

function addLine(line = { sku: "", category: "", quantity: 1, unit_price: "" }) {
  const n = lines.children.length + 1;
  const cell = (name, value, attrs = {}) =>
    el("td", {}, el("input", { name, value, "aria-label": `${name.replace("_", " ")} of line ${n}`, ...attrs }));
  const remove = el("button", { type: "button", class: "link", text: "Remove", "aria-label": `Remove line ${n}` });
  remove.addEventListener("click", () => remove.closest("tr").remove());
  lines.append(
    el(
      "tr",
      {},
      cell("sku", line.sku, { required: true, spellcheck: "false" }),
      cell("category", line.category, { spellcheck: "false" }),
      cell("quantity", line.quantity, { type: "number", min: "1", step: "1", required: true }),
      cell("unit_price", line.unit_price, { inputmode: "decimal", required: true, pattern: "\\d+(\\.\\d{1,2})?" }),
      el("td", {}, remove),
    ),
  );
}

function basket() {
  return [...lines.querySelectorAll("tr")].map((row, index) => {
    const value = (name) => row.querySelector(`[name="${name}"]`).value.trim();
    const line = { id: String(index + 1), sku: value("sku"), quantity: Number(value("quantity")), unit_price: value("unit_price") };
    if (value("category")) line.category = value("category");
    return line;
  });
}

function offsetOf(timezone, local) {
  // The programme's wall-clock time: the offset of that zone at that moment, e.g. "+08:00".
  const probe = new Date(`${local}:00Z`);
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: timezone, timeZoneName: "longOffset" }).formatToParts(probe);
  const name = parts.find((part) => part.type === "timeZoneName")?.value ?? "GMT";
  return name === "GMT" ? "+00:00" : name.slice(3);
}

function request() {
  const programme = programmes.find((p) => p.id === form.programme.value);
  const local = document.getElementById("at").value || new Date().toISOString().slice(0, 16);
  const at = `${local}:00${offsetOf(programme.timezone, local)}`;
  const body = {
    transaction: { id: `console-quote-${Date.now()}`, at, lines: basket() },
    explain: document.getElementById("explain").checked,
  };
  if (document.getElementById("at").value) body.at = at;
  const inline = document.getElementById("member-json").value.trim();
  if (inline) body.member = JSON.parse(inline);
  else body.member_id = document.getElementById("member-id").value.trim();
  return body;
}

function table(caption, head, rows) {
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((c) => el("td", { text: c }))))),
  );
}

// One quote as a receipt and its explain trace; ``prefix`` keeps ids apart side by side.
function column(quote, heading, prefix = "") {
  const t = quote.tier;
  const id = (name) => `${prefix}${name}`;
  const progress = t.next
    ? `${t.remaining_to_next} ${quote.currency} more qualifying spend to ${t.next} (threshold ${t.next_threshold})`
    : "top tier";
  return el(
    "div",
    { class: "quote-column", id: id("quote") },
    el(
      "div",
      { class: "card" },
      el("h2", { text: heading }),
      table("Lines", ["SKU", "Amount", "Discounts", "Payable"], quote.lines.map((l) => [
        l.sku, l.amount, l.discounts.map((d) => `${d.amount} (${d.source})`).join(", ") || "—", l.payable,
      ])),
      el(
        "dl",
        { class: "facts" },
        el("dt", { text: "Total" }), el("dd", { text: `${quote.totals.amount} ${quote.currency}` }),
        el("dt", { text: "Discounts" }), el("dd", { text: quote.totals.discounts }),
        el("dt", { text: "Paid with points" }), el("dd", { text: quote.totals.redeemed_value }),
        el("dt", { text: "Payable" }), el("dd", { id: id("payable"), text: quote.totals.payable }),
        el("dt", { text: "Points earned" }), el("dd", { id: id("points-total"), class: "big", text: String(quote.points.total) }),
        el("dt", { text: "Of which" }), el("dd", { text: `base ${quote.points.base}, tier ${quote.points.tier_bonus}, capped ${quote.points.capped}` }),
        el("dt", { text: "Points expire" }), el("dd", { text: quote.points.expires_at ? quote.points.expires_at.slice(0, 10) : "never" }),
        el("dt", { text: "Tier" }), el("dd", { id: id("tier"), text: `${t.before} → ${t.after}${t.upgraded ? " (upgraded)" : ""}; ${progress}` }),
        t.next ? el("dt", { text: "Progress" }) : "",
        t.next ? el("dd", {}, el("progress", { max: t.next_threshold, value: t.qualifying_after, "aria-label": `${prefix ? "Draft: q" : "Q"}ualifying spend towards ${t.next}` })) : "",
      ),
      quote.messages.length ? el("ul", { class: "messages" }, quote.messages.map((m) => el("li", { text: m }))) : "",
      el("p", { class: "meta", text: `${quote.programme}@${quote.version}, evaluated at ${quote.evaluated_at}` }),
    ),
    el(
      "div",
      { class: "card" },
      el("h2", { text: prefix ? "Explain (draft)" : "Explain" }),
      table("What applied", ["Source", "Effect", "Detail", "Why"], quote.trace.map((s) => [s.source, s.effect, s.detail, s.reason])),
      quote.not_applied?.length
        ? table("What did not apply", ["Source", "Name", "Why not"], quote.not_applied.map((n) => [n.source, n.name, n.reason]))
        : "",
    ),
  );
}

function show(live, draft, draftName) {
  if (!draft) {
    result.replaceChildren(column(live, "Receipt"));
    return;
  }
  result.replaceChildren(
    el("div", { class: "side-by-side" }, column(live, `Live: ${live.programme}@${live.version}`), column(draft, `Draft: ${draftName}`, "draft-")),
  );
}

async function listDrafts() {
  const picker = document.getElementById("draft");
  const none = el("option", { value: "", text: "— live only —" });
  if (!may("marketer")) return;
  try {
    const { drafts } = await api("GET", `/v1/programmes/${encodeURIComponent(form.programme.value)}/drafts`);
    picker.replaceChildren(none, ...drafts.filter((d) => d.valid).map((d) => el("option", { value: String(d.id), text: `${d.name} (${d.version})` })));
  } catch (error) {
    showProblem(error);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblem();
  const path = `/v1/programmes/${encodeURIComponent(form.programme.value)}`;
  const picker = document.getElementById("draft");
  try {
    const body = request();
    const [live, draft] = await Promise.all([
      api("POST", `${path}/quote`, { json: body }),
      picker.value ? api("POST", `${path}/drafts/${picker.value}/quote`, { json: body }) : null,
    ]);
    show(live, draft, picker.selectedOptions[0]?.textContent ?? "");
  } catch (error) {
    result.replaceChildren();
    if (error instanceof SyntaxError) {
      showProblem({ status: 400, body: { title: "Bad member JSON", detail: error.message } });
      return;
    }
    showProblem(error);
  }
});
document.getElementById("add-line").addEventListener("click", () => addLine());
form.programme.addEventListener("change", listDrafts);

addLine({ sku: "LATTE", category: "coffee", quantity: 2, unit_price: "32.00" });
addLine({ sku: "CROISSANT", category: "pastry", quantity: 1, unit_price: "18.00" });
fillProgrammes(form.programme).then((list) => { programmes = list; listDrafts(); }, showProblem);
