import { api, el, showProblem } from "./api.js";

const box = document.getElementById("programmes");

function tierCard(tier) {
  return el(
    "li",
    { class: "tier" },
    el("h4", { text: tier.name }),
    el("p", { class: "muted", text: tier.threshold_words }),
    el("ul", {}, tier.benefits.map((b) => el("li", { text: b }))),
  );
}

function listOf(title, items, describe) {
  if (!items.length) return el("p", { class: "muted", text: `No ${title.toLowerCase()}.` });
  return el("div", {}, el("h3", { text: title }), el("ul", {}, items.map(describe)));
}

// The problems of a file the last reload refused: the programme still serves its last good
// version, and the card says why the new one is not live.
function refusal(file, refused) {
  return el(
    "section",
    { class: "refused", "data-refused": file },
    el("h3", { class: "error", text: `Last reload refused ${file}` }),
    el("p", { class: "muted", text: `${new Date(refused.refused_at).toLocaleString()} by ${refused.actor}; the version above is still live.` }),
    el("ul", {}, refused.problems.map((problem) =>
      el("li", {}, problem.line ? `line ${problem.line}: ` : "", problem.message, problem.hint ? el("span", { class: "hint", text: ` — ${problem.hint}` }) : ""))),
  );
}

function card(p, refused = []) {
  return el(
    "article",
    { class: "card programme", "aria-labelledby": `p-${p.id}`, "data-programme": p.id },
    el("h2", { id: `p-${p.id}`, text: p.name }),
    el(
      "p",
      { class: "meta" },
      `${p.id}@${p.version} · ${p.currency} · ${p.timezone}`,
      p.loaded_at ? ` · published ${new Date(p.loaded_at).toLocaleString()} by ${p.loaded_by}` : "",
    ),
    el("p", { class: "pitch", text: p.pitch }),
    el(
      "dl",
      { class: "facts" },
      el("dt", { text: "Earn" }),
      el("dd", { class: "earn", text: p.earn.words }),
      el("dt", { text: "Burn" }),
      el("dd", { class: "burn", text: p.burn.words }),
      el("dt", { text: "Expiry" }),
      el("dd", { class: "expiry", text: p.expiry.words }),
    ),
    el("h3", { text: "Tiers" }),
    el("ol", { class: "tiers" }, p.tiers.map(tierCard)),
    listOf("Rules", p.rules, (r) =>
      el("li", {}, el("strong", { text: r.name }), r.description ? ` — ${r.description}` : "", el("span", { class: "muted", text: ` (${r.window_words})` }))),
    listOf("Campaigns", p.campaigns, (c) => el("li", {}, el("strong", { text: c.name }), ` — ${c.window_words}`)),
    refused.map(([file, r]) => refusal(file, r)),
  );
}

async function load() {
  try {
    const { programmes, refused } = await api("GET", "/v1/programmes");
    const summaries = await Promise.all(programmes.map((p) => api("GET", `/v1/programmes/${encodeURIComponent(p.id)}`)));
    const files = Object.entries(refused ?? {});
    const owner = (file) => programmes.find((p) => p.files.includes(file))?.id;
    const cards = summaries.map((summary) => card(summary, files.filter(([file]) => owner(file) === summary.id)));
    const orphans = files.filter(([file]) => !owner(file)); // a new programme that never loaded
    if (orphans.length) {
      cards.push(el("article", { class: "card", "aria-label": "Refused files" }, el("h2", { text: "Files the last reload refused" }), orphans.map(([file, r]) => refusal(file, r))));
    }
    box.replaceChildren(...cards);
  } catch (error) {
    box.replaceChildren();
    showProblem(error);
  }
}

load();
