// The auditor's view of one project: the money flow (Sankey-style SVG), the reconciliation, late payments
// and the trail table (filter, sort, CSV identical to `civic-ledger audit trail`), all from chain events.
import { projectAudit, sankey } from "./lib/audit.js";
import { startPage } from "./lib/page.js";
import { $, action, api, checkList, clear, download, el, iso, short, status, won } from "./lib/ui.js";

const chain = startPage();
let audit = null;
let sortKey = null;
let sortDir = 1;

function txLink(tx) {
  return el("a", { href: `#tx-${tx}`, title: tx, class: "mono", onclick: action($("#status"), async () => {
    const c = await chain();
    const r = await c.provider.getTransactionReceipt(tx);
    status($("#status"), `tx ${tx}: block ${r.blockNumber}, status ${r.status === 1 ? "success" : "reverted"}, ${r.logs.length} logs, from ${r.from}`, "ok");
  }) }, short(tx, 10));
}

function showTrail() {
  const q = $("#filter").value.trim().toLowerCase();
  let rows = audit.rows.filter((r) => !q || Object.values(r).some((v) => String(v ?? "").toLowerCase().includes(q)));
  if (sortKey) rows = [...rows].sort((a, b) => (a[sortKey] ?? "") > (b[sortKey] ?? "") ? sortDir : (a[sortKey] ?? "") < (b[sortKey] ?? "") ? -sortDir : 0);
  const cols = ["block", "time", "event", "payer", "payee", "purpose", "amount", "claim", "due", "late", "tx"];
  const table = el("table", { id: "trail-rows" }, el("tr", {}, cols.map((c) => el("th", { "data-col": c, style: "cursor:pointer", onclick: () => { sortDir = sortKey === c ? -sortDir : 1; sortKey = c; showTrail(); } }, c + (sortKey === c ? (sortDir > 0 ? " ▲" : " ▼") : "")))));
  for (const r of rows) {
    table.append(el("tr", { "data-event": r.event }, cols.map((c) => el("td", { class: ["payer", "payee"].includes(c) ? "mono" : "" }, c === "tx" ? txLink(r.tx) : ["payer", "payee"].includes(c) ? short(r[c], 8) : c === "amount" && r.amount !== null ? r.amount.toLocaleString("en-US") : String(r[c] ?? "")))));
  }
  clear($("#trail-table")).append(table);
  $("#trail-count").textContent = `${rows.length} of ${audit.rows.length} rows`;
}

$("#filter").addEventListener("input", () => audit && showTrail());
$("#csv").addEventListener("click", () => audit && download(`project-${audit.projectId}-trail.csv`, audit.csv, "text/csv"));

$("#load").addEventListener("click", action($("#status"), async () => {
  const projectId = Number($("#project").value);
  status($("#status"), "reading the chain…");
  const c = await chain();
  const trust = await c.trust("SubcontractPayments", "CivicWon");
  audit = await projectAudit(c, projectId);
  window.civicAudit = { totals: audit.totals, csvSha256: audit.csvSha256, rows: audit.rows.length, buckets: audit.buckets };
  $("#flow").hidden = $("#recon").hidden = $("#trail").hidden = false;
  clear($("#sankey")).append(sankey(audit));
  const t = audit.totals;
  clear($("#totals")).append(el("p", { id: "totals-line" }, `funded ${won(t.funded)} · paid ${won(t.paid)} · refunded ${won(t.refunded)} · in escrow ${won(t.balance)} · claimed ${won(t.claimed)} · late interest ${won(t.late_interest)}`),
    el("p", { class: "muted mono", id: "csv-sha" }, `trail CSV sha256 ${audit.csvSha256} (${audit.rows.length} rows, to block ${audit.head})`));
  const checks = [...trust, ...audit.checks];
  // the server's reconciliation, compared figure by figure with what this browser computed
  try {
    const server = await api(`/audit/projects/${projectId}/reconcile`);
    const same = ["funded", "paid", "refunded", "balance", "claimed", "late_interest"].every((k) => server.totals[k] === t[k]);
    checks.push({ name: "server reconciliation", ok: same && server.matches, detail: same ? `the server's totals agree (matches=${server.matches})` : `server ${JSON.stringify(server.totals)}` });
  } catch (err) {
    checks.push({ name: "server reconciliation", status: "skipped", detail: err.message });
  }
  clear($("#recon-checks")).append(checkList(checks), el("h3", { text: "Payees" }), payeeTable());
  const late = el("table", {}, el("tr", {}, ["claim", "line", "payee", "amount", "due", "paid", "interest", "tx"].map((h) => el("th", { text: h }))));
  for (const l of audit.late) late.append(el("tr", {}, [l.claim, l.line, short(l.payee, 8), won(l.amount), iso(l.due), iso(l.paid_at), won(l.interest)].map((v) => el("td", { text: v })), el("td", {}, txLink(l.tx))));
  clear($("#late")).append(audit.late.length ? late : el("p", { class: "muted", text: "no late payment" }));
  showTrail();
  $("#csv").disabled = false;
  status($("#status"), checks.every((x) => x.ok !== false) ? "reconciled: every figure agrees with the chain" : "some figures do not agree (see the checks)", checks.every((x) => x.ok !== false) ? "ok" : "error");
}));

function payeeTable() {
  const table = el("table", {}, el("tr", {}, ["payee", "claimed", "paid", "credited", "outstanding"].map((h) => el("th", { text: h }))));
  for (const p of audit.payees) table.append(el("tr", {}, el("td", { class: "mono", text: p.payee }), ...["claimed", "paid", "credited", "outstanding"].map((k) => el("td", { text: won(p[k]) }))));
  return table;
}

const fromHash = new URLSearchParams(location.search).get("project");
if (fromHash) {
  $("#project").value = fromHash;
  $("#load").click();
}
