import { api, clearProblem, el, fillProgrammes, showProblem } from "./api.js";

const form = document.getElementById("review-form");
const source = document.getElementById("source");
const box = document.getElementById("scorecard");

function show(card) {
  const rows = (card.principles ?? []).map((p) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: p.title ?? p.id }),
      el("td", { class: `verdict ${p.status}`, text: `${p.status}${p.chinese ? ` (${p.chinese})` : ""}` }),
      el("td", {}, (p.evidence ?? []).map((e) =>
        el(
          "div",
          {},
          e.line ? el("button", { type: "button", class: "link", "data-goto": e.line, text: `line ${e.line}` }) : "",
          `${e.line ? ": " : ""}${e.text ?? e.message ?? JSON.stringify(e)}`,
        ))),
    ),
  );
  box.replaceChildren(
    el(
      "div",
      { class: "card" },
      el("h2", { text: `Scorecard: ${card.verdict ?? ""}` }),
      el(
        "table",
        {},
        el("caption", { text: "The six principles" }),
        el("thead", {}, el("tr", {}, ["Principle", "Verdict", "Evidence"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows),
      ),
      el("details", {}, el("summary", { text: "The whole scorecard (JSON)" }), el("pre", { text: JSON.stringify(card, null, 2) })),
    ),
  );
}

async function loadSource() {
  const wanted = form.programme.value;
  try {
    const summary = await api("GET", `/v1/programmes/${encodeURIComponent(wanted)}`);
    if (form.programme.value === wanted) source.value = summary.source ?? ""; // still the pick
  } catch (error) {
    showProblem(error);
  }
}

// Evidence links to its line in the proposal: select the line and scroll it into view.
box.addEventListener("click", (event) => {
  const line = Number(event.target.closest("[data-goto]")?.dataset.goto);
  if (!line) return;
  const lines = source.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  source.focus();
  source.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  const lineHeight = parseFloat(getComputedStyle(source).lineHeight) || 20;
  source.scrollTop = Math.max(0, (line - 3) * lineHeight);
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblem();
  try {
    show(await api("POST", "/v1/reviews?format=json", { yaml: source.value }));
  } catch (error) {
    box.replaceChildren();
    showProblem(error);
  }
});
form.programme.addEventListener("change", loadSource);
fillProgrammes(form.programme).then(loadSource, showProblem);
