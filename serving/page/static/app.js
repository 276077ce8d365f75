// The account-risk page: plain JavaScript, no build step, no external resource.
// Data comes from the service's JSON routes on the same origin; with CSAT_API_TOKEN set the page asks for
// the token once and keeps it in this tab's sessionStorage.
"use strict";

const TOKEN_KEY = "csat-api-token";
const SVG = "http://www.w3.org/2000/svg";
const COLORS = { churn: "#c0392b", satisfaction: "#2471a3", raises: "#c0392b", lowers: "#1e8449", bar: "#5d6d7e" };
const DRIVERS_SHOWN = 15;

const state = {
  sort: "risk",
  descending: true,
  offset: 0,
  facets: null,
  view: null,
  model: "churn",
  allDrivers: false,
  timings: {},
};
window.csatPage = state; // read by the browser tests and the benchmark (timings)

class AuthError extends Error {}

// ---------- small helpers ----------
function $(id) {
  return document.getElementById(id);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function pct(p) {
  return p === null || p === undefined ? "\u2014" : `${(100 * p).toFixed(1)}%`;
}

function points(delta) {
  if (delta === null || delta === undefined) return "\u2014";
  const v = 100 * delta;
  return `${v > 0 ? "+" : ""}${v.toFixed(1)} pts`;
}

function num(v, digits = 0) {
  if (v === null || v === undefined) return "\u2014";
  return Number(v).toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function band(b) {
  return el("span", { class: `band band-${b}`, text: b });
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function show(sectionId) {
  for (const id of ["token-view", "list-view", "account-view", "models-view"]) $(id).hidden = id !== sectionId;
}

// ---------- the API ----------
async function api(route, body) {
  const headers = { "content-type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  const resp = await fetch(route, { method: "POST", headers, body: JSON.stringify(body || {}) });
  if (resp.status === 401) throw new AuthError("token needed");
  if (!resp.ok) {
    let detail = "";
    try {
      detail = (await resp.json()).error || "";
    } catch (_) {
      detail = resp.statusText;
    }
    throw new Error(`${route} answered ${resp.status}: ${detail}`);
  }
  return resp.json();
}

// ---------- the list ----------
function listRequest() {
  const bandChoice = $("f-band").value;
  const body = {
    segment: $("f-segment").value || null,
    region: $("f-region").value || null,
    csm_team: $("f-team").value || null,
    csm_id: $("f-csm").value.trim() || null,
    search: $("f-search").value.trim() || null,
    min_band: bandChoice === "atrisk" ? "medium" : "low",
    band: ["high", "medium", "low"].includes(bandChoice) ? bandChoice : null,
    sort: state.sort,
    descending: state.descending,
    offset: state.offset,
    limit: Number($("f-limit").value),
    with_facets: state.facets === null,
  };
  return body;
}

function fillSelect(select, values) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "", text: "all" }), ...values.map((v) => el("option", { value: v, text: v })));
  select.value = values.includes(keep) ? keep : "";
}

function accountRow(item) {
  const link = el("a", { href: `#/account/${encodeURIComponent(item.account_id)}`, text: item.name || item.account_id });
  const change = el("td", { class: "num", text: points(item.churn_change_7d) });
  if (item.churn_change_7d === null) change.title = "no stored score a week older yet";
  else change.classList.add(item.churn_change_7d > 0 ? "worse" : "better");
  const reasons = el("td", { class: "reasons" });
  for (const r of item.reasons) reasons.append(el("div", { text: r }));
  return el(
    "tr",
    { "data-account": item.account_id },
    el("td", { class: "num", text: String(item.rank) }),
    el("td", {}, link, el("div", { class: "muted small", text: item.account_id })),
    el("td", { text: item.segment || "" }),
    el("td", { text: item.region || "" }),
    el("td", { text: item.csm_team || "" }),
    el("td", { class: "num", text: pct(item.satisfaction_probability) }),
    el("td", { class: "num", text: pct(item.churn_probability) }),
    el("td", {}, band(item.risk_band)),
    change,
    reasons,
  );
}

