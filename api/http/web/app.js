// The hopgraph web app: sign in with an API key, then Ask, Documents, Entities, Curation (curators) and
// Operations (admins). Every call goes to the /v1 API with the key; errors show the problem's title and detail.

import { Problem, allows, call, key, setKey, stream } from "./api.js";
import { loadCuration, wireCuration } from "./curation.js";
import { draw } from "./graph.js";
import { createKey, loadOperations } from "./ops.js";
import { $, HISTORY, col, guarded, h, hooks, showProblem, state, waitJob } from "./ui.js";

// ------------------------------------------------------------------ sign-in, roles, routing
async function signIn(value) {
  setKey(value);
  const me = await guarded(() => call("GET", "/v1/whoami"));
  if (!me) { setKey(null); return; }
  state.me = me;
  const cols = (await guarded(() => call("GET", "/v1/collections"))) || [];
  const select = $("collection");
  select.replaceChildren(...cols.map((c) => h("option", { value: c.name }, c.name)));
  state.collection = sessionStorage.getItem("hopgraph.collection") || (cols[0] && cols[0].name) || null;
  if (state.collection && !cols.some((c) => c.name === state.collection)) state.collection = cols[0] ? cols[0].name : null;
  if (state.collection) select.value = state.collection;
  $("whoami").textContent = `${me.name} (${me.role})`;
  for (const el of document.querySelectorAll("[data-role]")) el.hidden = !allows(me.role, el.dataset.role);
  $("nav").hidden = false;
  $("who").hidden = false;
  state.history = JSON.parse(sessionStorage.getItem(HISTORY) || "[]");
  renderHistory();
  route();
}

function signOut() {
  setKey(null);
  state.me = null;
  $("nav").hidden = true;
  $("who").hidden = true;
  location.hash = "";
  show("signin");
}

function show(page) {
  for (const el of document.querySelectorAll(".page")) el.hidden = el.id !== `page-${page}`;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function route() {
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  if (!state.me) { show("signin"); return; }
  const [, page, arg] = (location.hash || "#/ask").split("/");
  const needs = { curation: "curator", operations: "admin" };
  const name = ["ask", "documents", "entities", "curation", "operations"].includes(page) ? page : "ask";
  if (needs[name] && !allows(state.me.role, needs[name])) {
    showProblem(new Problem(403, "Forbidden", `the ${name} page needs a ${needs[name]} key`));
    show("ask");
    return;
  }
  show(name);
  if (!state.collection && name !== "operations") {
    showProblem(new Problem(404, "No collection", "this key covers no collection yet"));
    return;
  }
  if (name === "documents") { $("document").hidden = true; loadDocuments(); if (arg) openDocument(decodeURIComponent(arg)); }
  if (name === "entities" && arg) openEntity(decodeURIComponent(arg));
  if (name === "curation") loadCuration();
  if (name === "operations") loadOperations();
}

// ------------------------------------------------------------------ Ask
function renderHistory() {
  $("history").replaceChildren(...state.history.map((q) => h("li", {},
    h("button", { type: "button", class: "link", onclick: () => { $("question").value = q; $("question").focus(); } }, q))));
}

function highlighted(passage, citations) {
  // the passage text with each cited span marked
  const spans = citations.filter((c) => c.chunk_id === passage.chunk_id)
    .map((c) => [Math.max(0, c.start - passage.start), Math.min(passage.text.length, c.end - passage.start)])
    .filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out = [];
  let at = 0;
  for (const [a, b] of spans) {
    if (a < at) continue;
    out.push(passage.text.slice(at, a), h("mark", { class: "cited" }, passage.text.slice(a, b)));
    at = b;
  }
  out.push(passage.text.slice(at));
  return out;
}

function pathText(path) {
  return path.map((e) => (e.forward === false ? `${e.tail} <-[${e.type}]- ${e.head}` : `${e.head} -[${e.type}]-> ${e.tail}`)).join("  ");
}

function renderPassages(passages, citations) {
  state.passages = passages;
  $("passages").replaceChildren(...passages.map((p, i) => h("li", { id: `passage-${i + 1}`, tabindex: -1, class: "passage" },
    h("div", { class: "passage-head" }, h("strong", {}, `[${i + 1}] ${p.title || p.doc_id}`),
      h("span", { class: "muted" }, ` ${Object.entries(p.scores).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(" · ")}`)),
    h("p", { class: "passage-text" }, highlighted(p, citations)),
    p.paths.length ? h("ul", { class: "paths" }, p.paths.slice(0, 3).map((path) => h("li", { class: "path" }, pathText(path)))) : null)));
}

function answerWithLinks(text) {
  const parts = [];
  let at = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    parts.push(text.slice(at, m.index));
    const n = m[1];
    parts.push(h("a", { href: `#passage-${n}`, class: "cite", onclick: (ev) => {
      ev.preventDefault();
      const target = $(`passage-${n}`);
      if (target) { target.scrollIntoView({ block: "nearest" }); target.focus(); target.classList.add("flash"); }
    } }, `[${n}]`));
    at = m.index + m[0].length;
  }
  parts.push(text.slice(at));
  return parts;
}

