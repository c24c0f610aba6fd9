import { api, clearProblem, el, showProblem } from "./api.js";

const form = document.getElementById("campaign-form");
const programmeSelect = document.getElementById("programme");
const campaignSelect = document.getElementById("campaign");
const box = document.getElementById("campaign-result");
const dialog = document.getElementById("confirm-launch");
const summaries = new Map();
let chartUrl;

const path = () =>
  `/v1/programmes/${encodeURIComponent(programmeSelect.value)}/campaigns/${encodeURIComponent(campaignSelect.value)}`;

function at() {
  // The start of the chosen day in the programme's zone (its offset at noon that day).
  const day = document.getElementById("at").value;
  if (!day) return null;
  const zone = summaries.get(programmeSelect.value)?.timezone ?? "UTC";
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(new Date(`${day}T12:00:00Z`));
  const name = parts.find((part) => part.type === "timeZoneName")?.value ?? "GMT";
  return `${day}T00:00:00${name === "GMT" ? "+00:00" : name.slice(3)}`;
}

const query = () => (at() ? `?at=${encodeURIComponent(at())}` : "");

function table(caption, head, rows) {
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((c) => el("td", { text: c ?? "—" }))))),
  );
}

function showPreview(p) {
  const groups = Object.entries(p.groups);
  box.replaceChildren(
    el(
      "div",
      { class: "card", id: "preview-result" },
      el("h2", { text: `Audience: ${p.audience} members` }),
      table("Groups (holdout gets nothing, to measure the lift)", ["Group", "Members"], groups.map(([g, n]) => [g, n])),
      el("p", { text: `${p.in_no_group} in the audience match no group.${p.launched ? ` Launched ${p.launched}.` : ""}` }),
    ),
  );
}

function showEstimate(e) {
  box.replaceChildren(
    el(
      "div",
      { class: "card", id: "estimate-result" },
      el("h2", { text: "Budget: downpour vs sunshine" }),
      table("Downpour, group by group", ["Group", "Targets", "Responders", "Points", "Real cost"], e.groups.map((g) => [
        g.name, g.figures.targets, g.figures.responders, g.figures.points, `${g.figures.real_cost} ${e.currency}`,
      ])),
      el(
        "dl",
        { class: "facts" },
        el("dt", { text: "Downpour total" }),
        el("dd", { id: "downpour-cost", text: `${e.total.points} points, real cost ${e.total.real_cost} ${e.currency}, ${e.total.responders} expected responders` }),
        el("dt", { text: "Sunshine, same cost" }),
        el("dd", { text: `${e.sunshine.headline}: ${e.sunshine.points_per_member} points a member` }),
        el("dt", { text: "Sunshine, whole budget" }),
        el("dd", { text: `${e.sunshine_at_cap.headline}, real cost ${e.sunshine_at_cap.real_cost} ${e.currency}` }),
      ),
      e.notes.length ? el("ul", {}, e.notes.map((n) => el("li", { text: n }))) : "",
    ),
  );
}

function showLaunch(result) {
  box.replaceChildren(
    el(
      "div",
      { class: "card", id: "launch-result" },
      el("h2", { text: result.created ? "Launched" : "Already launched (the same assignment)" }),
      el("p", { text: `${result.assigned} members assigned at ${result.launched_at}.` }),
      table("Groups", ["Group", "Members"], Object.entries(result.groups)),
    ),
  );
}

async function run(action) {
  clearProblem();
  try {
    await action();
  } catch (error) {
    box.replaceChildren();
    showProblem(error);
  }
}

// Charts come from the API as SVG; shown through a blob: URL in an <img>, never as markup.
async function showSvg(url, title, alt, id) {
  const svg = await api("GET", url, { text: true });
  if (chartUrl) URL.revokeObjectURL(chartUrl);
  chartUrl = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  box.replaceChildren(el("div", { class: "card" }, el("h2", { text: title }), el("img", { src: chartUrl, id, alt, class: "chart" })));
}

const showChart = () =>
  showSvg(
    `/v1/programmes/${encodeURIComponent(programmeSelect.value)}/analysis/critical-point?format=svg`,
    "Points critical point",
    "Share of members active in the next 30 days, by points balance: the balance where it rises is the critical point",
    "critical-point",
  );

const showReport = () =>
  showSvg(`${path()}/report?format=svg${query().replace("?", "&")}`, "Lift report",
    "Each group's activation against its holdout, with the lift", "lift-report");

function fillCampaigns() {
  const campaigns = summaries.get(programmeSelect.value)?.campaigns ?? [];
  campaignSelect.replaceChildren(...campaigns.map((c) => el("option", { value: c.id, text: `${c.name} (${c.window_words})` })));
  campaignSelect.disabled = !campaigns.length;
  for (const button of form.querySelectorAll("#preview, #estimate, #launch, #report")) button.disabled = !campaigns.length;
}

document.getElementById("preview").addEventListener("click", () => run(async () => showPreview(await api("GET", `${path()}/preview${query()}`))));
document.getElementById("estimate").addEventListener("click", () => run(async () => showEstimate(await api("GET", `${path()}/estimate${query()}`))));
document.getElementById("chart").addEventListener("click", () => run(showChart));
document.getElementById("report").addEventListener("click", () => run(showReport));
document.getElementById("launch").addEventListener("click", () => {
  document.getElementById("confirm-text").textContent =
    `${campaignSelect.selectedOptions[0]?.textContent ?? ""} in ${programmeSelect.value}, as of ${at() ?? "now"}.`;
  dialog.showModal();
});
dialog.addEventListener("close", () => {
  if (dialog.returnValue !== "launch") return;
  run(async () => showLaunch(await api("POST", `${path()}/launch`, { json: at() ? { at: at() } : {} })));
});
programmeSelect.addEventListener("change", fillCampaigns);

run(async () => {
  const { programmes } = await api("GET", "/v1/programmes");
  for (const p of programmes) summaries.set(p.id, await api("GET", `/v1/programmes/${encodeURIComponent(p.id)}`));
  const withCampaigns = programmes.filter((p) => summaries.get(p.id).campaigns.length);
  programmeSelect.replaceChildren(...withCampaigns.map((p) => el("option", { value: p.id, text: `${p.name} (${p.id})` })));
  fillCampaigns();
});