function renderList(page) {
  const t0 = performance.now();
  const f = page.facets;
  if (state.facets === null && f && f.segments.length + f.regions.length + f.csm_teams.length > 0) {
    state.facets = f;
    fillSelect($("f-segment"), page.facets.segments);
    fillSelect($("f-region"), page.facets.regions);
    fillSelect($("f-team"), page.facets.csm_teams);
  }
  const frag = document.createDocumentFragment();
  for (const item of page.items) frag.append(accountRow(item));
  const tbody = $("accounts").tBodies[0];
  tbody.replaceChildren(frag);
  const last = Math.min(page.offset + page.items.length, page.total);
  const former = page.former_customers ? ` (${page.former_customers.toLocaleString("en")} former customers not listed)` : "";
  $("list-summary").textContent = `${page.total.toLocaleString("en")} accounts match${former}`;
  $("page-info").textContent = page.total ? `${page.offset + 1}\u2013${last} of ${page.total.toLocaleString("en")}` : "none";
  $("prev").disabled = page.offset === 0;
  $("next").disabled = last >= page.total;
  for (const th of document.querySelectorAll("#accounts th[data-sort]")) {
    th.classList.toggle("sorted", th.dataset.sort === state.sort);
    th.dataset.dir = th.dataset.sort === state.sort ? (state.descending ? "desc" : "asc") : "";
  }
  const view = $("list-view");
  view.dataset.total = String(page.total);
  view.dataset.rows = String(page.items.length);
  view.dataset.ready = "true";
  state.timings.listRender = performance.now() - t0;
  if (state.timings.firstList === undefined) state.timings.firstList = performance.now();
}

async function loadList() {
  $("list-view").dataset.ready = "false";
  const seq = (state.seq = (state.seq || 0) + 1);
  const started = performance.now();
  const page = await api("/at_risk", listRequest());
  if (seq !== state.seq) return; // a newer request (the user kept typing) owns the list
  state.timings.listFetch = performance.now() - started;
  renderList(page);
}

// ---------- the account view ----------
function tile(label, value, extra) {
  const node = el("div", { class: "tile" }, el("div", { class: "muted small", text: label }), el("div", { class: "big" }, value));
  if (extra) node.append(el("div", { class: "muted small", text: extra }));
  return node;
}

function lineChart(history, current) {
  const pts = history.points.length
    ? history.points.map((p) => ({ label: (p.scored_at || "").slice(0, 10), churn: p.churn_probability, sat: p.satisfaction_probability }))
    : [{ label: "now", churn: current.churn, sat: current.satisfaction }];
  const w = 560, h = 200, left = 40, right = 12, top = 12, bottom = 28;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", "aria-label": "Scores over time", id: "trend-svg" });
  const x = (i) => (pts.length === 1 ? (left + w - right) / 2 : left + (i * (w - left - right)) / (pts.length - 1));
  // the axis ends at the next step above the largest value, so small probabilities still show their trend
  const highest = Math.max(...pts.map((p) => Math.max(p.churn, p.sat)));
  const yMax = [0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1].find((s) => highest <= s * 0.95) || 1;
  const y = (p) => top + (1 - p / yMax) * (h - top - bottom);
  for (const v of [0, 0.25, 0.5, 0.75, 1].map((f) => f * yMax)) {
    chart.append(svg("line", { x1: left, x2: w - right, y1: y(v), y2: y(v), class: "gridline" }));
    chart.append(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, `${+(v * 100).toFixed(1)}%`));
  }
  for (const [key, color, name] of [["churn", COLORS.churn, "churn"], ["sat", COLORS.satisfaction, "satisfaction"]]) {
    const coords = pts.map((p, i) => `${x(i)},${y(p[key])}`).join(" ");
    chart.append(svg("polyline", { points: coords, fill: "none", stroke: color, "stroke-width": 2, class: `line-${name}` }));
    pts.forEach((p, i) => {
      const dot = svg("circle", { cx: x(i), cy: y(p[key]), r: 3.5, fill: color });
      dot.append(svg("title", {}, `${name} ${pct(p[key])} (${p.label})`));
      chart.append(dot);
    });
  }
  chart.append(svg("text", { x: left, y: h - 8, class: "axis" }, pts[0].label));
  if (pts.length > 1) chart.append(svg("text", { x: w - right, y: h - 8, "text-anchor": "end", class: "axis" }, pts[pts.length - 1].label));
  const legend = el("div", { class: "legend" },
    el("span", { class: "key churn", text: "churn probability" }),
    el("span", { class: "key satisfaction", text: "satisfaction probability" }));
  return [chart, legend, pts.length];
}

