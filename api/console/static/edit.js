import { ApiProblem, api, clearProblem, el, fillProgrammes, may, showProblem } from "./api.js";

const select = document.getElementById("programme");
const source = document.getElementById("source");
const gutter = document.getElementById("gutter");
const list = document.getElementById("problems");
const status = document.getElementById("status");
const DEBOUNCE_MS = 400;
let timer;
let sequence = 0; // answers to older texts are dropped: only the newest text's problems show
let live = ""; // the published text of the programme picked, to diff against

function drawGutter(marks = new Map()) {
  const count = source.value.split("\n").length;
  const rows = [];
  for (let line = 1; line <= count; line += 1) {
    const problem = marks.get(line);
    rows.push(
      problem
        ? el("span", { class: `mark ${problem.severity}`, "data-line": line, title: problem.message }, `● ${line}`)
        : el("span", { "data-line": line }, String(line)),
    );
  }
  gutter.replaceChildren(...rows.flatMap((row) => [row, "\n"]));
  gutter.scrollTop = source.scrollTop;
}

function goToLine(line) {
  const lines = source.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
  source.focus();
  source.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  // A selection set from script does not scroll the textarea: bring the line to a third down.
  const lineHeight = parseFloat(getComputedStyle(source).lineHeight);
  source.scrollTop = Math.max(0, (line - 1) * lineHeight - source.clientHeight / 3);
  gutter.scrollTop = source.scrollTop;
}

function render(result) {
  const marks = new Map();
  for (const p of result.problems) if (p.line && !marks.has(p.line)) marks.set(p.line, p);
  drawGutter(marks);
  list.replaceChildren(
    ...result.problems.map((p) =>
      el(
        "li",
        { class: `problem ${p.severity}`, "data-line": p.line ?? "" },
        p.line ? el("button", { type: "button", class: "link", "data-goto": p.line, text: `Line ${p.line}` }) : "",
        el("span", { text: ` ${p.severity}: ${p.message}` }),
        p.hint ? el("span", { class: "hint", text: ` — ${p.hint}` }) : "",
        p.path ? el("code", { text: p.path }) : "",
      ),
    ),
  );
  status.textContent = result.valid
    ? `Valid: version ${result.version}${result.problems.length ? ` (${result.problems.length} warnings)` : ""}`
    : `${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`;
  status.dataset.valid = String(result.valid);
}

async function validate() {
  const mine = ++sequence;
  status.textContent = "Checking…";
  delete status.dataset.valid;
  try {
    const result = await api("POST", "/v1/policies/validate", { yaml: source.value });
    if (mine === sequence) {
      clearProblem();
      render(result);
    }
  } catch (error) {
    if (mine !== sequence) return;
    status.textContent = error instanceof ApiProblem ? `Not checked (${error.status})` : "Not checked";
    showProblem(error);
  }
}

function schedule() {
  drawGutter();
  clearTimeout(timer);
  timer = setTimeout(validate, DEBOUNCE_MS);
}

async function loadSource() {
  if (!select.value) return;
  const wanted = select.value;
  try {
    const summary = await api("GET", `/v1/programmes/${encodeURIComponent(wanted)}`);
    if (select.value !== wanted) return; // another programme was picked meanwhile
    live = summary.source ?? "";
    source.value = live;
    schedule();
  } catch (error) {
    showProblem(error);
  }
}

// The lines of a longest common subsequence: what was kept, removed (-) and added (+).
export function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  const common = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      common[i][j] = a[i] === b[j] ? common[i + 1][j + 1] + 1 : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: " ", text: a[i], line: j + 1 }); i += 1; j += 1;
    } else if (j < b.length && (i === a.length || common[i][j + 1] >= common[i + 1][j])) {
      out.push({ kind: "+", text: b[j], line: j + 1 }); j += 1;
    } else {
      out.push({ kind: "-", text: a[i], line: null }); i += 1;
    }
  }
  return out;
}

function showDiff() {
  const changes = diffLines(live, source.value).filter((change) => change.kind !== " ");
  const view = document.getElementById("diff-view");
  const rows = changes.length
    ? changes.map((c) => el("span", { class: c.kind === "+" ? "added" : "removed" }, `${c.kind} ${c.line ?? ""}\t${c.text}`))
    : [el("span", { text: "No changes: this is the live version." })];
  document.getElementById("diff-lines").replaceChildren(...rows);
  view.hidden = false;
}

// Drafts are kept by the server (/v1/programmes/{id}/drafts): every marketer and reviewer
// sees them, the simulator quotes under them, and nothing is published by saving one.
const draftsPath = () => `/v1/programmes/${encodeURIComponent(select.value)}/drafts`;
const picker = document.getElementById("drafts");

async function listDrafts() {
  if (!select.value || !may("marketer", "reviewer")) return;
  const wanted = select.value;
  try {
    const { drafts } = await api("GET", draftsPath());
    if (select.value !== wanted) return;
    picker.replaceChildren(
      ...(drafts.length
        ? drafts.map((d) => el("option", { value: String(d.id), text: `${d.name} (${d.valid ? d.version : "invalid"}, ${new Date(d.saved_at).toLocaleString()})` }))
        : [el("option", { value: "", text: "— none saved —" })]),
    );
  } catch (error) {
    showProblem(error);
  }
}

async function saveDraft() {
  const nameInput = document.getElementById("draft-name");
  const name = nameInput.value.trim() || `${select.value} ${new Date().toLocaleString()}`;
  try {
    const draft = await api("POST", draftsPath(), { json: { name, source: source.value } });
    await listDrafts();
    picker.value = String(draft.id);
    status.textContent = `Draft "${draft.name}" saved${draft.valid ? "" : " (it does not validate yet)"}`;
  } catch (error) {
    showProblem(error);
  }
}

async function openDraft() {
  if (!picker.value) return;
  try {
    const draft = await api("GET", `${draftsPath()}/${picker.value}`);
    document.getElementById("draft-name").value = draft.name;
    source.value = draft.source;
    schedule();
  } catch (error) {
    showProblem(error);
  }
}

async function deleteDraft() {
  if (!picker.value) return;
  try {
    await api("DELETE", `${draftsPath()}/${picker.value}`);
    await listDrafts();
    status.textContent = "Draft deleted";
  } catch (error) {
    showProblem(error);
  }
}

document.getElementById("diff").addEventListener("click", showDiff);
document.getElementById("save-draft").addEventListener("click", saveDraft);
document.getElementById("open-draft").addEventListener("click", openDraft);
document.getElementById("delete-draft").addEventListener("click", deleteDraft);
source.addEventListener("input", schedule);
source.addEventListener("scroll", () => { gutter.scrollTop = source.scrollTop; });
source.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && !event.shiftKey && !event.ctrlKey && !event.altKey) {
    // Two spaces, as YAML wants; Escape then Tab leaves the editor (keyboard users).
    if (source.dataset.escaped === "true") return;
    event.preventDefault();
    source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end");
    schedule();
  }
  source.dataset.escaped = String(event.key === "Escape");
});
list.addEventListener("click", (event) => {
  const line = event.target.closest("[data-goto]")?.dataset.goto;
  if (line) goToLine(Number(line));
});
select.addEventListener("change", () => { loadSource(); listDrafts(); });

drawGutter();
fillProgrammes(select).then(() => { loadSource(); listDrafts(); }, showProblem);