function answerGraph(answer) {
  const nodes = new Map();
  const edges = new Map();
  const add = (id, label, role) => {
    if (!id) return;
    const known = nodes.get(id);
    if (!known) nodes.set(id, { id, label, type: "entity", role });
    else if (role && !known.role) known.role = role;
  };
  for (const l of answer.retrieval.linked) add(l.entity_id, l.surface, "question");
  for (const p of answer.retrieval.passages) {
    for (const path of p.paths) {
      for (const e of path) {
        add(e.head_id, e.head);
        add(e.tail_id, e.tail);
        edges.set(`${e.head_id}|${e.type}|${e.tail_id}`, { source: e.head_id, target: e.tail_id, label: e.type,
          evidence: e.evidence_chunk_id });
      }
    }
  }
  const short = answer.answer.replace(/\[\d+\]/g, "").trim().toLowerCase();
  for (const d of nodes.values()) if (short && d.label.toLowerCase() === short) d.role = "answer";
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

async function typeNodes(graph) {
  // colour by entity type: one entity read per node (small graphs only)
  await Promise.all(graph.nodes.slice(0, 40).map(async (d) => {
    try { d.type = (await call("GET", col(`/entities/${encodeURIComponent(d.id)}`))).type; } catch (_) { /* untyped */ }
  }));
}

function showEvidence(target, chunkId) {
  const p = state.passages.find((x) => x.chunk_id === chunkId);
  target.textContent = p ? `Evidence: ${p.text}` : chunkId ? `Evidence in chunk ${chunkId}` : "No evidence sentence recorded";
}

async function ask(ev) {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  state.history = [question, ...state.history.filter((q) => q !== question)].slice(0, 20);
  sessionStorage.setItem(HISTORY, JSON.stringify(state.history));
  renderHistory();
  $("answer").textContent = "";
  $("answer").classList.add("streaming");
  $("answer-flags").textContent = "";
  $("steps").replaceChildren();
  $("passages").replaceChildren();
  $("ask-graph").replaceChildren();
  $("ask-button").disabled = true;
  const body = { question, mode: $("mode").value, k: Number($("k").value) || 5, stream: true };
  await guarded(() => stream(col("/query"), body, async (event, data) => {
    if (event === "token") $("answer").append(data.text);
    else if (event === "error") showProblem(new Problem(data.status, data.title, data.detail));
    else if (event === "answer") {
      $("answer").replaceChildren(...answerWithLinks(data.answer));
      const flags = [];
      if (data.no_answer) flags.push("The passages do not answer this question.");
      else if (data.unsupported) flags.push("Unsupported: no passage contains this answer; read it as a guess.");
      else if (data.supported) flags.push("Supported by the cited passage.");
      if (data.usage) flags.push(`${data.usage.completion_tokens} tokens, ${data.usage.cpu_s.toFixed(2)} CPU s`);
      $("answer-flags").textContent = flags.join(" ");
      $("steps").replaceChildren(...data.steps.map((s) => h("li", {},
        `hop ${s.hop}${s.bridge ? ` via ${s.bridge}` : ""}: read ${s.passages.length} passage(s) → ${s.outcome} (${s.seconds.toFixed(1)} s)`)));
      renderPassages(data.retrieval.passages, data.citations);
      const graph = answerGraph(data);
      await typeNodes(graph);
      draw($("ask-graph"), graph, {
        onEdge: (e) => showEvidence($("edge-evidence"), e.evidence),
        onNode: (d) => { location.hash = `#/entities/${encodeURIComponent(d.id)}`; },
      });
    }
  }));
  $("answer").classList.remove("streaming");
  $("ask-button").disabled = false;
}

// ------------------------------------------------------------------ Documents
async function loadDocuments() {
  const q = $("docs-q").value.trim();
  const search = q ? `&q=${encodeURIComponent(q)}&match=${$("docs-match").value}` : "";
  const page = await guarded(() => call("GET", col(`/documents?offset=${state.docsOffset}&limit=50${search}`)));
  if (!page) return;
  const shown = page.items.length ? `${page.offset + 1}–${page.offset + page.items.length} shown` : "none shown";
  $("docs-caption").textContent = `${page.total} ${q ? "matching " : ""}documents; ${shown}`;
  const editor = allows(state.me.role, "editor");
  $("docs").replaceChildren(...page.items.map((d) => h("tr", {},
    h("td", {}, h("a", { href: `#/documents/${encodeURIComponent(d.id)}` }, d.title || "(untitled)")),
    h("td", {}, d.source), h("td", { class: "mono" }, d.id),
    h("td", {}, editor ? h("button", { type: "button", class: "secondary", "aria-label": `Delete ${d.title || d.id}`,
      onclick: () => deleteDocument(d) }, "Delete") : ""))));
  $("docs-prev").disabled = page.offset === 0;
  $("docs-next").disabled = page.offset + page.limit >= page.total;
}

async function openDocument(id) {
  const d = await guarded(() => call("GET", col(`/documents/${encodeURIComponent(id)}`)));
  if (!d) return;
  $("document").hidden = false;
  $("document-title").textContent = d.title || "(untitled)";
  $("document-source").textContent = `${d.source} · ${d.id}`;
  $("document-text").textContent = d.text;
  $("document").scrollIntoView({ block: "nearest" });
}

async function deleteDocument(d) {
  if (!confirm(`Delete "${d.title || d.id}" and everything it alone contributed?`)) return;
  await guarded(() => call("DELETE", col(`/documents/${encodeURIComponent(d.id)}`)));
  loadDocuments();
}

async function upload(files) {
  if (!files.length) return;
  const form = new FormData();
  for (const f of files) form.append("files", f, f.name);
  const job = await guarded(() => call("POST", col("/documents"), form));
  if (!job) return;
  const li = h("li", { class: "job", "data-job": job.id }, `Job ${job.id}: queued`);
  $("jobs").prepend(li);
  const timer = setInterval(async () => {
    const now = await guarded(() => call("GET", col(`/jobs/${job.id}`)));
    if (!now) { clearInterval(timer); return; }
    const errs = now.errors.map((e) => h("li", { class: "file-error" }, `${e.file}: ${e.reason}`));
    const share = now.progress.text_total ? `, ${Math.floor((100 * now.progress.text_done) / now.progress.text_total)}% of the text` : "";
    li.replaceChildren(`Job ${now.id}: ${now.state}, ${now.progress.done}/${now.progress.total} documents${share}`,
      errs.length ? h("ul", {}, errs) : "");
    li.dataset.state = now.state;
    if (["succeeded", "failed", "cancelled"].includes(now.state)) { clearInterval(timer); loadDocuments(); }
  }, 700);
  state.timers.push(timer);
}

// ------------------------------------------------------------------ Entities and curation
async function searchEntities(ev) {
  ev.preventDefault();
  const q = $("ent-q").value.trim();
  const hits = await guarded(() => call("GET", col(`/entities?q=${encodeURIComponent(q)}`)));
  if (!hits) return;
  const open = state.entity && !$("entity").hidden && allows(state.me.role, "curator") ? state.entity : null;
  $("ent-hits").replaceChildren(...(hits.length ? hits.map((e) => h("li", {},
    h("a", { href: `#/entities/${encodeURIComponent(e.id)}` }, e.name), h("span", { class: "badge" }, e.type),
    h("span", { class: "mono muted" }, ` ${e.id} `),
    open && open.id !== e.id ? h("button", { type: "button", class: "secondary", "aria-label": `Merge ${e.name} into ${open.name}`,
      onclick: () => curate("POST", "/entities/merge", { sources: [e.id], target: open.id }, "merge") }, `Merge into ${open.name}`) : null))
    : [h("li", { class: "muted" }, "No entity by that name or alias")]));
}

let neighbourhood = { nodes: [], edges: [] };

function mergeNeighbourhood(entity) {
  const have = new Map(neighbourhood.nodes.map((d) => [d.id, d]));
  if (!have.has(entity.id)) neighbourhood.nodes.push({ id: entity.id, label: entity.name, type: entity.type });
  const keys = new Set(neighbourhood.edges.map((e) => e.key));
  for (const n of entity.neighbours) {
    if (!have.has(n.entity.id) && !neighbourhood.nodes.some((d) => d.id === n.entity.id)) {
      neighbourhood.nodes.push({ id: n.entity.id, label: n.entity.name, type: n.entity.type });
    }
    const [s, t] = n.direction === "out" ? [entity.id, n.entity.id] : [n.entity.id, entity.id];
    const k = `${s}|${n.relation_type}|${t}`;
    if (!keys.has(k)) {
      keys.add(k);
      neighbourhood.edges.push({ key: k, source: s, target: t, label: n.relation_type,
        evidence: n.evidence[0] ? n.evidence[0].text : "" });
    }
  }
}

function drawNeighbourhood() {
  draw($("ent-graph"), neighbourhood, {
    onNode: async (d) => {
      const more = await guarded(() => call("GET", col(`/entities/${encodeURIComponent(d.id)}`)));
      if (more) { mergeNeighbourhood(more); drawNeighbourhood(); }
    },
    onEdge: (e) => { $("ent-edge-evidence").textContent = e.evidence ? `Evidence: ${e.evidence}` : "No evidence sentence recorded"; },
  });
}

async function openEntity(id) {
  const e = await guarded(() => call("GET", col(`/entities/${encodeURIComponent(id)}`)));
  if (!e) return;
  state.entity = e;
  $("entity").hidden = false;
  $("entity-name").textContent = e.name;
  $("entity-type").textContent = e.type;
  $("entity-curated").textContent = e.curated ? "curated" : "";
  $("entity-aliases").textContent = e.aliases.length ? `Also known as: ${e.aliases.join(", ")}` : "No aliases";
  $("entity-description").textContent = e.description;
  $("entity-docs-h").textContent = `Documents (${e.document_count})`;
  $("entity-docs").replaceChildren(...e.documents.map((d) => h("li", {},
    h("a", { href: `#/documents/${encodeURIComponent(d.id)}` }, d.title || d.id), " ", h("span", { class: "mono muted" }, d.id))));
  $("cur-name").value = e.name;
  $("cur-type").value = e.type;
  $("neighbours").replaceChildren(...e.neighbours.map((n) => h("li", {},
    n.direction === "out" ? `-[${n.relation_type}]-> ` : `<-[${n.relation_type}]- `,
    h("a", { href: `#/entities/${encodeURIComponent(n.entity.id)}` }, n.entity.name),
    h("span", { class: "badge" }, n.entity.type),
    n.evidence.length ? h("blockquote", { class: "evidence" }, n.evidence[0].text, h("span", { class: "muted" }, ` (document ${n.evidence[0].doc_id})`)) : "")));
  neighbourhood = { nodes: [], edges: [] };
  mergeNeighbourhood(e);
  drawNeighbourhood();
}

async function curate(method, path, body, what) {
  const done = await guarded(() => call(method, col(path), body));
  if (!done) return;
  const job = await waitJob(done.job.id);
  if (job && job.state !== "succeeded") showProblem(new Problem(500, `The ${what} job ${job.state}`, job.error || ""));
  await openEntity(done.entity.id || state.entity.id);
}

function curateSubmit(ev) {
  ev.preventDefault();
  const e = state.entity;
  const body = {};
  if ($("cur-name").value.trim() && $("cur-name").value.trim() !== e.name) body.name = $("cur-name").value.trim();
  if ($("cur-type").value.trim() && $("cur-type").value.trim() !== e.type) body.type = $("cur-type").value.trim();
  if ($("cur-add").value.trim()) body.add_aliases = [$("cur-add").value.trim()];
  if ($("cur-remove").value.trim()) body.remove_aliases = [$("cur-remove").value.trim()];
  if (!Object.keys(body).length) return;
  curate("PATCH", `/entities/${encodeURIComponent(e.id)}`, body, "edit");
}

function merge() {
  const sources = $("merge-ids").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (sources.length) curate("POST", "/entities/merge", { sources, target: state.entity.id }, "merge");
}

function split() {
  const name = $("split-name").value.trim();
  const surface = $("split-surface").value.trim();
  const documents = $("split-docs").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (name) curate("POST", `/entities/${encodeURIComponent(state.entity.id)}/split`, { name, surfaces: surface ? [surface] : [], documents }, "split");
}

async function createCollection(ev) {
  ev.preventDefault();
  if (await guarded(() => call("POST", "/v1/collections", { name: $("col-name").value.trim() }))) {
    await signIn(key());
    location.hash = "#/operations";
  }
}

// ------------------------------------------------------------------ wiring
function wire() {
  $("signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("apikey").value.trim()); });
  $("signout").addEventListener("click", signOut);
  $("problem-close").addEventListener("click", () => { $("problem").hidden = true; });
  $("collection").addEventListener("change", () => {
    state.collection = $("collection").value;
    sessionStorage.setItem("hopgraph.collection", state.collection);
    route();
  });
  $("ask-form").addEventListener("submit", ask);
  $("docs-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadDocuments(); });
  $("docs-q").addEventListener("input", () => { state.docsOffset = 0; loadDocuments(); });
  $("docs-match").addEventListener("change", () => { state.docsOffset = 0; loadDocuments(); });
  $("docs-prev").addEventListener("click", () => { state.docsOffset = Math.max(0, state.docsOffset - 50); loadDocuments(); });
  $("docs-next").addEventListener("click", () => { state.docsOffset += 50; loadDocuments(); });
  $("files").addEventListener("change", () => upload([...$("files").files]));
  const zone = $("dropzone");
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => { ev.preventDefault(); zone.classList.remove("over"); upload([...ev.dataTransfer.files]); });
  zone.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); $("files").click(); } });
  $("ent-form").addEventListener("submit", searchEntities);
  $("curate-form").addEventListener("submit", curateSubmit);
  $("merge-button").addEventListener("click", merge);
  $("split-button").addEventListener("click", split);
  wireCuration();
  hooks.unauthorized = signOut;
  $("key-form").addEventListener("submit", createKey);
  $("col-form").addEventListener("submit", createCollection);
  window.addEventListener("hashchange", route);
  if (key()) signIn(key());
  else show("signin");
  document.body.dataset.ready = "true";
}

wire();