function driversChart(contributions) {
  const rows = state.allDrivers ? contributions : contributions.slice(0, DRIVERS_SHOWN);
  const w = 900, rowH = 22, labelW = 520, top = 6;
  const h = top * 2 + rows.length * rowH;
  const maxAbs = Math.max(1e-9, ...rows.map((d) => Math.abs(d.contribution)));
  const mid = labelW + (w - labelW) / 2;
  const scale = (w - labelW - 70) / 2 / maxAbs;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", "aria-label": "Drivers", id: "drivers-svg" });
  chart.append(svg("line", { x1: mid, x2: mid, y1: 0, y2: h, class: "gridline" }));
  rows.forEach((d, i) => {
    const yy = top + i * rowH;
    const fill = d.direction === "raises risk" ? COLORS.raises : d.direction === "lowers risk" ? COLORS.lowers : COLORS.bar;
    const len = Math.abs(d.contribution) * scale;
    const xStart = d.contribution >= 0 ? mid : mid - len;
    const g = svg("g", { class: "driver", "data-feature": d.feature });
    const value = d.value === null ? "none" : typeof d.value === "number" ? num(d.value, 2) : d.value;
    const label = d.description.length > 78 ? `${d.description.slice(0, 76)}\u2026` : d.description;
    g.append(svg("text", { x: 0, y: yy + 15, class: "dlabel" }, `${label} (${value})`));
    g.append(svg("rect", { x: xStart, y: yy + 4, width: Math.max(1, len), height: rowH - 8, fill }));
    const tx = d.contribution >= 0 ? xStart + len + 4 : xStart - 4;
    g.append(svg("text", { x: tx, y: yy + 15, "text-anchor": d.contribution >= 0 ? "start" : "end", class: "axis" }, d.contribution.toFixed(3)));
    g.append(svg("title", {}, `${d.description}\nvalue: ${value}\n${d.direction} (${d.contribution.toFixed(4)}), ${d.group}, ${d.feature_set}`));
    chart.append(g);
  });
  return chart;
}

function renderDrivers() {
  const exp = state.view.explanation[state.model];
  for (const b of document.querySelectorAll(".switch button")) b.classList.toggle("on", b.dataset.model === state.model);
  $("drivers-chart").replaceChildren(driversChart(exp.contributions));
  $("collab-share").textContent = `${pct(exp.collaboration_share)} of this prediction comes from collaboration`;
  const all = $("drivers-all");
  all.hidden = exp.contributions.length <= DRIVERS_SHOWN;
  all.textContent = state.allDrivers ? `Show the top ${DRIVERS_SHOWN}` : `Show all ${exp.contributions.length} drivers`;
}

