// The Operations page (admins): health, live charts from /metrics (requests, latency percentiles, ingest,
// tokens), keys and collections.

import { call } from "./api.js";
import { $, guarded, h, state } from "./ui.js";

const series = {};

function metricValues(text) {
  // totals over every label set, and the request-latency histogram's cumulative counts by bucket bound
  const out = { buckets: new Map() };
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    const name = line.slice(0, cut);
    const base = name.split("{")[0];
    const v = Number(line.slice(cut + 1));
    if (base === "hopgraph_http_requests_total") out.requests = (out.requests || 0) + v;
    if (base === "hopgraph_generated_tokens_total") out.tokens = (out.tokens || 0) + v;
    if (base === "hopgraph_ingest_documents_total") out.ingested = (out.ingested || 0) + v;
    if (base === "hopgraph_http_request_duration_seconds_bucket") {
      const le = /le="([^"]+)"/.exec(name);
      if (le) {
        const bound = le[1] === "+Inf" ? Infinity : Number(le[1]);
        out.buckets.set(bound, (out.buckets.get(bound) || 0) + v);
      }
    }
  }
  return out;
}

export function percentile(prev, now, q) {
  // the latency (ms) under which a share q of the requests between two samples finished: the upper bound of
  // the histogram bucket it falls in (0 without requests; the largest finite bound when it is beyond them all)
  const bounds = [...now.keys()].sort((x, y) => x - y);
  const total = (now.get(Infinity) || 0) - (prev.get(Infinity) || 0);
  if (total <= 0) return 0;
  let last = 0;
  for (const b of bounds) {
    if ((now.get(b) || 0) - (prev.get(b) || 0) >= q * total) return 1000 * (b === Infinity ? last : b);
    if (b !== Infinity) last = b;
  }
  return 1000 * last;
}

function sparkline(title, values, unit) {
  const w = 220;
  const hgt = 60;
  const max = Math.max(1e-9, ...values);
  const pts = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * w},${hgt - (v / max) * (hgt - 6) - 3}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${values.length ? values[values.length - 1].toFixed(2) : 0} ${unit}`);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts);
  line.setAttribute("class", "spark");
  svg.appendChild(line);
  return h("figure", { class: "chart" }, svg, h("figcaption", {}, `${title}: ${values.length ? values[values.length - 1].toFixed(2) : "–"} ${unit}`));
}

async function sampleMetrics() {
  const text = await guarded(() => call("GET", "/metrics"));
  if (typeof text !== "string") return;
  const now = metricValues(text);
  const prev = series.last;
  series.last = { ...now, at: performance.now() };
  if (prev) {
    const dt = (series.last.at - prev.at) / 1000;
    const push = (k, v) => { (series[k] = series[k] || []).push(v); if (series[k].length > 60) series[k].shift(); };
    push("rps", ((now.requests || 0) - (prev.requests || 0)) / dt);
    push("p50", percentile(prev.buckets, now.buckets, 0.5));
    push("p95", percentile(prev.buckets, now.buckets, 0.95));
    push("ingest", ((now.ingested || 0) - (prev.ingested || 0)) / dt);
    push("tokens", ((now.tokens || 0) - (prev.tokens || 0)) / dt);
  }
  $("charts").replaceChildren(sparkline("Requests", series.rps || [], "/s"), sparkline("Latency p50", series.p50 || [], "ms"),
    sparkline("Latency p95", series.p95 || [], "ms"),
    sparkline("Ingest", series.ingest || [], "documents/s"), sparkline("Tokens", series.tokens || [], "/s"));
}

export async function loadOperations() {
  const ready = await fetch("/readyz").then((r) => r.json()).catch(() => null);
  $("health").textContent = ready ? `${ready.status}: ${Object.entries(ready.checks).map(([k, v]) => `${k} ${v}`).join(", ")}` : "unreachable";
  sampleMetrics();
  state.timers.push(setInterval(sampleMetrics, 5000));
  const keys = await guarded(() => call("GET", "/v1/keys"));
  if (keys) {
    $("keys").replaceChildren(...keys.map((k) => h("tr", {}, h("td", {}, k.name), h("td", {}, k.role),
      h("td", {}, k.collections.join(", ") || "all"), h("td", { class: "mono" }, k.id),
      h("td", {}, k.id === state.me.id ? "(you)" : h("button", { type: "button", class: "secondary", "aria-label": `Revoke ${k.name}`,
        onclick: async () => { if (await guarded(() => call("DELETE", `/v1/keys/${k.id}`))) loadOperations(); } }, "Revoke")))));
  }
  const cols = await guarded(() => call("GET", "/v1/collections"));
  if (cols) {
    $("collections").replaceChildren(...cols.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.documents),
      h("td", {}, c.chunks), h("td", {}, c.entities), h("td", {}, c.relations))));
  }
}

export async function createKey(ev) {
  ev.preventDefault();
  const collections = $("key-collections").value.split(",").map((s) => s.trim()).filter(Boolean);
  const made = await guarded(() => call("POST", "/v1/keys", { name: $("key-name").value.trim(), role: $("key-role").value, collections }));
  if (made) {
    $("key-secret").textContent = `Key ${made.name}: ${made.key} — copy it now, it is not shown again.`;
    loadOperations();
  }
}
