import { api, clearProblem, el, fillProgrammes, may, showProblem } from "./api.js";

const form = document.getElementById("review-form");
const source = document.getElementById("source");
const box = document.getElementById("scorecard");
const decisionsForm = document.getElementById("decisions-form");
const draftPicker = document.getElementById("draft");
let reviewed = null; // the scorecard's programme: {id, version}

function show(card) {
  const rows = (card.principles ?? []).map((p) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: p.title ?? p.id }),
      el("td", { class: `verdict ${p.status}`, text: `${p.status}${p.chinese ? ` (${p.chinese})` : ""}${p.decided_by === "reviewer" ? ", by the reviewer" : ""}` }),
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
  const draft = draftPicker.value;
  const path = `/v1/programmes/${encodeURIComponent(wanted)}`;
  try {
    const found = await api("GET", draft ? `${path}/drafts/${draft}` : path);
    if (form.programme.value === wanted && draftPicker.value === draft) source.value = found.source ?? "";
  } catch (error) {
    showProblem(error);
  }
}

async function listDrafts() {
  const wanted = form.programme.value;
  const live = el("option", { value: "", text: "Live version" });
  try {
    const { drafts } = await api("GET", `/v1/programmes/${encodeURIComponent(wanted)}/drafts`);
    if (form.programme.value !== wanted) return;
    draftPicker.replaceChildren(live, ...drafts.map((d) => el("option", { value: String(d.id), text: `Draft: ${d.name}` })));
  } catch (error) {
    showProblem(error);
  }
}

// The decision form, one row per principle, filled with what the scorecard says was decided.
function showDecisions(card) {
  reviewed = card.programme;
  const rows = (card.principles ?? []).map((p) => {
    const title = p.title ?? p.principle;
    const choice = el(
      "select",
      { name: p.principle, "aria-label": `Decision on ${title}`, "data-principle": p.principle },
      el("option", { value: "", text: "no decision" }),
      el("option", { value: "confirmed", text: "confirmed (met)" }),
      el("option", { value: "rejected", text: "rejected (not met)" }),
    );
    choice.value = p.decision?.decision ?? "";
    const reason = el("input", { "aria-label": `Reason for ${title}`, "data-reason": p.principle, maxlength: "2000", value: p.decision?.reason ?? "" });
    return el("tr", {}, el("th", { scope: "row", text: title }), el("td", {}, choice), el("td", {}, reason));
  });
  document.getElementById("decision-rows").replaceChildren(...rows);
  const day = document.getElementById("decided-on");
  if (!day.value) day.value = new Date().toISOString().slice(0, 10);
  decisionsForm.hidden = !may("reviewer");
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
    const card = await api("POST", "/v1/reviews?format=json&decisions=recorded", { yaml: source.value });
    show(card);
    showDecisions(card);
  } catch (error) {
    box.replaceChildren();
    decisionsForm.hidden = true;
    showProblem(error);
  }
});

decisionsForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearProblem();
  const decisions = {};
  for (const choice of decisionsForm.querySelectorAll("select[data-principle]")) {
    if (!choice.value) continue;
    const reason = decisionsForm.querySelector(`[data-reason="${choice.dataset.principle}"]`).value.trim();
    decisions[choice.dataset.principle] = { decision: choice.value, reason };
  }
  const document_ = {
    programme: reviewed.id,
    programme_version: reviewed.version,
    reviewer: document.getElementById("reviewer").value.trim(),
    date: document.getElementById("decided-on").value,
    decisions,
  };
  try {
    const saved = await api("PUT", `/v1/programmes/${encodeURIComponent(reviewed.id)}/review-decisions`, { json: document_ });
    document.getElementById("recorded").textContent = `Recorded ${new Date(saved.recorded_at).toLocaleString()}.`;
    const card = await api("POST", "/v1/reviews?format=json&decisions=recorded", { yaml: source.value });
    show(card);
  } catch (error) {
    showProblem(error);
  }
});
form.programme.addEventListener("change", () => { draftPicker.value = ""; loadSource(); listDrafts(); });
draftPicker.addEventListener("change", loadSource);
fillProgrammes(form.programme).then(() => { loadSource(); listDrafts(); }, showProblem);