function barChart(periods) {
  const w = 420, h = 190, left = 10, bottom = 36, top = 18;
  const vals = periods.map((p) => p.hours_per_30d || 0);
  const max = Math.max(1e-9, ...vals);
  const bw = (w - left * 2) / periods.length;
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: "100%", role: "img", "aria-label": "Customer hours", id: "hours-svg" });
  periods.forEach((p, i) => {
    const bh = ((p.hours_per_30d || 0) / max) * (h - top - bottom);
    const x = left + i * bw + 8;
    chart.append(svg("rect", { x, y: h - bottom - bh, width: bw - 16, height: Math.max(bh, 0.5), fill: COLORS.bar }));
    chart.append(svg("text", { x: x + (bw - 16) / 2, y: h - bottom - bh - 4, "text-anchor": "middle", class: "axis" }, p.hours_per_30d === null ? "n/a" : `${num(p.hours_per_30d, 1)} h`));
    chart.append(svg("text", { x: x + (bw - 16) / 2, y: h - bottom + 16, "text-anchor": "middle", class: "axis" }, p.label));
  });
  return chart;
}

function renderAccount(answer) {
  const view = { ...answer, ...answer.account };
  state.view = view;
  state.allDrivers = false;
  const exp = view.explanation;
  $("acc-title").textContent = `${view.name || view.account_id} (${view.account_id})`;
  $("acc-meta").textContent = [view.segment, view.region, view.csm_team && `CSM team ${view.csm_team}`, exp.as_of && `features as of ${exp.as_of.slice(0, 10)}`]
    .filter(Boolean).join(" \u00b7 ");
  $("acc-tiles").replaceChildren(
    tile("Risk band", band(exp.risk_band)),
    tile("Satisfaction probability", pct(exp.satisfaction.probability)),
    tile("Churn probability", pct(exp.churn.probability), `since last week: ${points(view.churn_change_7d)}`),
    tile("From collaboration", pct(exp.churn.collaboration_share), "share of the churn prediction"),
    tile("Churn trend", view.history.churn_trend, `${view.history.points.length} stored scores`),
  );
  const [chart, legend, n] = lineChart(view.history, { churn: exp.churn.probability, satisfaction: exp.satisfaction.probability });
  $("trend-chart").replaceChildren(chart, legend);
  $("trend-note").textContent = view.history.points.length ? (n > 1 ? "" : "One stored score so far: the trend grows with each csat score-all run.") : "No stored scores yet (csat score-all): showing today's live score.";
  const actions = view.actions.length ? view.actions : ["Nothing actionable stands out among the collaboration drivers."];
  $("actions").replaceChildren(...actions.map((a) => el("li", { text: a })));
  const c = view.collaboration;
  $("hours-chart").replaceChildren(barChart(c.periods));
  $("collab-tiles").replaceChildren(
    tile("Contacts reached", `${num(c.contacts_reached["90d"])} in 90 days`, `${num(c.contacts_reached["28d"])} in 28 days, ${num(c.contacts_reached["180d"])} in 180 days`),
    tile("Known contacts reached", pct(c.contact_coverage_90d), "last 90 days"),
    tile("Customer executives reached", `${num(c.executives_reached["90d"])} in 90 days`, `${num(c.executives_reached["180d"])} in 180 days`),
    tile("Our executives engaged", c.our_executive_engaged_90d === null ? "\u2014" : c.our_executive_engaged_90d ? "yes" : "no", "last 90 days"),
    tile("Days since the last meeting", c.days_since_last_meeting === null ? "none in 180 days" : num(c.days_since_last_meeting)),
    tile("Average reply time", c.reply_hours_avg_90d === null ? "\u2014" : `${num(c.reply_hours_avg_90d, 1)} h`, "last 90 days"),
  );
  renderDrivers();
  const section = $("account-view");
  section.dataset.account = view.account_id;
  section.dataset.ready = "true";
}

async function loadAccount(id) {
  $("account-view").dataset.ready = "false";
  renderAccount(await api("/account_view", { account_id: id }));
}

