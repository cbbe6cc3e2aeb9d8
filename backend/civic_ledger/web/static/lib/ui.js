// Small DOM helpers, check lists, downloads and SVG charts (no chart library needed).
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function status(node, text, kind = "info") {
  node.textContent = text;
  node.dataset.kind = kind;
}

// Run an async UI action; any error is shown in `where` (never left unhandled).
export function action(where, fn) {
  return async (ev) => {
    if (ev && ev.preventDefault) ev.preventDefault();
    try {
      await fn(ev);
    } catch (err) {
      status(where, messageOf(err), "error");
    }
  };
}

export function messageOf(err) {
  if (err && err.body && err.body.message) return err.body.message;
  return (err && (err.shortMessage || err.message)) || String(err);
}

// One row per check: name, pass/fail/skipped, detail.
export function checkList(checks) {
  const table = el("table", { class: "checks" }, el("tr", {}, el("th", { text: "check" }), el("th", { text: "result" }), el("th", { text: "detail" })));
  for (const c of checks) {
    const st = c.status ?? (c.ok ? "pass" : "fail");
    table.append(el("tr", { "data-check": c.name, "data-status": st }, el("td", { text: c.name }), el("td", { class: `st-${st}`, text: st }), el("td", { text: c.detail ?? "" })));
  }
  return table;
}

export function download(filename, text, type = "application/json") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export const short = (hex, n = 10) => (hex && hex.length > n + 4 ? `${hex.slice(0, n)}…${hex.slice(-4)}` : hex);
export const iso = (ts) => new Date(Number(ts) * 1000).toISOString().replace(".000Z", "Z");
export const won = (n) => `₩${Number(n).toLocaleString("en-US")}`;

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// Horizontal bar chart: rows [{label, value}].
export function barChart(rows, { title = "", width = 360 } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const total = rows.reduce((x, r) => x + r.value, 0);
  const rowH = 34;
  const h = rows.length * rowH + 30;
  const labelW = 110;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${h}`, class: "chart", role: "img", "aria-label": title });
  chart.append(svg("text", { x: 0, y: 14, class: "chart-title" }, title));
  rows.forEach((r, i) => {
    const y = 24 + i * rowH;
    const w = Math.round(((width - labelW - 70) * r.value) / max);
    const share = total ? ` (${((100 * r.value) / total).toFixed(1)}%)` : "";
    chart.append(
      svg("text", { x: 0, y: y + 17, class: "chart-label" }, r.label.length > 16 ? `${r.label.slice(0, 15)}…` : r.label),
      svg("rect", { x: labelW, y: y + 4, width: Math.max(w, 1), height: 20, rx: 3, class: "bar", "data-value": r.value }),
      svg("text", { x: labelW + w + 6, y: y + 19, class: "chart-value" }, `${r.value}${share}`),
    );
  });
  return chart;
}

// Line chart of points [{x (unix s), y}] with dots; flagged points get class "flagged".
export function lineChart(points, { title = "", width = 420, height = 200, unit = "" } = {}) {
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  chart.append(svg("text", { x: 0, y: 14, class: "chart-title" }, title));
  if (!points.length) return chart;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const y1 = Math.max(...ys, 1);
  const px = (x) => 50 + ((width - 70) * (x - x0)) / (x1 - x0);
  const py = (y) => height - 24 - ((height - 54) * y) / y1;
  chart.append(svg("line", { x1: 50, y1: height - 24, x2: width - 10, y2: height - 24, class: "axis" }));
  chart.append(svg("text", { x: 0, y: py(y1) + 4, class: "chart-label" }, `${y1.toLocaleString("en-US")}${unit}`));
  chart.append(svg("polyline", { points: points.map((p) => `${px(p.x)},${py(p.y)}`).join(" "), class: "line" }));
  for (const p of points) chart.append(svg("circle", { cx: px(p.x), cy: py(p.y), r: 4, class: p.flagged ? "dot flagged" : "dot" }, svg("title", {}, `${p.y}${unit} ${iso(p.x)}`)));
  return chart;
}

// fetch JSON from this server's API; a non-2xx answer throws with the API's message.
export async function api(path, { method = "GET", body = undefined, token = undefined } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    const err = new Error((data && data.message) || `${method} ${path}: HTTP ${r.status}`);
    err.status = r.status;
    err.body = data;
    throw err;
  }
  return data;
}

// The "RPC URL / manifest" box every page has: returns a function giving the current {rpc, manifest}.
export function trustBox(root, { defaultRpc, fetchManifest, manifestFromFile, rememberRpc, onChange = () => {} }) {
  const rpcInput = el("input", { id: "rpc-url", type: "url", value: defaultRpc(), size: 40, "aria-label": "RPC URL" });
  const file = el("input", { id: "manifest-file", type: "file", accept: ".json,application/json", "aria-label": "manifest" });
  const note = el("span", { class: "muted", id: "manifest-source", text: "manifest: this server's /deployment.json" });
  let manifest = null;
  let source = "server";
  file.addEventListener("change", async () => {
    try {
      manifest = await manifestFromFile(file.files[0]);
      source = file.files[0].name;
      note.textContent = `manifest: ${source} (chain ${manifest.chain_id})`;
      onChange();
    } catch (err) {
      note.textContent = messageOf(err);
    }
  });
  rpcInput.addEventListener("change", () => {
    rememberRpc(rpcInput.value.trim());
    onChange();
  });
  root.append(
    el("details", { class: "trust" }, el("summary", { "data-i18n": "trust.title", text: "Where checks run" }),
      el("label", {}, el("span", { "data-i18n": "trust.rpc", text: "RPC URL" }), rpcInput),
      el("label", {}, el("span", { "data-i18n": "trust.manifest", text: "Deployment manifest you trust" }), file), note),
  );
  return async () => {
    if (!manifest) manifest = await fetchManifest();
    return { rpc: rpcInput.value.trim() || defaultRpc(), manifest, source };
  };
}
