// The buyer's lookup: a VIN's history from the chain (timeline, mileage chart, flags), compared with
// the server's report.
import { startPage } from "./lib/page.js";
import { $, action, api, checkList, clear, el, iso, lineChart, short, status } from "./lib/ui.js";
import { normaliseVin, verifyReport, vehicleHistory } from "./lib/vehicle.js";

const chain = startPage();

$("#lookup").addEventListener("click", action($("#status"), async () => {
  const vin = normaliseVin($("#vin").value);
  status($("#status"), "reading the chain…");
  const c = await chain();
  await c.requireTrust("VehicleHistory"); // the node must hold the manifest's code
  const h = await vehicleHistory(c, vin);
  $("#report").hidden = false;
  $("#car").textContent = h.vehicle ? `${h.vehicle.make} ${h.vehicle.model} ${h.vehicle.model_year} · ${vin}` : `${vin}: no record on this chain`;
  $("#car-facts").textContent = h.vehicle ? `owner ${h.owner} · ${h.owners_count} owner(s) · highest reading ${h.highest_km.toLocaleString("en-US")} km · ${h.timeline.length} records` : "";
  const flags = clear($("#flags"));
  for (const f of h.flags) flags.append(el("li", { class: "flag", "data-flag": f.code }, el("b", { text: f.code }), `: ${f.message}`));
  if (!h.flags.length) flags.append(el("li", { text: "no flags" }));
  clear($("#mileage-chart")).append(lineChart(h.readings.map((r) => ({ x: r.at, y: r.km, flagged: r.implausible })), { title: "odometer (km)", unit: " km" }));
  const table = el("table", {}, el("tr", {}, ["when", "event", "summary", "tx"].map((x) => el("th", { text: x }))));
  for (const e of h.timeline) table.append(el("tr", { "data-event": e.event }, el("td", { text: iso(e.at) }), el("td", { text: e.event }), el("td", { text: e.summary }), el("td", { class: "mono", title: e.tx_hash, text: short(e.tx_hash, 10) })));
  clear($("#timeline")).append(table);
  const compare = clear($("#compare"));
  if (h.vehicle) {
    const server = await api(`/vehicles/${vin}/history`);
    const check = await verifyReport(c, server);
    compare.append(el("p", { class: `verdict ${check.verdict}`, text: check.valid ? "the server's report says what the chain says" : "the server's report differs from the chain" }), checkList(check.checks));
  }
  status($("#status"), "", "ok");
}));

const q = new URLSearchParams(location.search).get("vin");
if (q) {
  $("#vin").value = q;
  $("#lookup").click();
}