// ---------- the model panel ----------
function metricTable(title, metrics) {
  const names = Object.keys(metrics);
  if (!names.length) return el("p", { class: "muted", text: `${title}: not published with this model (see MLflow).` });
  const body = names.map((k) => {
    const m = metrics[k];
    const ci = m.low !== undefined && m.high !== undefined ? `${num(m.low, 3)} \u2013 ${num(m.high, 3)}` : "";
    return el("tr", {}, el("td", { text: k }), el("td", { class: "num", text: num(m.point, 3) }), el("td", { class: "num muted", text: ci }));
  });
  return el("table", { class: "grid small" },
    el("caption", { text: title }),
    el("thead", {}, el("tr", {}, el("th", { text: "metric" }), el("th", { text: "test" }), el("th", { text: "95% interval" }))),
    el("tbody", {}, ...body));
}

function renderModels(info) {
  $("mlflow-link").href = `${location.protocol}//${location.hostname}:5000/`;
  const cards = Object.entries(info.models).map(([role, m]) =>
    el("div", { class: "card model", "data-role": role },
      el("h3", { text: `${role}: ${m.name} v${m.version}` }),
      el("p", { class: "muted", text: `trained ${m.trained_at ? m.trained_at.slice(0, 16).replace("T", " ") : "unknown"} UTC \u00b7 ${m.feature_set} feature set (${m.n_features} features) \u00b7 threshold ${num(m.threshold, 3)}` }),
      metricTable("Test metrics", m.metrics),
      metricTable("Lift from collaboration (enriched minus baseline)", m.lift || {})));
  $("model-cards").replaceChildren(...cards);
  $("models-view").dataset.ready = "true";
}

// ---------- routing ----------
async function route() {
  showError("");
  const hash = location.hash || "#/";
  try {
    if (!state.info) {
      state.info = await api("/model_info");
      $("store-info").textContent = `${state.info.accounts_in_store.toLocaleString("en")} accounts, features as of ${(state.info.store_as_of || "").slice(0, 10)}`;
    }
    if (hash.startsWith("#/account/")) {
      show("account-view");
      await loadAccount(decodeURIComponent(hash.slice("#/account/".length)));
    } else if (hash.startsWith("#/models")) {
      show("models-view");
      renderModels(state.info);
    } else {
      show("list-view");
      await loadList();
    }
  } catch (err) {
    if (err instanceof AuthError) {
      sessionStorage.removeItem(TOKEN_KEY);
      show("token-view");
      $("token-input").focus();
    } else {
      showError(String(err.message || err));
    }
  }
}

function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function reloadFromStart() {
  state.offset = 0;
  loadList().catch((err) => (err instanceof AuthError ? route() : showError(String(err.message || err))));
}

function wire() {
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    route();
  });
  for (const id of ["f-segment", "f-region", "f-team", "f-band", "f-limit"]) $(id).addEventListener("change", reloadFromStart);
  $("f-search").addEventListener("input", debounce(reloadFromStart, 200));
  $("f-csm").addEventListener("input", debounce(reloadFromStart, 400));
  $("filters").addEventListener("submit", (ev) => ev.preventDefault());
  $("prev").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - Number($("f-limit").value));
    loadList().catch((err) => showError(String(err.message || err)));
  });
  $("next").addEventListener("click", () => {
    state.offset += Number($("f-limit").value);
    loadList().catch((err) => showError(String(err.message || err)));
  });
  for (const th of document.querySelectorAll("#accounts th[data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      state.descending = key === state.sort ? !state.descending : key !== "name";
      state.sort = key;
      reloadFromStart();
    });
  }
  for (const b of document.querySelectorAll(".switch button")) {
    b.addEventListener("click", () => {
      state.model = b.dataset.model;
      renderDrivers();
    });
  }
  $("drivers-all").addEventListener("click", () => {
    state.allDrivers = !state.allDrivers;
    renderDrivers();
  });
  window.addEventListener("hashchange", route);
}

document.addEventListener("DOMContentLoaded", () => {
  wire();
  route();
});
