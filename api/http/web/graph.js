// A small SVG graph view: typed, coloured nodes; edges labelled with their relation; a force layout computed
// once per drawing (repulsion between all nodes, springs along edges, a pull to the centre).

const SVG = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f6feb", "#b35900", "#1a7f37", "#a40e26", "#6639ba", "#0a6b70", "#7d4e00", "#57606a"];
const W = 640;
const H = 420;

export function colourOf(type) {
  let h = 0;
  for (const ch of type || "") h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function layout(nodes, edges, iterations) {
  const n = nodes.length;
  const index = new Map(nodes.map((d, i) => [d.id, i]));
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / Math.max(1, n);
    const r = 40 + 150 * ((i * 7919) % 97) / 97;
    x[i] = (nodes[i].x ?? W / 2 + r * Math.cos(a));
    y[i] = (nodes[i].y ?? H / 2 + r * Math.sin(a));
  }
  const links = edges.map((e) => [index.get(e.source), index.get(e.target)]).filter(([a, b]) => a !== undefined && b !== undefined);
  const k = Math.sqrt((W * H) / Math.max(1, n)) * 0.55;
  const dx = new Float64Array(n);
  const dy = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    const t = 12 * (1 - it / iterations) + 0.5;
    dx.fill(0);
    dy.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let ex = x[i] - x[j];
        let ey = y[i] - y[j];
        let d2 = ex * ex + ey * ey;
        if (d2 < 0.01) { ex = 0.1 * (i - j); ey = 0.1; d2 = 0.02; }
        const f = (k * k) / d2;
        dx[i] += ex * f; dy[i] += ey * f; dx[j] -= ex * f; dy[j] -= ey * f;
      }
    }
    for (const [a, b] of links) {
      const ex = x[a] - x[b];
      const ey = y[a] - y[b];
      const d = Math.sqrt(ex * ex + ey * ey) + 0.01;
      const f = d / k;
      dx[a] -= ex * f; dy[a] -= ey * f; dx[b] += ex * f; dy[b] += ey * f;
    }
    for (let i = 0; i < n; i++) {
      dx[i] += (W / 2 - x[i]) * 0.02 * k / 10;
      dy[i] += (H / 2 - y[i]) * 0.02 * k / 10;
      const d = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) + 0.01;
      const step = Math.min(d, t);
      x[i] = Math.min(W - 20, Math.max(20, x[i] + (dx[i] / d) * step));
      y[i] = Math.min(H - 14, Math.max(14, y[i] + (dy[i] / d) * step));
    }
  }
  nodes.forEach((d, i) => { d.x = x[i]; d.y = y[i]; });
}

// draw(container, {nodes: [{id, label, type, role?}], edges: [{source, target, label, evidence?}]},
//      {onNode(node), onEdge(edge)}) -> milliseconds spent
export function draw(container, graph, handlers = {}) {
  const started = performance.now();
  const nodes = graph.nodes;
  const edges = graph.edges;
  layout(nodes, edges, nodes.length > 120 ? 120 : 220);
  const byId = new Map(nodes.map((d) => [d.id, d]));
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "graph-svg", "data-nodes": nodes.length });
  const defs = el("defs");
  const marker = el("marker", { id: `arrow-${container.id}`, viewBox: "0 0 10 10", refX: 16, refY: 5,
    markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
  marker.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#57606a" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const e of edges) {
    const a = byId.get(e.source);
    const b = byId.get(e.target);
    if (!a || !b) continue;
    const g = el("g", { class: "edge", tabindex: 0, role: "button",
      "aria-label": `${a.label} ${e.label} ${b.label}` });
    g.appendChild(el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, "marker-end": `url(#arrow-${container.id})` }));
    g.appendChild(el("text", { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 3, class: "edge-label" }, e.label));
    const fire = () => handlers.onEdge && handlers.onEdge(e);
    g.addEventListener("click", fire);
    g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); fire(); } });
    svg.appendChild(g);
  }
  for (const d of nodes) {
    const g = el("g", { class: `node ${d.role || ""}`, tabindex: 0, role: "button",
      "aria-label": `${d.label} (${d.type || "entity"})`, "data-id": d.id });
    g.appendChild(el("circle", { cx: d.x, cy: d.y, r: d.role === "answer" ? 10 : 7, fill: colourOf(d.type) }));
    g.appendChild(el("text", { x: d.x + 10, y: d.y + 4, class: "node-label" }, d.label));
    g.appendChild(el("title", {}, `${d.label} · ${d.type || "entity"}`));
    const fire = () => handlers.onNode && handlers.onNode(d);
    g.addEventListener("click", fire);
    g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); fire(); } });
    svg.appendChild(g);
  }
  container.replaceChildren(svg);
  const types = [...new Set(nodes.map((d) => d.type || "entity"))];
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const t of types) {
    const li = document.createElement("li");
    const sw = el("svg", { width: 12, height: 12, "aria-hidden": "true" });
    sw.appendChild(el("circle", { cx: 6, cy: 6, r: 5, fill: colourOf(t) }));
    li.append(sw, ` ${t}`);
    legend.appendChild(li);
  }
  container.appendChild(legend);
  return performance.now() - started;
}
