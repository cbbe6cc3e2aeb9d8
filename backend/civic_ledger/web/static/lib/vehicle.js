// A used car's history from its VehicleHistory events alone (docs/verification.md section 11): one
// eth_getLogs with topics [null, keccak256(VIN)], then the timeline, readings and flags of
// vehicles/history.py (same rules, same codes), and vehicleOf compared with what the events say.
import { keccak256, toUtf8Bytes } from "ethers";

const SOURCES = ["inspection", "periodic_inspection", "shop", "dealer", "owner"];
const CLAIM_KINDS = ["accident", "flood", "total_loss"];
const ENCUMBRANCE_KINDS = ["lien", "seizure"];
const INSPECTION_VALIDITY_S = 120 * 86400;
const MAX_KM_PER_DAY = 1000;
const MISMATCH_KM = 1000;
const fmt = (x) => Number(x).toLocaleString("en-US");

export function normaliseVin(text) {
  const vin = String(text).replace(/[ \t-]/g, "").toUpperCase();
  if (vin.length !== 17) throw new Error(`a VIN has 17 characters, not ${vin.length}`);
  const bad = vin.match(/[^A-HJ-NPR-Z0-9]/);
  if (bad) throw new Error(`a VIN has no ${bad[0]} (I, O and Q are not used: 1 and 0 are)`);
  return vin;
}

export const vinHash = (vin) => keccak256(toUtf8Bytes(normaliseVin(vin)));

export async function vehicleHistory(chain, vinText, { toBlock = undefined, asOf = undefined } = {}) {
  const vin = normaliseVin(vinText);
  const hash = vinHash(vin);
  const head = toBlock ?? (await chain.head());
  const events = await chain.events("VehicleHistory", { topics: [null, hash], toBlock: head });
  const at = asOf ?? (await chain.block(head)).timestamp;
  let vehicle = null;
  let owner = null;
  let owners = 0;
  const readings = [];
  const rollbacks = [];
  const inspections = [];
  const claims = [];
  const timeline = [];
  const active = { lien: 0, seizure: 0 };
  for (const e of events) {
    const a = e.args;
    const t = e.keys.has("at") ? Number(a.getValue("at")) : 0; // `a.at` is Array.prototype.at
    let summary = e.name;
    if (e.name === "VehicleRegistered") {
      const d = a.details;
      vehicle = { make: d.make, model: d.model, model_year: Number(d.modelYear) };
      owner = a.owner;
      owners = 1;
      summary = `registered (${d.make} ${d.model} ${d.modelYear}) to ${a.owner}`;
    } else if (e.name === "OdometerRecorded") {
      readings.push({ km: Number(a.km), source: SOURCES[Number(a.source)], at: t, by: a.recorder });
      summary = `odometer ${fmt(a.km)} km (${SOURCES[Number(a.source)]})`;
    } else if (e.name === "OdometerRollbackRefused") {
      rollbacks.push({ km: Number(a.km), highest: Number(a.highest), source: SOURCES[Number(a.source)], by: a.recorder, at: t });
      summary = `rollback refused: ${fmt(a.km)} km < highest ${fmt(a.highest)} km (${SOURCES[Number(a.source)]})`;
    } else if (e.name === "InspectionRecorded") {
      const f = a.findings;
      inspections.push({ inspection_id: Number(a.inspectionId), km: Number(f.km), flood: f.flood, at: t, valid_until: t + INSPECTION_VALIDITY_S });
      readings.push({ km: Number(f.km), source: "inspection", at: t, by: a.inspector });
      summary = `inspection #${a.inspectionId} at ${fmt(f.km)} km`;
    } else if (e.name === "ClaimRecorded") {
      claims.push({ kind: CLAIM_KINDS[Number(a.kind)], insurer: a.insurer, at: t });
      summary = `insurance claim: ${CLAIM_KINDS[Number(a.kind)]}`;
    } else if (e.name === "EncumbranceRecorded") {
      const kind = ENCUMBRANCE_KINDS[Number(a.kind)];
      active[kind] = Number(a.remaining);
      summary = `${kind} ${a.active ? "set" : "lifted"} (${a.remaining} active)`;
    } else if (e.name === "MaintenanceRecorded") {
      readings.push({ km: Number(a.km), source: "shop", at: t, by: a.shop });
      summary = `maintenance at ${fmt(a.km)} km`;
    } else if (e.name === "PurchaseRegistered") {
      owner = a.dealer;
      owners += 1;
      summary = `purchase registered by dealer ${a.dealer} for ${fmt(a.price)} KRW`;
    } else if (e.name === "SaleOffered") summary = `offered to ${a.buyer} for ${fmt(a.price)} KRW with inspection #${a.inspectionId}`;
    else if (e.name === "SaleCompleted") {
      owner = a.buyer;
      owners += 1;
      summary = `sold to ${a.buyer} for ${fmt(a.price)} KRW (inspection #${a.inspectionId})`;
    } else continue;
    timeline.push({ at: t, event: e.name, summary, block_number: e.block, tx_hash: e.tx, log_index: e.index });
  }
  const flags = [];
  const flag = (code, message, when = null) => flags.push({ code, message, at: when });
  for (const r of rollbacks) flag("rollback_refused", `a reading of ${fmt(r.km)} km below the highest ${fmt(r.highest)} km was refused (${r.source}, ${r.by})`, r.at);
  let previous = null;
  for (const r of readings) {
    r.implausible = false;
    if (previous) {
      const days = Math.max(1, (r.at - previous.at) / 86400);
      const driven = r.km - previous.km;
      if (driven > MAX_KM_PER_DAY * days) {
        r.implausible = true;
        flag("implausible_mileage", `${fmt(driven)} km in ${days.toFixed(1)} day(s) before the reading of ${fmt(r.km)} km`, r.at);
      }
    }
    previous = r;
  }
  for (const c of claims) flag(c.kind, `${{ flood: "flood damage", total_loss: "total loss", accident: "insured accident" }[c.kind]} claimed by insurer ${c.insurer}`, c.at);
  for (const i of inspections) if (i.flood) flag("flood", `flood damage found by inspection #${i.inspection_id}`, i.at);
  if (active.lien) flag("active_lien", `${active.lien} lien(s) active: the car can not change owner until lifted`);
  if (active.seizure) flag("active_seizure", `${active.seizure} seizure(s) active: the car can not change owner until lifted`);
  const current = inspections.length ? inspections[inspections.length - 1] : null;
  if (!current) flag("no_inspection", "no performance/condition inspection on record: the car can not be sold");
  else if (at > current.valid_until) flag("inspection_expired", `the current inspection #${current.inspection_id} is older than 120 days`, current.valid_until);
  const highest = readings.reduce((x, r) => Math.max(x, r.km), 0);
  if (current && highest - current.km > MISMATCH_KM) flag("inspection_odometer_mismatch", `the odometer reads ${fmt(highest)} km, ${fmt(highest - current.km)} km more than inspection #${current.inspection_id} recorded`);
  const checks = [];
  if (events.length) {
    const v = await chain.view("VehicleHistory", "vehicleOf", [hash], head);
    const onChainOwner = v.owner ?? v[0];
    checks.push({ name: "vehicleOf owner", ok: !owner || String(onChainOwner) === owner, detail: `events ${owner}, vehicleOf ${onChainOwner}` });
    const hk = v.highestKm ?? v.highest_km;
    if (hk !== undefined) checks.push({ name: "vehicleOf highest reading", ok: Number(hk) === highest, detail: `events ${highest} km, vehicleOf ${hk} km` });
  }
  return { vin, vin_hash: hash, block_number: head, as_of: at, vehicle, owner, owners_count: owners, highest_km: highest, readings, flags, timeline, inspections, checks };
}

