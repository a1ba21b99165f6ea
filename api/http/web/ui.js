// What every page of the web app shares: element lookup and building, the app's state, collection paths,
// problems shown to the person, and waiting for a job.

import { Problem, call } from "./api.js";

export const hooks = { unauthorized: () => {} }; // set by app.js: a 401 signs the person out

export const $ = (id) => document.getElementById(id);
export const state = { me: null, collection: null, docsOffset: 0, history: [], passages: [], timers: [] };
export const HISTORY = "hopgraph.history";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

export function col(path) {
  return `/v1/collections/${encodeURIComponent(state.collection)}${path}`;
}

export function showProblem(err) {
  const p = err instanceof Problem ? err : new Problem(0, "Error", String(err && err.message ? err.message : err));
  $("problem-title").textContent = p.title;
  $("problem-detail").textContent = p.detail;
  $("problem").hidden = false;
  if (p.status === 401) hooks.unauthorized();
}

export async function guarded(fn) {
  try {
    $("problem").hidden = true;
    return await fn();
  } catch (err) {
    showProblem(err);
    return undefined;
  }
}


export async function waitJob(id) {
  // poll a job until it ends (at most about 80 s); its last state
  for (let i = 0; i < 200; i++) {
    const job = await guarded(() => call("GET", col(`/jobs/${id}`)));
    if (!job || ["succeeded", "failed", "cancelled"].includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 400));
  }
  return null;
}

