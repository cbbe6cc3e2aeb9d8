// The verifier's desk: drop a credential, a presentation, a labour evidence bundle or a vehicle report;
// every check runs here against the RPC URL and manifest chosen above. The result link carries the
// document (compressed) in the URL fragment, which browsers never send to a server.
import { getAddress, hexlify, randomBytes } from "ethers";
import qrcode from "qrcode";
import { fromQrText, kindOf, qrText, verifyCredential, verifyPresentation } from "./lib/credential.js";
import { startPage } from "./lib/page.js";
import { $, action, checkList, clear, el, status } from "./lib/ui.js";
import { verifyReport } from "./lib/vehicle.js";

const chain = startPage();
const out = $("#status");

function newChallenge() {
  $("#nonce").value = hexlify(randomBytes(16));
  if (!$("#audience").value) $("#audience").value = location.origin;
  const code = qrcode(0, "M");
  code.addData(JSON.stringify({ audience: $("#audience").value, nonce: $("#nonce").value }));
  code.make();
  $("#challenge-qr").innerHTML = code.createSvgTag({ cellSize: 3, margin: 2, scalable: true });
}
$("#new-nonce").addEventListener("click", newChallenge);

// Labour evidence bundle: each record's log re-read from its receipt at the trusted LaborRecords, and
// the contract's records complete. (The findings need the labour-law engine: `civic-ledger labor verify`.)
async function verifyEvidence(c, bundle) {
  const checks = [...(await c.trust("LaborRecords"))];
  const address = c.address("LaborRecords");
  const iface = c.iface("LaborRecords");
  const chainOk = Number(bundle.chain?.chain_id) === Number(c.chainId) && getAddress(bundle.chain?.labor_records ?? "0x" + "0".repeat(40)) === address;
  checks.push({ name: "deployment", ok: chainOk, detail: `bundle chain ${bundle.chain?.chain_id}, LaborRecords ${bundle.chain?.labor_records}` });
  const norm = (v) => (typeof v === "bigint" ? v.toString() : typeof v === "string" ? v.toLowerCase() : Array.isArray(v) ? v.map(norm) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)])) : String(v));
  const plain = (result, inputs) => Object.fromEntries(inputs.map((inp, i) => [inp.name, inp.components ? (inp.baseType === "array" ? [...result[i]].map((x) => plain(x, inp.arrayChildren.components)) : plain(result[i], inp.components)) : result[i]]));
  const receipts = new Map();
  for (const r of bundle.records ?? []) {
    const label = `${r.event} block ${r.blockNumber} log ${r.logIndex}`;
    if (!receipts.has(r.transactionHash)) receipts.set(r.transactionHash, await c.provider.getTransactionReceipt(r.transactionHash));
    const receipt = receipts.get(r.transactionHash);
    const log = receipt && receipt.logs.find((l) => l.index === Number(r.logIndex));
    let problem = null;
    if (!receipt) problem = "no such transaction on this chain";
    else if (receipt.blockNumber !== Number(r.blockNumber) || receipt.blockHash !== String(r.blockHash).toLowerCase()) problem = "block differs";
    else if (!log) problem = "no log at that index";
    else if (getAddress(log.address) !== address) problem = `emitted by ${log.address}, not the trusted LaborRecords`;
    else {
      const parsed = iface.parseLog(log);
      if (!parsed || parsed.name !== r.event) problem = `the log is ${parsed ? parsed.name : "unknown"}`;
      else {
        const decoded = norm(plain(parsed.args, parsed.fragment.inputs));
        const claimed = norm(r.args);
        const diff = Object.keys(decoded).filter((k) => k in claimed && JSON.stringify(decoded[k]) !== JSON.stringify(claimed[k]));
        if (diff.length) problem = `arguments differ from the chain: ${diff.join(", ")}`;
      }
    }
    checks.push({ name: label, ok: !problem, detail: problem ?? "the chain has this record" });
  }
  const id = String(bundle.contract_id).toLowerCase();
  const onChain = (await c.events("LaborRecords", { topics: [null, id] })).filter((e) => e.keys.has("contractId") && String(e.args.contractId).toLowerCase() === id);
  const inBundle = new Set((bundle.records ?? []).map((r) => `${String(r.transactionHash).toLowerCase()}/${r.logIndex}`));
  const missing = onChain.filter((e) => !inBundle.has(`${e.tx}/${e.index}`));
  checks.push({ name: "completeness", ok: missing.length === 0, detail: missing.length ? `${missing.length} records of this contract are left out: ${missing.map((e) => e.name).join(", ")}` : `${onChain.length} records of this contract on chain, all in the bundle` });
  checks.push({ name: "findings", status: "skipped", detail: "recomputing the findings needs the labour-law engine: run `civic-ledger labor verify`" });
  const valid = checks.every((x) => x.ok !== false);
  return { valid, verdict: valid ? "valid" : "invalid", checks };
}

async function run(data) {
  const c = await chain();
  const kind = kindOf(data);
  status(out, `checking a ${kind.replace("_", " ")} against ${c.rpcUrl}…`);
  let report;
  if (kind === "credential") report = await verifyCredential(c, data);
  else if (kind === "presentation") report = await verifyPresentation(c, data, $("#audience").value, $("#nonce").value);
  else if (kind === "vehicle_report") report = await verifyReport(c, data);
  else if (kind === "evidence_bundle") report = await verifyEvidence(c, data);
  else throw new Error("this is not a credential, a presentation, a labour evidence bundle or a vehicle report");
  $("#result").hidden = false;
  const v = $("#verdict");
  v.textContent = `${kind.replace("_", " ")}: ${report.verdict}`;
  v.className = `verdict ${report.verdict}`;
  v.dataset.verdict = report.verdict;
  $("#kind").textContent = `checked in this browser against ${c.rpcUrl} and the manifest of chain ${c.chainId}`;
  clear($("#checks")).append(checkList(report.checks));
  const summary = clear($("#summary"));
  if (report.claims && report.claims.length) summary.append(el("h3", { text: "disclosed claims" }), el("ul", {}, report.claims.map((x) => el("li", { text: `${x.name}: ${JSON.stringify(x.value)}` }))));
  if (report.credential && report.credential.claims) summary.append(el("h3", { text: "disclosed claims" }), el("ul", {}, report.credential.claims.map((x) => el("li", { text: `${x.name}: ${JSON.stringify(x.value)}` }))));
  const link = `${location.origin}/verify#doc=${(await qrText(data)).replace("civic-ledger-vc:", "")}`;
  $("#share").href = link;
  status(out, "", "ok");
  return report;
}

async function fromText(text) {
  const s = text.trim();
  return s.startsWith("civic-ledger-vc:") ? fromQrText(s) : JSON.parse(s);
}

$("#verify-file").addEventListener("change", action(out, async (ev) => {
  const text = await ev.target.files[0].text();
  $("#verify-text").value = text;
  await run(await fromText(text));
}));
$("#verify-run").addEventListener("click", action(out, async () => run(await fromText($("#verify-text").value))));
const drop = $("#drop");
drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", action(out, async (ev) => {
  drop.classList.remove("over");
  const text = await ev.dataTransfer.files[0].text();
  $("#verify-text").value = text;
  await run(await fromText(text));
}));

newChallenge();
if (location.hash.startsWith("#doc=")) {
  action(out, async () => run(await fromQrText(location.hash.slice(5))))();
}