// A buyer's report (from the server or a file) against the chain: the same events, owner, mileage, flags.
export async function verifyReport(chain, report) {
  const mine = await vehicleHistory(chain, report.vin, { toBlock: Number(report.block_number), asOf: Number(report.as_of) });
  const checks = [];
  const trust = await chain.trust("VehicleHistory");
  checks.push(...trust);
  checks.push({ name: "deployment", ok: Number(report.chain_id) === Number(chain.chainId) && String(report.contract).toLowerCase() === chain.address("VehicleHistory").toLowerCase(), detail: `report chain ${report.chain_id} contract ${report.contract}` });
  checks.push({ name: "vin_hash", ok: report.vin_hash === mine.vin_hash, detail: mine.vin_hash });
  const tl = (x) => x.map((e) => `${e.event}@${e.block_number}/${e.log_index}`).join(",");
  checks.push({ name: "timeline", ok: tl(report.timeline) === tl(mine.timeline), detail: `${mine.timeline.length} events on chain, ${report.timeline.length} in the report` });
  checks.push({ name: "owner", ok: report.owner === mine.owner, detail: `chain ${mine.owner}` });
  checks.push({ name: "highest_km", ok: Number(report.highest_km) === mine.highest_km, detail: `chain ${mine.highest_km} km, report ${report.highest_km} km` });
  const codes = (f) => f.map((x) => x.code).sort().join(",");
  checks.push({ name: "flags", ok: codes(report.flags) === codes(mine.flags), detail: `chain [${codes(mine.flags)}], report [${codes(report.flags)}]` });
  checks.push(...mine.checks);
  const valid = checks.every((c) => c.ok);
  return { valid, verdict: valid ? "valid" : "invalid", checks, derived: mine };
}
