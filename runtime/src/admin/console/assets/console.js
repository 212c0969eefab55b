// The keygate console: plain JavaScript over the admin API, which sits one level up
// (`../keys` from `<mount>/console/`). The session cookie is HttpOnly; the CSRF token
// lives in this page's memory only and goes with every change.
"use strict";

const api = "../";
let csrf = "";

function $(id) { return document.getElementById(id); }

function show(el, text) {
  el.textContent = text;
  el.hidden = !text;
}

// A problem+json answer in words, with each field it names.
async function problemText(response) {
  try {
    const p = await response.json();
    const fields = (p.errors || []).map((e) => `${e.pointer}: ${e.detail}`);
    return [p.detail || p.title || `error ${response.status}`].concat(fields).join("; ");
  } catch (_) {
    return `error ${response.status}`;
  }
}

async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") headers["X-Keygate-CSRF"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(api + path, {
    method, headers, credentials: "same-origin", cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    location.replace("login");
    throw new Error("logged out");
  }
  return response;
}

// The session: who is logged in, the CSRF token, and whether changes are shown.
async function session() {
  const response = await fetch("session", { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) {
    location.replace("login");
    throw new Error("logged out");
  }
  const s = await response.json();
  csrf = s.csrf_token;
  $("who").textContent = s.key.id ? `${s.key.name} (${s.key.id})` : s.key.name;
  if (!s.can_change) {
    document.querySelectorAll("[data-change]").forEach((el) => el.remove());
    $("read-only-note").hidden = false;
  }
  $("logout").addEventListener("click", async () => {
    await fetch("session", { method: "DELETE", headers: { "X-Keygate-CSRF": csrf }, credentials: "same-origin" });
    location.replace("login");
  });
  return s;
}

// ---- login

async function logIn(body) {
  return fetch("session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

function loginPage() {
  // `keygate console` prints a one-time link: `login#token=...` (a fragment, which the
  // browser sends nowhere). Take it out of the address bar, then use it.
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get("token");
  if (token) {
    history.replaceState(null, "", location.pathname);
    logIn({ token }).then(async (response) => {
      if (response.ok) location.replace("./");
      else show($("login-error"), "Login refused: " + await problemText(response));
    });
  }
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("admin-key");
    const key = input.value.trim();
    if (!key) {
      show($("login-error"), "Enter an admin key.");
      input.focus();
      return;
    }
    const response = await logIn({ key });
    input.value = "";
    if (response.ok) {
      location.replace("./");
    } else {
      input.setAttribute("aria-invalid", "true");
      show($("login-error"), "Login refused: " + await problemText(response));
      input.focus();
    }
  });
}

// ---- keys

const DAY = 86400000;

function when(text) {
  return text ? text.replace("T", " ").replace(/:\d\dZ$/, " UTC") : "";
}

function permissionsSummary(k) {
  const p = k.permissions || {};
  const methods = p.default_methods || [];
  const per = Object.keys(p.per_operation || {});
  let text;
  if (methods.includes("*")) text = "full";
  else if (methods.length === 0 && per.length === 0) text = "none";
  else if (methods.every((m) => ["GET", "HEAD", "OPTIONS"].includes(m))) text = methods.length ? "read-only" : "";
  else text = methods.join(", ");
  if (per.length) text = (text ? text + " + " : "") + `${per.length} operation${per.length > 1 ? "s" : ""}: ${per.join(", ")}`;
  if (k.roles && k.roles.length) text += ` · roles ${k.roles.join(", ")}`;
  return text;
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function expiryCell(row, k) {
  const td = cell(row, "");
  if (!k.expires_at) { td.textContent = "never"; return; }
  td.textContent = when(k.expires_at);
  const days = (Date.parse(k.expires_at) - Date.now()) / DAY;
  if (days > 0 && days <= 7) {
    const flag = document.createElement("strong");
    flag.className = "soon";
    const n = Math.ceil(days);
    flag.textContent = ` expires in ${n} day${n > 1 ? "s" : ""}`;
    td.appendChild(flag);
  }
}

function keysPage() {
  const cursors = [];
  let next = null;
  const form = $("filters");
  const params = new URLSearchParams(location.search);
  for (const name of ["name", "owner", "status"]) form.elements[name].value = params.get(name) || "";

  async function load(cursor) {
    const q = new URLSearchParams({ limit: "50" });
    for (const name of ["name", "owner", "status"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    if (cursor) q.set("cursor", cursor);
    const response = await call("GET", "keys?" + q);
    if (!response.ok) { show($("keys-error"), await problemText(response)); return; }
    show($("keys-error"), "");
    const page = await response.json();
    const body = $("keys-body");
    body.replaceChildren();
    for (const k of page.items) {
      const row = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      name.textContent = k.name;
      row.appendChild(name);
      cell(row, k.description);
      cell(row, k.id, "mono");
      cell(row, k.owner);
      cell(row, k.status + (k.status_reason ? ` (${k.status_reason})` : ""), "status-" + k.status);
      cell(row, permissionsSummary(k));
      expiryCell(row, k);
      cell(row, k.last_used_at ? when(k.last_used_at) : "never");
      cell(row, when(k.created_at));
      body.appendChild(row);
    }
    if (page.items.length === 0) {
      const row = document.createElement("tr");
      const td = cell(row, "No keys match.");
      td.colSpan = 9;
      body.appendChild(row);
    }
    next = page.next_cursor;
    // For the browser test: how long the first page took from navigation.
    if (!performance.getEntriesByName("keys-rendered").length) performance.mark("keys-rendered");
    $("next-page").disabled = !next;
    $("first-page").disabled = cursors.length === 0;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const name of ["name", "owner", "status"]) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    history.replaceState(null, "", "?" + q);
    cursors.length = 0;
    load(null);
  });
  $("next-page").addEventListener("click", () => { cursors.push(next); load(next); });
  $("first-page").addEventListener("click", () => { cursors.length = 0; load(null); });
  load(null);
}

// ---- new key

async function newPage(s) {
  if (!s.can_change) return;
  const form = $("new-key");
  const date = $("k-date");
  const ops = $("operations");
  form.addEventListener("change", () => {
    date.disabled = form.elements.duration.value !== "date";
    ops.disabled = form.elements.type.value !== "custom";
  });
  const response = await call("GET", "operations");
  if (response.ok) {
    const list = await response.json();
    $("app-title").textContent = list.title;
    const box = $("operation-list");
    list.items.forEach((op, i) => {
      const label = document.createElement("label");
      label.className = "inline op";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "op";
      input.value = op.name;
      input.dataset.method = op.method;
      input.id = "op-" + i;
      label.htmlFor = input.id;
      const code = document.createElement("code");
      code.textContent = `${op.method} ${op.path}`;
      label.append(input, " ", code, op.operation_id ? ` ${op.operation_id}` : "");
      box.appendChild(label);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("new-error");
    const f = form.elements;
    const body = { name: f.name.value.trim() };
    if (!body.name) { show(error, "A key needs a name."); f.name.focus(); return; }
    if (f.description.value.trim()) body.description = f.description.value.trim();
    if (f.owner.value.trim()) body.owner = f.owner.value.trim();
    const duration = f.duration.value;
    if (duration === "date") {
      if (!date.value) { show(error, "Choose the expiry date."); date.focus(); return; }
      body.expires_at = `${date.value}T23:59:59Z`;
    } else if (duration !== "never") {
      body.expires_in = duration;
    }
    const type = f.type.value;
    if (type === "full") body.permissions = { default_methods: ["*"] };
    else if (type === "read-only") body.permissions = { default_methods: ["GET", "HEAD", "OPTIONS"] };
    else {
      const checked = Array.from(form.querySelectorAll("input[name=op]:checked"));
      if (checked.length === 0) { show(error, "Check at least one operation for a custom key."); ops.focus(); return; }
      const per = {};
      for (const c of checked) per[c.value] = [c.dataset.method];
      body.permissions = { default_methods: [], per_operation: per };
    }
    const answer = await call("POST", "keys", body);
    if (!answer.ok) { show(error, "The key was not created: " + await problemText(answer)); return; }
    show(error, "");
    const issued = await answer.json();
    form.hidden = true;
    const key = issued.secret;
    const parts = key.split("_");
    $("issued-key").value = key;
    $("issued-id").value = issued.key.id;
    $("issued-secret").value = parts.slice(2).join("_");
    $("issued").hidden = false;
    $("issued-title").focus();
  });

  $("copy-key").addEventListener("click", async () => {
    const input = $("issued-key");
    try {
      await navigator.clipboard.writeText(input.value);
      $("copy-status").textContent = "Copied.";
    } catch (_) {
      input.select();
      $("copy-status").textContent = "Select and copy the key (Ctrl+C).";
    }
  });
  // The key is shown once: gone when the page is left, even from the back-forward cache.
  window.addEventListener("pagehide", () => {
    for (const id of ["issued-key", "issued-secret"]) $(id).value = "";
    $("issued").hidden = true;
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const page = document.body.dataset.page;
  if (page === "login") { loginPage(); return; }
  const s = await session();
  if (page === "keys") keysPage();
  if (page === "new") newPage(s);
});
