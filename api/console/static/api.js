// The console's only way to the server: the same /v1 API as any client, authenticated by
// the session cookie plus the page's CSRF token (the key itself never reaches the page).
const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
export const role = document.querySelector('meta[name="role"]')?.content ?? "";

// The roles the API lets do a thing (admin may do everything): pages offer only what works.
export const may = (...roles) => role === "admin" || roles.includes(role);

export class ApiProblem extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, { json, yaml, text: asText = false } = {}) {
  const headers = { "X-CSRF-Token": token, Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (yaml !== undefined) {
    headers["Content-Type"] = "application/yaml";
    body = yaml;
  }
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  const text = await response.text();
  if (response.ok && asText) return text;
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiProblem(response.status, data);
  return data;
}

// Build elements without innerHTML: programme text is data, never markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function showProblem(error) {
  const alert = document.getElementById("alert");
  if (!(error instanceof ApiProblem) && !error?.body) throw error;
  const parts = [`${error.status} ${error.body?.title ?? ""}: ${error.body?.detail ?? ""}`];
  for (const item of error.body?.errors ?? []) parts.push(`${item.path}: ${item.message}`);
  alert.replaceChildren(...parts.map((part) => el("p", { text: part })));
  alert.dataset.status = String(error.status);
  alert.hidden = false;
}

export function clearProblem() {
  const alert = document.getElementById("alert");
  alert.hidden = true;
  alert.replaceChildren();
  delete alert.dataset.status;
}

export async function fillProgrammes(select) {
  const { programmes } = await api("GET", "/v1/programmes");
  select.replaceChildren(
    ...programmes.map((p) => el("option", { value: p.id, text: `${p.name} (${p.id}@${p.version})` })),
  );
  return programmes;
}

// A stored instant as the programme's wall clock ("2026-11-18 08:15"), the way staff read it.
export function when(iso, timezone) {
  if (!iso) return "—";
  const format = new Intl.DateTimeFormat("sv-SE", {
    timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  return format.format(new Date(iso));
}
