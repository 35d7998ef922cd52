// The search page: calls the directory API of the same server; no outside resources.
"use strict";

const $ = (id) => document.getElementById(id);
const TYPE_LABELS = {
  treatment_center: "treatment center",
  narr_residence: "recovery residence",
  recovery_center: "recovery community center",
  recovery_organization: "recovery community organization",
};
const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function parseNear(text) {
  const value = text.trim();
  if (!value) return {};
  if (/^\d{5}(-\d{4})?$/.test(value)) return { zip: value };
  const parts = value.split(/[ ,]+/).map(Number);
  if (parts.length === 2 && parts.every((n) => Number.isFinite(n))) {
    return { lat: parts[0], lon: parts[1] };
  }
  throw new Error("Near: enter a 5-digit ZIP code or 'lat,lon'.");
}

function describeError(body, status) {
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).slice(-1)[0]}: ${d.msg}`).join("; ");
  }
  return (body && body.detail) || `HTTP ${status}`;
}

async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(describeError(body, response.status));
  return body;
}

function address(org) {
  return [org.street, org.city, [org.state, org.zip_code].filter(Boolean).join(" ")]
    .filter(Boolean).join(", ");
}

let generation = 0;

function renderResults(orgs) {
  const list = $("results");
  list.replaceChildren();
  list.dataset.generation = String(++generation);
  orgs.forEach((org, i) => {
    const tags = el("div", { class: "tags" },
      ...(org.services || []).map((s) => el("span", { class: "tag" }, s)),
      ...(org.payments || []).map((p) => el("span", { class: "tag pay" }, p)));
    list.append(el("li", { "data-org-id": org.org_id, class: "result" },
      org.distance_miles !== undefined
        ? el("span", { class: "distance" }, `${org.distance_miles.toFixed(1)} mi`) : null,
      el("button", { class: "name", type: "button", onclick: () => openOrganization(org.org_id) },
        org.name),
      el("div", { class: "meta" }, `${TYPE_LABELS[org.org_type] || org.org_type} · ${address(org)}`),
      org.phone ? el("div", { class: "meta phone" }, `☎ ${org.phone}`) : null,
      tags));
  });
  plot(orgs);
}

function plot(orgs, center) {
  const svg = $("plot");
  svg.replaceChildren();
  const points = orgs.filter((o) => o.latitude !== null && o.latitude !== undefined);
  const all = center ? [...points, { latitude: center.lat, longitude: center.lon }] : points;
  if (!all.length) return;
  const lats = all.map((p) => p.latitude), lons = all.map((p) => p.longitude);
  let [latMin, latMax, lonMin, lonMax] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const pad = 0.01;
  if (latMax - latMin < pad) { latMin -= pad; latMax += pad; }
  if (lonMax - lonMin < pad) { lonMin -= pad; lonMax += pad; }
  const [w, h, m] = [320, 240, 16];
  const x = (lon) => m + ((lon - lonMin) / (lonMax - lonMin)) * (w - 2 * m);
  const y = (lat) => h - m - ((lat - latMin) / (latMax - latMin)) * (h - 2 * m);
  points.forEach((p) => {
    const i = orgs.indexOf(p);
    const dot = document.createElementNS(SVG_NS, "circle");
    dot.setAttribute("cx", x(p.longitude)); dot.setAttribute("cy", y(p.latitude));
    dot.setAttribute("r", 4); dot.setAttribute("class", "hit");
    const title = document.createElementNS(SVG_NS, "title");
    title.textContent = `${i + 1}. ${p.name}`;
    dot.append(title);
    const label = document.createElementNS(SVG_NS, "text");
    label.setAttribute("x", x(p.longitude) + 5); label.setAttribute("y", y(p.latitude) - 4);
    label.textContent = String(i + 1);
    svg.append(dot, label);
  });
  if (center) {
    const c = document.createElementNS(SVG_NS, "circle");
    c.setAttribute("cx", x(center.lon)); c.setAttribute("cy", y(center.lat));
    c.setAttribute("r", 5); c.setAttribute("class", "center");
    svg.append(c);
  }
}

// The URL whose results are shown or on their way, and how many searches have started:
// a filter's change event that asks nothing new must not redraw the list under the pointer,
// and an answer that arrives after a newer search started is dropped.
let shownSearch = null;
let searchesStarted = 0;

function forgetSearch() {
  shownSearch = null;
  searchesStarted += 1;
}

async function runSearch(event, { unlessUnchanged = false } = {}) {
  if (event) event.preventDefault();
  const status = $("status");
  status.classList.remove("error");
  const params = new URLSearchParams();
  const q = $("q").value.trim();
  let near;
  try {
    near = parseNear($("near").value);
  } catch (err) {
    forgetSearch();
    status.textContent = err.message; status.classList.add("error"); return;
  }
  for (const [k, v] of Object.entries(near)) params.set(k, v);
  const hasNear = Object.keys(near).length > 0;
  if (hasNear) params.set("miles", $("miles").value);
  for (const name of ["state", "type", "service", "payment"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  let url;
  if (q) {
    params.set("q", q);
    url = `/api/v1/organizations/search?${params}`;
  } else if (hasNear) {
    for (const name of ["state", "service", "payment"]) params.delete(name);
    params.set("limit", "50");
    url = `/api/v1/organizations/nearby?${params}`;
  } else {
    forgetSearch();
    status.textContent = "Type what you are looking for, or a ZIP code in Near.";
    return;
  }
  if (unlessUnchanged && url === shownSearch) return;
  shownSearch = url;
  const started = ++searchesStarted;
  status.textContent = "Searching…";
  try {
    const body = await getJSON(url);
    if (started !== searchesStarted) return;
    const orgs = body.organizations;
    renderResults(orgs);
    if (body.center) plot(orgs, body.center);
    status.textContent = orgs.length
      ? `${orgs.length} organization(s)${q ? ", most relevant first" : ", nearest first"}`
      : "No organizations found. Try fewer words or a wider distance.";
  } catch (err) {
    if (started !== searchesStarted) return;
    shownSearch = null;
    $("results").replaceChildren();
    plot([]);
    status.textContent = err.message;
    status.classList.add("error");
  }
}

async function openOrganization(orgId) {
  const detail = $("detail");
  detail.hidden = false;
  detail.textContent = "Loading…";
  try {
    const org = await getJSON(`/api/v1/organizations/${encodeURIComponent(orgId)}`);
    const neighbours = el("ul", { class: "neighbours" },
      ...org.neighbours.map((n) => el("li", {},
        el("button", { class: "name", type: "button", onclick: () => openOrganization(n.org_id) }, n.name),
        ` — ${TYPE_LABELS[n.org_type] || n.org_type}, ${n.city || ""} (${Number(n.distance_miles).toFixed(1)} mi)`)));
    detail.replaceChildren(
      el("h2", { id: "detail-name" }, org.name),
      el("div", { class: "meta" }, `${TYPE_LABELS[org.org_type] || org.org_type} · ${address(org)}`),
      org.phone ? el("div", { class: "meta" }, `☎ ${org.phone}`) : null,
      org.website ? el("div", { class: "meta" }, org.website) : null,
      el("div", {}, ...org.services.map((s) => el("span", { class: "tag" }, s)),
        ...org.payments.map((p) => el("span", { class: "tag pay" }, p))),
      el("h3", {}, "Nearby in the network"),
      org.neighbours.length ? neighbours : el("p", { class: "muted" }, "None within 25 miles."));
  } catch (err) {
    detail.textContent = err.message;
  }
}

async function showSnapshot() {
  try {
    const health = await getJSON("/api/v1/health");
    $("snapshot").textContent =
      `Data published ${health.snapshot.published_at} (${health.snapshot.organizations} organizations).`;
  } catch (err) {
    $("snapshot").textContent = `Directory unavailable: ${err.message}`;
  }
}

$("search-form").addEventListener("submit", runSearch);
for (const id of ["state", "type", "service", "payment", "miles"]) {
  $(id).addEventListener("change", () => {
    if ($("q").value.trim() || $("near").value.trim()) runSearch(null, { unlessUnchanged: true });
  });
}
showSnapshot();
