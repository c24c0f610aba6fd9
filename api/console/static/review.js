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
      el("td", {}, (p.evidence ?? []).map((e) => el("div", { text: `${e.line ? `line ${e.line}: ` : ""}${e.text ?? e.message ?? JSON.stringify(e)}` }))),
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
