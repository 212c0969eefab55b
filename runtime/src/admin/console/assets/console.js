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

async function call(method, path, body, extra) {
  const headers = Object.assign({ "Accept": "application/json" }, extra);
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
    const note = $("read-only-note");
    if (note) note.hidden = false;
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

// Who created a key, written as the audit page writes an actor; "unknown" when the API
// answers null (created before keygate recorded it, its audit entry pruned).
function creatorText(k) {
  const by = k.created_by;
  return by ? `${by.name} (${by.kind.replace("_", " ")})` : "unknown";
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

// The keys page's filters: the API's parameters, kept in the URL under the same names.
const KEY_FILTERS = ["name_contains", "owner", "status"];

function keysPage() {
  // The API pages forwards only, newest first. The page keeps the cursors of the pages
  // before the one shown (null for the first page), so "Previous page" asks for the page
  // before again, and the one shown; they change only once a page has loaded.
  let before = [];
  let current = null;
  let next = null;
  const form = $("filters");
  const params = new URLSearchParams(location.search);
  for (const name of KEY_FILTERS) form.elements[name].value = params.get(name) || "";
  if (params.get("deleted")) $("keys-status").textContent = `Key ${params.get("deleted")} deleted.`;

  function filters() {
    const q = new URLSearchParams();
    for (const name of KEY_FILTERS) {
      const v = form.elements[name].value.trim();
      if (v) q.set(name, v);
    }
    return q;
  }

  async function load(cursor, stack) {
    const q = filters();
    q.set("order", "newest");
    q.set("limit", "50");
    if (cursor) q.set("cursor", cursor);
    const response = await call("GET", "keys?" + q);
    if (!response.ok) { show($("keys-error"), await problemText(response)); return; }
    show($("keys-error"), "");
    const page = await response.json();
    before = stack;
    current = cursor;
    const body = $("keys-body");
    body.replaceChildren();
    for (const k of page.items) {
      const row = document.createElement("tr");
      const name = document.createElement("th");
      name.scope = "row";
      const link = document.createElement("a");
      link.href = "key?id=" + encodeURIComponent(k.id);
      link.textContent = k.name;
      name.appendChild(link);
      row.appendChild(name);
      cell(row, k.description);
      cell(row, k.id, "mono");
      cell(row, k.owner);
      cell(row, k.status + (k.status_reason ? ` (${k.status_reason})` : ""), "status-" + k.status);
      cell(row, permissionsSummary(k));
      expiryCell(row, k);
      cell(row, k.last_used_at ? when(k.last_used_at) : "never");
      cell(row, when(k.created_at));
      cell(row, creatorText(k), k.created_by ? "" : "unknown");
      body.appendChild(row);
    }
    if (page.items.length === 0) {
      const row = document.createElement("tr");
      const td = cell(row, "No keys match.");
      td.colSpan = 10;
      body.appendChild(row);
    }
    next = page.next_cursor;
    // For the browser test: how long the first page took from navigation.
    if (!performance.getEntriesByName("keys-rendered").length) performance.mark("keys-rendered");
    const focused = document.activeElement;
    $("next-page").disabled = !next;
    $("previous-page").disabled = before.length === 0;
    $("first-page").disabled = before.length === 0;
    // A pager button that just got disabled would drop the keyboard focus to the page.
    if (focused && focused.disabled) {
      const other = ["next-page", "previous-page"].map($).find((b) => !b.disabled);
      if (other) other.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", "?" + filters());
    load(null, []);
  });
  $("next-page").addEventListener("click", () => load(next, [...before, current]));
  $("previous-page").addEventListener("click", () => load(before[before.length - 1], before.slice(0, -1)));
  $("first-page").addEventListener("click", () => load(null, []));
  load(null, []);
}

// ---- shared by the new key and key pages

// The first segment of a path template (`/pets/{id}` -> `/pets`), the operations' group.
function pathGroup(path) {
  const segment = path.split("/").filter((p) => p)[0];
  return segment ? "/" + segment : "/";
}

// The app's operations as checkboxes (name as permissions use it, method, path), in a
// fieldset per first path segment, and its schemes as checkboxes when the page has them.
async function loadOperations() {
  const response = await call("GET", "operations");
  if (!response.ok) return;
  const list = await response.json();
  $("app-title").textContent = list.title;
  const box = $("operation-list");
  const groups = new Map();
  list.items.forEach((op, i) => {
    const group = pathGroup(op.path);
    if (!groups.has(group)) {
      const set = document.createElement("fieldset");
      set.className = "op-group";
      const legend = document.createElement("legend");
      const code = document.createElement("code");
      code.textContent = group;
      legend.appendChild(code);
      set.appendChild(legend);
      groups.set(group, set);
      box.appendChild(set);
    }
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
    groups.get(group).appendChild(label);
  });
  const schemes = $("scheme-list");
  if (schemes) {
    (list.schemes || []).forEach((name, i) => {
      const label = document.createElement("label");
      label.className = "inline";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "scheme";
      input.value = name;
      input.id = "scheme-" + i;
      label.htmlFor = input.id;
      const code = document.createElement("code");
      code.textContent = name;
      label.append(input, " ", code);
      schemes.appendChild(label);
    });
  }
}

// The schemes checked in the form; null (all schemes) when none is.
function formSchemes(form) {
  const checked = Array.from(form.querySelectorAll("input[name=scheme]:checked")).map((c) => c.value);
  return checked.length ? checked : null;
}

// Roles typed in a comma-separated field.
function formRoles(field) {
  return field.value.split(",").map((r) => r.trim()).filter((r) => r);
}

const READ_ONLY = ["GET", "HEAD", "OPTIONS"];

// The permissions the form's type and checked operations say, or a reason there are none.
function formPermissions(form) {
  const type = form.elements.type.value;
  if (type === "full") return { permissions: { default_methods: ["*"] } };
  if (type === "read-only") return { permissions: { default_methods: READ_ONLY.slice() } };
  const checked = Array.from(form.querySelectorAll("input[name=op]:checked"));
  if (checked.length === 0) return { error: "Check at least one operation for a custom key." };
  const per = {};
  for (const c of checked) per[c.value] = [c.dataset.method];
  return { permissions: { default_methods: [], per_operation: per } };
}

// An expiry choice (days, "date", "never") as `expires_at`; undefined to leave it.
function expiryFrom(choice, date) {
  if (choice === "never") return null;
  if (choice === "date") return date.value ? `${date.value}T23:59:59Z` : "";
  const days = Number(choice);
  return days ? new Date(Date.now() + days * DAY).toISOString().replace(/\.\d+Z$/, "Z") : undefined;
}

// A key shown once, with its id and secret for HTTP Basic; forgotten when the page is left
// (even from the back-forward cache).
function showIssued(issued) {
  const key = issued.secret;
  $("issued-key").value = key;
  $("issued-id").value = issued.key.id;
  $("issued-secret").value = key.split("_").slice(2).join("_");
  $("copy-status").textContent = "";
  $("issued").hidden = false;
  $("issued-title").focus();
}

function issuedPanel() {
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
  window.addEventListener("pagehide", () => {
    for (const id of ["issued-key", "issued-secret"]) $(id).value = "";
    $("issued").hidden = true;
  });
}

// Audit entries as table rows; a key's id links to its page.
function auditRows(body, items, empty) {
  body.replaceChildren();
  for (const e of items) {
    const row = document.createElement("tr");
    cell(row, when(e.at));
    cell(row, `${e.actor} (${e.actor_kind.replace("_", " ")})`);
    cell(row, e.action.replace("_", " "));
    const target = cell(row, e.target_kind + " ", "mono");
    if (e.target_kind === "key") {
      const a = document.createElement("a");
      a.href = "key?id=" + encodeURIComponent(e.target);
      a.textContent = e.target;
      target.appendChild(a);
    } else {
      target.append(e.target);
    }
    const changes = Object.entries(e.changes || {}).map(([field, c]) =>
      `${field}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
    cell(row, changes.join("; "), "changes");
    body.appendChild(row);
  }
  if (items.length === 0) {
    const row = document.createElement("tr");
    cell(row, empty).colSpan = 5;
    body.appendChild(row);
  }
}

// A table paged by the API's cursor: `load(cursor)` answers the next cursor.
function pager(load) {
  let next = null;
  let pages = 0;
  async function go(cursor) {
    next = await load(cursor);
    $("next-page").disabled = !next;
    $("first-page").disabled = pages === 0;
  }
  $("next-page").addEventListener("click", () => { pages += 1; go(next); });
  $("first-page").addEventListener("click", () => { pages = 0; go(null); });
  return () => { pages = 0; return go(null); };
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
  await loadOperations();

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
    const perms = formPermissions(form);
    if (perms.error) { show(error, perms.error); ops.focus(); return; }
    body.permissions = perms.permissions;
    const roles = formRoles(f.roles);
    if (roles.length) body.roles = roles;
    const schemes = formSchemes(form);
    if (schemes) body.schemes = schemes;
    const answer = await call("POST", "keys", body);
    if (!answer.ok) { show(error, "The key was not created: " + await problemText(answer)); return; }
    show(error, "");
    form.hidden = true;
    showIssued(await answer.json());
  });
  issuedPanel();
}

// ---- one key

function detail(list, term, text, cls) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = text == null || text === "" ? "—" : text;
  if (cls) dd.className = cls;
  list.append(dt, dd);
  return dd;
}

async function keyPage(s) {
  const id = new URLSearchParams(location.search).get("id") || "";
  const error = $("key-error");
  const status = $("key-status");
  let key = null;
  let etag = null;
  let typeTouched = false;
  $("trail-more").href = "audit?target=" + encodeURIComponent(id);
  $("reload").addEventListener("click", () => location.reload());

  function render() {
    document.title = `${key.name} · keygate console`;
    $("key-title").textContent = `Key ${key.name}`;
    const list = $("key-details");
    list.replaceChildren();
    detail(list, "Key id", key.id, "mono");
    detail(list, "Description", key.description);
    const owner = detail(list, "Owner", key.owner ? "" : null);
    if (key.owner) {
      const a = document.createElement("a");
      a.href = "./?owner=" + encodeURIComponent(key.owner);
      a.textContent = key.owner;
      owner.replaceChildren(a);
    }
    detail(list, "Status", key.status + (key.status_reason ? ` (${key.status_reason})` : ""), "status-" + key.status);
    detail(list, "Permissions", permissionsSummary(key));
    detail(list, "Schemes", key.schemes ? key.schemes.join(", ") : "all");
    detail(list, "Expires", key.expires_at ? when(key.expires_at) : "never");
    detail(list, "Last used", key.last_used_at ? when(key.last_used_at) : "never");
    detail(list, "Created", when(key.created_at));
    detail(list, "Created by", creatorText(key));
    if (!s.can_change) return;
    const revoked = key.status === "revoked";
    $("disable-key").hidden = revoked || key.status === "disabled";
    $("enable-key").hidden = key.status !== "disabled";
    $("revoke-key").hidden = revoked;
    $("delete-name-hint").textContent = key.name;
  }

  function fillForm() {
    const form = $("edit-key");
    const f = form.elements;
    f.name.value = key.name;
    f.description.value = key.description || "";
    f.roles.value = (key.roles || []).join(", ");
    f.duration.value = "keep";
    $("e-date").disabled = true;
    $("e-expiry-now").textContent = key.expires_at ? `(${when(key.expires_at)})` : "(never)";
    const p = key.permissions || {};
    const methods = p.default_methods || [];
    const per = p.per_operation || {};
    const perNames = Object.keys(per);
    let type = "";
    if (perNames.length === 0 && methods.length === 1 && methods[0] === "*") type = "full";
    else if (perNames.length === 0 && methods.length === READ_ONLY.length && READ_ONLY.every((m) => methods.includes(m))) type = "read-only";
    else if (methods.length === 0 && perNames.every((n) => per[n].length === 1)) type = "custom";
    for (const radio of form.querySelectorAll("input[name=type]")) radio.checked = radio.value === type;
    for (const box of form.querySelectorAll("input[name=op]")) box.checked = box.value in per;
    for (const box of form.querySelectorAll("input[name=scheme]")) box.checked = (key.schemes || []).includes(box.value);
    $("e-other").hidden = type !== "";
    $("operations").disabled = type !== "custom";
    typeTouched = false;
  }

  // The answer to a change: the key as it is now (and its new ETag), or why not.
  async function changed(response, done) {
    if (response.status === 412) {
      show(error, "This key changed since you opened it: reload it to see it as it is now.");
      $("reload").hidden = false;
      return false;
    }
    if (!response.ok) { show(error, await problemText(response)); return false; }
    show(error, "");
    etag = response.headers.get("ETag");
    const body = await response.json();
    key = body.key && body.secret ? body.key : body;
    render();
    fillForm();
    loadTrail();
    status.textContent = done;
    return body;
  }

  async function loadTrail() {
    const response = await call("GET", "audit?limit=50&target=" + encodeURIComponent(id));
    if (response.ok) auditRows($("audit-body"), (await response.json()).items, "No changes recorded.");
  }

  const response = await call("GET", "keys/" + encodeURIComponent(id));
  if (!response.ok) {
    show(error, response.status === 404 ? "There is no key with this id." : await problemText(response));
    document.querySelectorAll("main section, #edit-key").forEach((el) => el.remove());
    return;
  }
  etag = response.headers.get("ETag");
  key = await response.json();
  render();
  loadTrail();
  if (!s.can_change) return;
  await loadOperations();
  fillForm();

  const change = (method, path, body) =>
    call(method, "keys/" + encodeURIComponent(id) + path, body, { "If-Match": etag });

  $("disable-key").addEventListener("click", async () => {
    if (await changed(await change("POST", "/disable"), "Disabled.")) $("enable-key").focus();
  });
  $("enable-key").addEventListener("click", async () => {
    if (await changed(await change("POST", "/enable"), "Enabled.")) $("disable-key").focus();
  });
  $("revoke-key").addEventListener("click", () => { $("revoke-confirm").hidden = false; $("revoke-no").focus(); });
  $("revoke-no").addEventListener("click", () => { $("revoke-confirm").hidden = true; $("revoke-key").focus(); });
  $("revoke-yes").addEventListener("click", async () => {
    $("revoke-confirm").hidden = true;
    if (await changed(await change("POST", "/revoke"), "Revoked.")) $("key-title").focus();
  });

  const form = $("edit-key");
  form.addEventListener("change", (event) => {
    $("e-date").disabled = form.elements.duration.value !== "date";
    $("operations").disabled = form.elements.type.value !== "custom";
    if (event.target.name === "type" || event.target.name === "op") typeTouched = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = form.elements;
    const editError = $("edit-error");
    const body = {};
    const name = f.name.value.trim();
    if (!name) { show(editError, "A key needs a name."); f.name.focus(); return; }
    if (name !== key.name) body.name = name;
    const description = f.description.value.trim();
    if (description !== (key.description || "")) body.description = description || null;
    const expires = expiryFrom(f.duration.value, $("e-date"));
    if (expires === "") { show(editError, "Choose the expiry date."); $("e-date").focus(); return; }
    if (expires !== undefined) body.expires_at = expires;
    if (typeTouched) {
      const perms = formPermissions(form);
      if (perms.error) { show(editError, perms.error); $("operations").focus(); return; }
      body.permissions = perms.permissions;
    }
    const roles = formRoles(f.roles);
    if (roles.join(",") !== (key.roles || []).join(",")) body.roles = roles;
    const schemes = formSchemes(form);
    if (JSON.stringify(schemes) !== JSON.stringify(key.schemes || null)) body.schemes = schemes;
    if (Object.keys(body).length === 0) { show(editError, "Nothing to save: no field changed."); return; }
    show(editError, "");
    await changed(await change("PATCH", "", body), "Saved.");
  });

  $("rotate-key").addEventListener("click", () => {
    const grace = document.querySelector("input[name=grace]:checked");
    $("rotate-q").textContent = grace.value === "0s"
      ? "Regenerate the key? Its current secret stops working now."
      : `Regenerate the key? Its current secret keeps working ${grace.parentElement.textContent.trim()}.`;
    $("rotate-confirm").hidden = false;
    $("rotate-no").focus();
  });
  $("rotate-no").addEventListener("click", () => { $("rotate-confirm").hidden = true; $("rotate-key").focus(); });
  $("rotate-yes").addEventListener("click", async () => {
    $("rotate-confirm").hidden = true;
    const grace = document.querySelector("input[name=grace]:checked").value;
    const issued = await changed(await change("POST", "/rotate", { grace }), "Regenerated.");
    if (issued) showIssued(issued);
  });
  issuedPanel();

  $("delete-key").addEventListener("click", async () => {
    const typed = $("delete-name");
    const deleteError = $("delete-error");
    if (typed.value !== key.name) {
      show(deleteError, `Type the key's name, ${key.name}, exactly to delete it.`);
      typed.setAttribute("aria-invalid", "true");
      typed.focus();
      return;
    }
    const answer = await change("DELETE", "");
    if (answer.status === 412) { await changed(answer, ""); return; }
    if (!answer.ok) { show(deleteError, await problemText(answer)); return; }
    location.replace("./?deleted=" + encodeURIComponent(key.name));
  });
}

// ---- owners

function ownersPage(s) {
  const error = $("owners-error");
  const status = $("owners-status");
  const confirm = $("invalidate-confirm");
  let pending = null;

  // An owner's change with the ETag of the owner as the row showed it; a 412 or a row
  // that no longer matches says reload.
  async function ownerChange(owner, action, done) {
    const path = "owners/" + encodeURIComponent(owner.id);
    const now = await call("GET", path);
    if (!now.ok) { show(error, await problemText(now)); return; }
    const current = await now.json();
    const stale = () => show(error, `Owner ${owner.id} changed since this page was loaded: reload it.`);
    if (current.enabled !== owner.enabled || current.epoch !== owner.epoch) { stale(); return; }
    const answer = await call("POST", `${path}/${action}`, undefined, { "If-Match": now.headers.get("ETag") });
    if (answer.status === 412) { stale(); return; }
    if (!answer.ok) { show(error, await problemText(answer)); return; }
    show(error, "");
    status.textContent = done;
    await reload();
  }

  function button(td, text, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener("click", onClick);
    td.appendChild(b);
  }

  const reload = pager(async (cursor) => {
    const q = new URLSearchParams({ limit: "50" });
    if (cursor) q.set("cursor", cursor);
    const response = await call("GET", "owners?" + q);
    if (!response.ok) { show(error, await problemText(response)); return null; }
    const page = await response.json();
    const body = $("owners-body");
    body.replaceChildren();
    for (const o of page.items) {
      const row = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      const a = document.createElement("a");
      a.href = "./?owner=" + encodeURIComponent(o.id);
      a.textContent = o.id;
      a.setAttribute("aria-label", `${o.id}: its keys`);
      th.appendChild(a);
      row.appendChild(th);
      cell(row, String(o.key_count));
      cell(row, o.enabled ? "yes" : "no (disabled)", o.enabled ? "status-active" : "status-disabled");
      cell(row, String(o.epoch));
      if (s.can_change) {
        const td = cell(row, "", "row");
        if (o.enabled) button(td, "Disable", "secondary", () => ownerChange(o, "disable", `Owner ${o.id} disabled.`));
        else button(td, "Enable", "secondary", () => ownerChange(o, "enable", `Owner ${o.id} enabled.`));
        button(td, "Invalidate all keys…", "danger", () => {
          pending = o;
          $("invalidate-q").textContent = `Invalidate every key owner ${o.id} has now? They stop for good; keys created afterwards work.`;
          confirm.hidden = false;
          $("invalidate-no").focus();
        });
      }
      body.appendChild(row);
    }
    if (page.items.length === 0) {
      const row = document.createElement("tr");
      cell(row, "No owners yet: a key created with an owner makes one.").colSpan = 5;
      body.appendChild(row);
    }
    return page.next_cursor;
  });

  $("invalidate-no").addEventListener("click", () => { confirm.hidden = true; pending = null; });
  $("invalidate-yes").addEventListener("click", async () => {
    confirm.hidden = true;
    if (pending) await ownerChange(pending, "invalidate", `Every key owner ${pending.id} had is invalidated.`);
    pending = null;
  });
  reload();
}

// ---- audit

function auditPage() {
  const form = $("filters");
  const params = new URLSearchParams(location.search);
  const names = ["target", "actor", "since", "until"];
  for (const name of names) form.elements[name].value = (params.get(name) || "").replace(/:\d\dZ$/, "").replace(/Z$/, "");
  const filters = () => {
    const q = new URLSearchParams();
    for (const name of names) {
      let v = form.elements[name].value.trim();
      if (v && (name === "since" || name === "until")) v += v.length === 16 ? ":00Z" : "Z";
      if (v) q.set(name, v);
    }
    return q;
  };
  const reload = pager(async (cursor) => {
    const q = filters();
    q.set("limit", "50");
    if (cursor) q.set("cursor", cursor);
    const response = await call("GET", "audit?" + q);
    if (!response.ok) { show($("audit-error"), await problemText(response)); return null; }
    show($("audit-error"), "");
    const page = await response.json();
    auditRows($("audit-body"), page.items, "No changes match.");
    return page.next_cursor;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", "?" + filters());
    reload();
  });
  reload();
}

document.addEventListener("DOMContentLoaded", async () => {
  const page = document.body.dataset.page;
  if (page === "login") { loginPage(); return; }
  const s = await session();
  if (page === "keys") keysPage();
  if (page === "new") newPage(s);
  if (page === "key") keyPage(s);
  if (page === "owners") ownersPage(s);
  if (page === "audit") auditPage();
});
