// The Curation page (curators): the review queue, curation records, the ontology with its versions and diffs,
// the audit log.

import { Problem, call } from "./api.js";
import { $, col, guarded, h, showProblem, waitJob } from "./ui.js";

const KIND = { rejected: "rejected by the ontology", low_confidence: "low confidence" };

const REVIEW_PAGE = 20;
let reviewOffset = 0;

async function loadReview() {
  const kind = $("review-kind").value;
  const status = $("review-status").value;
  const page = await guarded(() => call("GET",
    col(`/review?status=${status}&offset=${reviewOffset}&limit=${REVIEW_PAGE}${kind ? `&kind=${kind}` : ""}`)));
  if (!page) return;
  if (page.offset > 0 && page.offset >= page.total) { reviewOffset = Math.max(0, page.total - REVIEW_PAGE); return loadReview(); }
  $("review-page").textContent = page.total ? `${page.offset + 1}–${Math.min(page.total, page.offset + REVIEW_PAGE)} of ${page.total}` : "";
  $("review-prev").disabled = page.offset === 0;
  $("review-next").disabled = page.offset + REVIEW_PAGE >= page.total;
  $("review-counts").textContent = Object.entries(page.counts).map(([k, c]) =>
    `${KIND[k] || k}: ${c.pending} pending, ${c.accepted} accepted, ${c.dismissed} dismissed`).join(" · ");
  $("review").replaceChildren(...(page.items.length ? page.items.map((i) => {
    const fact = `${i.head.name} (${i.head.type}) -[${i.relation}]-> ${i.tail.name} (${i.tail.type})`;
    const acceptLabel = i.kind === "rejected" ? `Accept: allow ${i.head.type} -[${i.relation}]-> ${i.tail.type} in the ontology` : "Accept";
    const buttons = i.status === "pending" ? [
      h("button", { type: "button", "aria-label": `Accept ${fact}`, onclick: () => decide(i, "accept") }, acceptLabel), " ",
      h("button", { type: "button", class: "secondary", "aria-label": `Dismiss ${fact}`, onclick: () => decide(i, "dismiss") }, "Dismiss"),
    ] : [h("span", { class: "muted" }, `${i.status} by ${i.decided_by || "?"}`)];
    return h("li", { "data-item": i.id, "data-kind": i.kind },
      h("span", { class: "badge" }, KIND[i.kind] || i.kind), " ", fact, h("span", { class: "muted" }, ` · confidence ${i.confidence.toFixed(2)}`),
      h("blockquote", { class: "evidence" }, i.sentence, " ",
        h("a", { href: `#/documents/${encodeURIComponent(i.document)}` }, "(document)")),
      h("div", { class: "row" }, buttons));
  }) : [h("li", { class: "muted" }, `Nothing ${status}`)]));
}

async function decide(item, what) {
  const done = await guarded(() => call("POST", col(`/review/${encodeURIComponent(item.id)}/${what}`)));
  if (!done) return;
  if (done.job) {
    const job = await waitJob(done.job.id);
    if (job && job.state !== "succeeded") showProblem(new Problem(500, `The ${what} job ${job.state}`, job.error || ""));
  }
  await loadCuration();
}

export async function loadCuration() {
  loadReview();
  const records = await guarded(() => call("GET", col("/curation")));
  if (records) {
    $("records").replaceChildren(...(records.length ? records.map((r) => h("li", { "data-key": r.key },
      h("span", { class: "mono" }, r.key), ` ${r.kind} `,
      h("a", { href: `#/entities/${encodeURIComponent(r.entity)}` }, r.entity), " ",
      h("button", { type: "button", class: "secondary", "aria-label": `Revert ${r.key}`, onclick: async () => {
        const done = await guarded(() => call("DELETE", col(`/curation/${encodeURIComponent(r.key)}`)));
        if (done) { await waitJob(done.job.id); loadCuration(); }
      } }, "Revert"))) : [h("li", { class: "muted" }, "No curation records")]));
  }
  const onto = await guarded(() => call("GET", col("/ontology")));
  if (onto) {
    $("ontology-version").textContent = `Version ${onto.version} (${onto.source})`;
    $("ontology").textContent = JSON.stringify(onto.ontology, null, 2);
  }
  const versions = await guarded(() => call("GET", col("/ontology/versions")));
  if (versions) {
    const options = () => versions.map((v) => h("option", { value: v.version },
      `v${v.version}${v.current ? " (in force)" : ""}${v.source === "server" ? " server" : ""}`));
    $("onto-from").replaceChildren(...options());
    $("onto-to").replaceChildren(...options());
    if (versions.length > 1) $("onto-from").value = String(versions[1].version);
    $("onto-diff").replaceChildren();
  }
  const audit = await guarded(() => call("GET", col("/audit?limit=50")));
  if (audit) {
    $("audit").replaceChildren(...audit.map((a) => h("tr", {}, h("td", {}, new Date(a.at * 1000).toLocaleString()),
      h("td", {}, a.key_name || a.key_id || ""), h("td", {}, a.action), h("td", { class: "mono" }, a.target))));
  }
}

function diffLines(d) {
  const out = [];
  const list = (label, names) => { if (names.length) out.push(`${label}: ${names.join(", ")}`); };
  const changed = (kind, items) => {
    for (const c of items) {
      const parts = [...Object.entries(c.added).map(([f, v]) => `${f} + ${v.join(", ")}`),
        ...Object.entries(c.removed).map(([f, v]) => `${f} − ${v.join(", ")}`)];
      out.push(`${kind} ${c.name} changed: ${parts.join("; ")}`);
    }
  };
  list("Entity types added", d.entity_types_added);
  list("Entity types removed", d.entity_types_removed);
  changed("Entity type", d.entity_types_changed);
  list("Relation types added", d.relation_types_added);
  list("Relation types removed", d.relation_types_removed);
  changed("Relation type", d.relation_types_changed);
  for (const [f, v] of Object.entries(d.aliases_changed)) out.push(`Alias rule ${f}: ${JSON.stringify(v.before)} → ${JSON.stringify(v.after)}`);
  return out.length ? out : ["No changes"];
}

async function compareOntology(ev) {
  ev.preventDefault();
  const d = await guarded(() => call("GET", col(`/ontology/diff?from=${$("onto-from").value}&to=${$("onto-to").value}`)));
  if (d) $("onto-diff").replaceChildren(h("li", { class: "muted" }, `v${d.before} → v${d.after}`),
    ...diffLines(d).map((line) => h("li", {}, line)));
}

export function wireCuration() {
  $("onto-diff-form").addEventListener("submit", compareOntology);
  $("review-kind").addEventListener("change", () => { reviewOffset = 0; loadReview(); });
  $("review-status").addEventListener("change", () => { reviewOffset = 0; loadReview(); });
  $("review-prev").addEventListener("click", () => { reviewOffset = Math.max(0, reviewOffset - REVIEW_PAGE); loadReview(); });
  $("review-next").addEventListener("click", () => { reviewOffset += REVIEW_PAGE; loadReview(); });
}
