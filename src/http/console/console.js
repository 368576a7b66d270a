// The rqlite console: a single page over the node's own HTTP API, served
// from the binary (no CDN, no network beyond this node). Pages: Query (SQL
// editor, results grid, history kept in localStorage), Tables (row counts,
// first 100 rows, schema), Cluster (/nodes and this node's Raft state) and
// Status (/status, backup download). With -auth on, a 401 opens a login
// dialog; the credentials live in sessionStorage for this tab only.
"use strict";

const HISTORY_KEY = "rqlite-console-history";
const AUTH_KEY = "rqlite-console-auth";
const HISTORY_LIMIT = 50;

const $ = (selector) => document.querySelector(selector);

function element(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// ---- HTTP, with credentials when the node asks for them ----

let pendingLogin = null;

function authHeader() {
  const token = sessionStorage.getItem(AUTH_KEY);
  return token ? { Authorization: "Basic " + token } : {};
}

function askForCredentials(message) {
  if (pendingLogin) return pendingLogin;
  const dialog = $("#login");
  const error = $("#login-error");
  error.hidden = !message;
  error.textContent = message || "";
  pendingLogin = new Promise((resolve) => {
    const form = $("#login-form");
    const submit = (event) => {
      event.preventDefault();
      const user = $("#login-user").value;
      const password = $("#login-password").value;
      sessionStorage.setItem(AUTH_KEY, btoa(unescape(encodeURIComponent(user + ":" + password))));
      form.removeEventListener("submit", submit);
      dialog.hidden = true;
      $("#logout").hidden = false;
      pendingLogin = null;
      resolve();
    };
    form.addEventListener("submit", submit);
  });
  dialog.hidden = false;
  $("#login-user").focus();
  return pendingLogin;
}

// fetch() against the node; a 401 asks for credentials and tries again.
async function call(path, options = {}, attempt = 0) {
  const headers = Object.assign({}, options.headers || {}, authHeader());
  const response = await fetch(path, Object.assign({}, options, { headers, credentials: "omit" }));
  if (response.status === 401 && attempt < 5) {
    await askForCredentials(attempt > 0 || sessionStorage.getItem(AUTH_KEY)
      ? "Those credentials are not allowed to do this." : "");
    return call(path, options, attempt + 1);
  }
  return response;
}

async function callJson(path, options = {}) {
  const response = await call(path, options);
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}: ${text.trim()}`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error("the node answered something that is not JSON: " + text.slice(0, 200));
  }
}

function postStatements(endpoint, statements, params = "") {
  return callJson(`/db/${endpoint}?timings${params}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(statements),
  });
}

function quoteIdentifier(name) {
  return '"' + name.replace(/"/g, '""') + '"';
}

// ---- results ----

function renderValue(value) {
  if (value === null) return element("td", { class: "null", text: "NULL" });
  if (typeof value === "object") return element("td", { text: JSON.stringify(value) });
  return element("td", { text: String(value) });
}

function renderResult(result) {
  const box = element("div", { class: "result" });
  if (result.error !== undefined) {
    box.append(element("div", { class: "error", text: result.error }));
    return box;
  }
  if (result.columns !== undefined) {
    const types = result.types || [];
    const head = element("tr", {}, result.columns.map((name, i) =>
      element("th", {}, [name, element("span", { class: "type", text: types[i] || "" })])));
    const rows = (result.values || []).map((row) => element("tr", {}, row.map(renderValue)));
    box.append(element("table", { class: "grid result-grid" }, [
      element("thead", {}, [head]), element("tbody", {}, rows)]));
    const count = (result.values || []).length;
    box.append(element("div", { class: "summary",
      text: `${count} row${count === 1 ? "" : "s"}` + timeText(result.time) }));
    return box;
  }
  const parts = [];
  if (result.rows_affected !== undefined) parts.push(`${result.rows_affected} row(s) affected`);
  if (result.last_insert_id !== undefined) parts.push(`last insert id ${result.last_insert_id}`);
  box.append(element("div", { class: "summary", text: (parts.join(", ") || "done") + timeText(result.time) }));
  return box;
}

function timeText(seconds) {
  return seconds === undefined ? "" : ` in ${(seconds * 1000).toFixed(2)} ms`;
}

function showResults(target, body) {
  target.replaceChildren(...(body.results || []).map(renderResult));
  if (body.error) target.append(element("div", { class: "error", text: body.error }));
}

function showError(target, error) {
  target.replaceChildren(element("div", { class: "error", text: String(error.message || error) }));
}

// ---- Query page ----

function loadHistory() {
  try {
    const items = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
    return Array.isArray(items) ? items.filter((s) => typeof s === "string") : [];
  } catch (e) {
    return [];
  }
}

function remember(sql) {
  const items = loadHistory().filter((s) => s !== sql);
  items.unshift(sql);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(items.slice(0, HISTORY_LIMIT)));
  renderHistory();
}

