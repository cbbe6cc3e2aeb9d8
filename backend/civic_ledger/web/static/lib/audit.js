// A project's payment trail and reconciliation from SubcontractPayments events alone (docs/verification.md
// section 7), and its CSV byte for byte as `civic-ledger audit trail` writes it (same csv_sha256).
import { getAddress, sha256, toUtf8Bytes } from "ethers";

export const PURPOSES = { 1: "labour", 2: "subcontract", 3: "material", 4: "equipment", 5: "prime" };
export const CSV_COLUMNS = ["block", "time", "tx", "log_index", "event", "payer", "payee", "purpose", "amount", "claim", "evidence", "due", "late"];
const iso = (ts) => new Date(Number(ts) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
const n = (v) => Number(v);

// platform/csvsafe.py: a text cell that could start a formula gets a leading quote (plain numbers stay).
const TRIGGERS = new Set(["=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20"]);
const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
function cell(v) {
  let s = v === null || v === undefined ? "" : String(v);
  if (typeof v === "string" && s && TRIGGERS.has(s[0]) && !PLAIN_NUMBER.test(s)) s = "'" + s;
  // Python's csv.writer, QUOTE_MINIMAL: quote a field holding the delimiter, a quote or a line break.
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function toCsv(rows) {
  const lines = [CSV_COLUMNS.map(cell).join(",")];
  for (const r of rows) lines.push([r.block, r.time, r.tx, r.log_index, r.event, r.payer, r.payee, r.purpose, r.amount ?? "", r.claim ?? "", r.evidence, r.due, r.late].map(cell).join(","));
  return lines.join("\n") + "\n";
}

export const csvSha256 = (text) => sha256(toUtf8Bytes(text)).slice(2);

export async function projectAudit(chain, projectId) {
  const head = await chain.head();
  const all = await chain.events("SubcontractPayments", { toBlock: head });
  const mine = all.filter((e) => e.keys.has("projectId") && n(e.args.projectId) === projectId);
  if (!mine.some((e) => e.name === "ProjectRegistered")) throw new Error(`project ${projectId} is not registered on this chain`);
  const escrow = chain.address("SubcontractPayments");
  const evidence = {};
  for (const e of mine) if (e.name === "ClaimLineAdded") evidence[`${e.args.claimId}/${e.args.line}`] = e.args.evidence;
  const buckets = {};
  for (const name of Object.values(PURPOSES)) buckets[name] = { purpose: name, funded: 0, paid: 0, refunded: 0, balance: 0 };
  const payees = {};
  const payee = (a) => (payees[a] ??= { payee: a, claimed: 0, paid: 0, credited: 0 });
  const flows = { funding: {}, payments: {}, refunds: {} };
  const add = (o, k, v) => (o[k] = (o[k] ?? 0) + v);
  const late = [];
  const rows = [];
  const checks = [];
  for (const e of mine) {
    const a = e.args;
    const t = (await chain.block(e.block)).timestamp;
    const row = { block: e.block, time: iso(t), tx: e.tx, log_index: e.index, event: e.name, payer: "", payee: "", purpose: e.keys.has("purpose") ? PURPOSES[n(a.purpose)] ?? String(a.purpose) : "", amount: null, claim: e.keys.has("claimId") ? n(a.claimId) : null, evidence: "", due: "", late: "", interest: null };
    if (e.name === "ProjectRegistered") Object.assign(row, { payer: a.client, payee: a.prime, amount: n(a.contractAmount), evidence: a.projectRef });
    else if (e.name === "ParticipantRegistered") Object.assign(row, { payee: a.account, amount: n(a.contractAmount) });
    else if (e.name === "BucketFunded") {
      buckets[row.purpose].funded += n(a.amount);
      add(flows.funding, `${a.funder}|${row.purpose}`, n(a.amount));
      Object.assign(row, { payer: a.funder, payee: escrow, amount: n(a.amount) });
    } else if (e.name === "ClaimSubmitted") Object.assign(row, { payer: a.prime, amount: n(a.total) });
    else if (e.name === "ClaimLineAdded") {
      payee(a.payee).claimed += n(a.amount);
      Object.assign(row, { payee: a.payee, amount: n(a.amount), evidence: a.evidence });
    } else if (e.name === "LinesConfirmed") row.payer = a.confirmer;
    else if (e.name === "ClaimApproved") row.payer = a.inspector;
    else if (e.name === "LinePaid" || e.name === "LineCredited") {
      buckets[row.purpose].paid += n(a.amount);
      payee(a.payee)[e.name === "LinePaid" ? "paid" : "credited"] += n(a.amount);
      add(flows.payments, `${row.purpose}|${a.payee}`, n(a.amount));
      Object.assign(row, { payer: escrow, payee: a.payee, amount: n(a.amount), evidence: evidence[`${a.claimId}/${a.line}`] ?? "", interest: n(a.interest) });
      if (n(a.due)) {
        row.due = iso(a.due);
        row.late = n(a.interest) > 0 || t > n(a.due) ? "true" : "false";
        const expected = t > n(a.due) ? (a.amount * 155n * BigInt(t - n(a.due))) / (1000n * 365n * 86400n) : 0n;
        checks.push({ name: `interest claim ${a.claimId} line ${a.line}`, ok: expected === a.interest, detail: `recomputed ${expected}, recorded ${a.interest}` });
      }
      if (n(a.interest) > 0) late.push({ claim: n(a.claimId), line: n(a.line), payee: a.payee, amount: n(a.amount), due: n(a.due), paid_at: t, interest: n(a.interest), tx: e.tx });
    } else if (e.name === "ClaimSettled") row.amount = n(a.total);
    else if (e.name === "DirectPaymentMade") Object.assign(row, { payer: a.client, evidence: evidence[`${a.claimId}/${a.line}`] ?? "" });
    else if (e.name === "CreditWithdrawn") Object.assign(row, { payer: escrow, payee: a.to, amount: n(a.amount) });
    else if (e.name === "BucketRefunded") {
      buckets[row.purpose].refunded += n(a.amount);
      add(flows.refunds, `${row.purpose}|${a.client}`, n(a.amount));
      Object.assign(row, { payer: escrow, payee: a.client, amount: n(a.amount) });
    } else if (e.name === "ProjectClosed") Object.assign(row, { payee: a.client, amount: n(a.refunded) });
    rows.push(row);
  }
  for (const [code, name] of Object.entries(PURPOSES)) {
    const b = buckets[name];
    b.balance = b.funded - b.paid - b.refunded;
    const v = await chain.view("SubcontractPayments", "bucketOf", [projectId, n(code)], head);
    const same = [b.funded, b.paid, b.refunded, b.balance].join() === [v.funded, v.paid, v.refunded, v.balance].map(n).join();
    b.matches = same;
    checks.push({ name: `bucket ${name}`, ok: same, detail: `events funded ${b.funded} paid ${b.paid} refunded ${b.refunded} balance ${b.balance}; bucketOf balance ${v.balance}` });
  }
  const payeeRows = Object.values(payees).sort((x, y) => (x.payee < y.payee ? -1 : 1)).map((p) => ({ ...p, outstanding: p.claimed - p.paid - p.credited }));
  const list = Object.values(buckets);
  const sum = (k) => list.reduce((x, b) => x + b[k], 0);
  const totals = { funded: sum("funded"), paid: sum("paid"), refunded: sum("refunded"), balance: sum("balance"), claimed: payeeRows.reduce((x, p) => x + p.claimed, 0), late_interest: late.reduce((x, l) => x + l.interest, 0) };
  const csv = toCsv(rows);
  return { projectId, head, rows, buckets: list, payees: payeeRows, totals, late, flows, checks, csv, csvSha256: csvSha256(csv), escrow: getAddress(escrow) };
}

// A Sankey-style SVG: funders → purpose buckets → payees (and refunds / balance left in each bucket).
export function sankey(audit, { width = 900 } = {}) {
  const NS = "http://www.w3.org/2000/svg";
  const mk = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const short = (a) => (a && a.startsWith("0x") ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);
  const colour = { labour: "#1f77b4", subcontract: "#ff7f0e", material: "#2ca02c", equipment: "#9467bd", prime: "#8c564b" };
  const left = {};
  for (const [k, v] of Object.entries(audit.flows.funding)) left[k.split("|")[0]] = (left[k.split("|")[0]] ?? 0) + v;
  const middle = audit.buckets.filter((b) => b.funded > 0);
  const right = {};
  const links = [];
  for (const [k, v] of Object.entries(audit.flows.funding)) { const [f, p] = k.split("|"); links.push({ from: `L:${f}`, to: `M:${p}`, value: v, purpose: p }); }
  for (const [k, v] of Object.entries(audit.flows.payments)) { const [p, to] = k.split("|"); right[to] = (right[to] ?? 0) + v; links.push({ from: `M:${p}`, to: `R:${to}`, value: v, purpose: p }); }
  for (const [k, v] of Object.entries(audit.flows.refunds)) { const [p] = k.split("|"); right["refunded"] = (right["refunded"] ?? 0) + v; links.push({ from: `M:${p}`, to: "R:refunded", value: v, purpose: p }); }
  for (const b of middle) if (b.balance > 0) { right["in escrow"] = (right["in escrow"] ?? 0) + b.balance; links.push({ from: `M:${b.purpose}`, to: "R:in escrow", value: b.balance, purpose: b.purpose }); }
  const total = Math.max(1, audit.totals.funded);
  const columns = [Object.entries(left).map(([k, v]) => ({ id: `L:${k}`, label: `city ${short(k)}`, value: v })), middle.map((b) => ({ id: `M:${b.purpose}`, label: b.purpose, value: b.funded })), Object.entries(right).map(([k, v]) => ({ id: `R:${k}`, label: short(k), value: v }))];
  const gap = 14;
  const maxNodes = Math.max(...columns.map((c) => c.length), 1);
  const usable = 420;
  const height = usable + gap * maxNodes + 40;
  const scale = usable / total;
  const svg = mk("svg", { viewBox: `0 0 ${width} ${height}`, class: "sankey", role: "img", "aria-label": "money flow", "data-funded": audit.totals.funded, "data-paid": audit.totals.paid, "data-refunded": audit.totals.refunded, "data-balance": audit.totals.balance });
  const pos = {};
  const xs = [10, width / 2 - 60, width - 200];
  columns.forEach((col, ci) => {
    let y = 20;
    for (const node of col) {
      const h = Math.max(2, node.value * scale);
      pos[node.id] = { x: xs[ci], y, h, outY: y, inY: y };
      svg.append(mk("rect", { x: xs[ci], y, width: 14, height: h, class: "node", "data-node": node.id, "data-value": node.value }));
      svg.append(mk("text", { x: xs[ci] + 18, y: y + Math.min(h / 2 + 4, h + 12) }, `${node.label} ₩${node.value.toLocaleString("en-US")}`));
      y += h + gap;
    }
  });
  for (const l of links) {
    const a = pos[l.from];
    const b = pos[l.to];
    if (!a || !b) continue;
    const w = Math.max(1, l.value * scale);
    const y0 = a.outY + w / 2;
    const y1 = b.inY + w / 2;
    a.outY += w;
    b.inY += w;
    const x0 = a.x + 14;
    const x1 = b.x;
    const mx = (x0 + x1) / 2;
    const path = mk("path", { d: `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`, class: "flow", stroke: colour[l.purpose] ?? "#888", "stroke-width": w, "data-from": l.from, "data-to": l.to, "data-value": l.value });
    path.append(mk("title", {}, `${l.from.slice(2)} → ${l.to.slice(2)}: ₩${l.value.toLocaleString("en-US")}`));
    svg.append(path);
  }
  return svg;
}
