// The /v1 API as the page uses it: the signed-in key, JSON calls, problem details, streamed answers.

const KEY = "hopgraph.key";

export class Problem extends Error {
  constructor(status, title, detail) {
    super(`${title}: ${detail}`);
    this.status = status;
    this.title = title;
    this.detail = detail;
  }
}

export function key() {
  return sessionStorage.getItem(KEY);
}

export function setKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const k = key();
  if (k) h.Authorization = `Bearer ${k}`;
  return h;
}

async function problemOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch (_) {
    body = null;
  }
  if (body && body.title) return new Problem(res.status, body.title, body.detail || "");
  return new Problem(res.status, `HTTP ${res.status}`, res.statusText || "the server gave no details");
}

// call("GET", "/v1/collections") -> parsed JSON; throws Problem on an error status
export async function call(method, path, body) {
  const init = { method, headers: headers() };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new Problem(0, "Network error", `the server cannot be reached (${err.message})`);
  }
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

// Server-Sent Events of POST path: onEvent(name, data) for each; resolves when the stream ends.
export async function stream(path, body, onEvent) {
  let res;
  try {
    res = await fetch(path, {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new Problem(0, "Network error", `the server cannot be reached (${err.message})`);
  }
  if (!res.ok) throw await problemOf(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(event, JSON.parse(data.join("\n")));
    }
  }
}

export const ROLES = ["reader", "editor", "curator", "admin"];

export function allows(role, needed) {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