function renderHistory() {
  const items = loadHistory();
  $("#history").replaceChildren(...items.map((sql) =>
    element("li", { text: sql, title: "Click to edit", onclick: () => { $("#sql").value = sql; $("#sql").focus(); } })));
}

async function runEditor() {
  const sql = $("#sql").value.trim();
  if (!sql) return;
  const info = $("#run-info");
  info.textContent = "running...";
  const started = performance.now();
  try {
    const body = await postStatements("request", [sql], "&level=" + encodeURIComponent($("#level").value));
    showResults($("#results"), body);
    info.textContent = `answered in ${(performance.now() - started).toFixed(1)} ms`;
  } catch (error) {
    showError($("#results"), error);
    info.textContent = "";
  }
  remember(sql);
}

// ---- Tables page ----

async function refreshTables() {
  const info = $("#tables-info");
  const body = $("#tables tbody");
  info.textContent = "loading...";
  try {
    const listed = await postStatements("query",
      ["SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"]);
    const first = listed.results[0];
    if (first.error) throw new Error(first.error);
    const names = (first.values || []).map((row) => row[0]);
    let counts = [];
    if (names.length > 0) {
      const counted = await postStatements("query", names.map((n) => `SELECT COUNT(*) FROM ${quoteIdentifier(n)}`));
      counts = counted.results.map((r) => (r.values ? r.values[0][0] : r.error));
    }
    body.replaceChildren(...names.map((name, i) => element("tr", { "data-table": name }, [
      element("td", { text: name }),
      element("td", { class: "row-count", text: String(counts[i]) }),
      element("td", {}, [
        element("button", { class: "link", text: "First 100 rows", onclick: () => showRows(name) }), " ",
        element("button", { class: "link", text: "Schema", onclick: () => showSchema(name) }),
      ]),
    ])));
    info.textContent = `${names.length} table${names.length === 1 ? "" : "s"}`;
  } catch (error) {
    showError($("#table-detail"), error);
    info.textContent = "";
  }
}

async function showRows(name) {
  const detail = $("#table-detail");
  try {
    const body = await postStatements("query", [`SELECT * FROM ${quoteIdentifier(name)} LIMIT 100`]);
    detail.replaceChildren(element("h3", { text: `${name}: first 100 rows` }));
    const results = element("div");
    showResults(results, body);
    detail.append(results);
  } catch (error) {
    showError(detail, error);
  }
}

async function showSchema(name) {
  const detail = $("#table-detail");
  try {
    const body = await callJson("/db/query?q=" + encodeURIComponent(
      `SELECT sql FROM sqlite_master WHERE tbl_name = '${name.replace(/'/g, "''")}' AND sql IS NOT NULL`));
    const columns = await callJson("/db/query?q=" + encodeURIComponent(
      `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('${name.replace(/'/g, "''")}')`));
    const statements = (body.results[0].values || []).map((row) => row[0] + ";").join("\n");
    detail.replaceChildren(element("h3", { text: `${name}: schema` }),
      element("pre", { class: "schema", text: statements }));
    const grid = element("div");
    showResults(grid, columns);
    detail.append(grid);
  } catch (error) {
    showError(detail, error);
  }
}

// ---- Cluster page ----

async function refreshCluster() {
  const info = $("#cluster-info");
  info.textContent = "asking every node...";
  try {
    const [nodes, status] = await Promise.all([callJson("/nodes?ver=2&nonvoters&timeout=2s"), callJson("/status")]);
    const list = (nodes.nodes || []).slice().sort((a, b) => a.id.localeCompare(b.id));
    $("#nodes tbody").replaceChildren(...list.map((node) => element("tr", { "data-node": node.id }, [
      element("td", { text: node.id }),
      element("td", { text: node.api_addr || "" }),
      element("td", { text: node.addr || "" }),
      element("td", { class: "role", text: node.leader ? "leader" : "follower" }),
      element("td", { class: "suffrage", text: node.voter ? "voter" : "read-only replica" }),
      element("td", { class: "reachable", text: node.reachable ? "yes" : "no" + (node.error ? ` (${node.error})` : "") }),
      element("td", { text: node.time_s || "" }),
    ])));
    const raft = (status.store && status.store.raft) || {};
    const rows = [["node", status.store && status.store.node_id], ["state", raft.state], ["term", raft.term],
      ["commit_index", raft.commit_index], ["applied_index", raft.applied_index],
      ["last_log_index", raft.last_log_index], ["last_snapshot_index", raft.last_snapshot_index],
      ["leader", status.store && status.store.leader && status.store.leader.node_id]];
    $("#raft tbody").replaceChildren(...rows.map(([key, value]) =>
      element("tr", { "data-key": key }, [element("th", { text: key }), element("td", { text: String(value ?? "") })])));
    info.textContent = `${list.length} node${list.length === 1 ? "" : "s"}`;
  } catch (error) {
    info.textContent = String(error.message || error);
  }
}

// ---- Status page ----

async function refreshStatus() {
  try {
    const status = await callJson("/status");
    $("#status").textContent = JSON.stringify(status, null, 2);
  } catch (error) {
    $("#status").textContent = String(error.message || error);
  }
}

async function downloadBackup(sql) {
  const info = $("#backup-info");
  info.textContent = "making the backup...";
  try {
    const response = await call(sql ? "/db/backup?fmt=sql" : "/db/backup");
    if (!response.ok) throw new Error(`${response.status}: ${(await response.text()).trim()}`);
    const blob = await response.blob();
    const link = element("a", { href: URL.createObjectURL(blob), download: sql ? "backup.sql" : "backup.sqlite" });
    document.body.append(link);
    link.click();
    link.remove();
    info.textContent = `${blob.size} bytes`;
  } catch (error) {
    info.textContent = String(error.message || error);
  }
}

// ---- navigation ----

const PAGES = { query: () => $("#sql").focus(), tables: refreshTables, cluster: refreshCluster, status: refreshStatus };

function showPage() {
  const name = (location.hash || "#query").slice(1);
  const page = PAGES[name] ? name : "query";
  for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== "page-" + page;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === page);
  PAGES[page]();
}

async function showNodeInfo() {
  try {
    const status = await callJson("/status?key=store");
    $("#node-info").textContent = `node ${status.node_id} (${status.raft && status.raft.state}) at ${location.host}`;
  } catch (error) {
    $("#node-info").textContent = location.host;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#run").addEventListener("click", runEditor);
  $("#sql").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      runEditor();
    }
  });
  $("#clear-history").addEventListener("click", () => { localStorage.removeItem(HISTORY_KEY); renderHistory(); });
  $("#refresh-tables").addEventListener("click", refreshTables);
  $("#refresh-cluster").addEventListener("click", refreshCluster);
  $("#refresh-status").addEventListener("click", refreshStatus);
  $("#backup").addEventListener("click", () => downloadBackup(false));
  $("#backup-sql").addEventListener("click", () => downloadBackup(true));
  $("#logout").hidden = !sessionStorage.getItem(AUTH_KEY);
  $("#logout").addEventListener("click", () => { sessionStorage.removeItem(AUTH_KEY); location.reload(); });
  window.addEventListener("hashchange", showPage);
  renderHistory();
  showPage();
  showNodeInfo();
});
