// The public page of one poll: rules, window, turnout, results chart, and a recount from chain logs.
import { startPage } from "./lib/page.js";
import { $, action, api, barChart, checkList, clear, el, iso, status } from "./lib/ui.js";
import { recount } from "./lib/voting.js";

const chain = startPage();
const pollId = Number(location.pathname.split("/").pop());

async function show() {
  const p = await api(`/voting/polls/${pollId}`);
  $("#question").textContent = `#${p.poll_id} ${p.question}`;
  $("#rules").textContent = `${p.ballot_type}${p.ballot_type !== "single" ? ` (up to ${p.max_choices})` : ""} · ${p.secrecy} · ${p.eligibility}${p.districts.length ? ` ${p.districts.join(", ")}` : ""} · ${p.status}`;
  $("#window").textContent = `${iso(p.opens_at)} – ${iso(p.closes_at)}${p.secrecy === "sealed" ? ` · reveal until ${iso(p.reveal_ends_at)}` : ""}`;
  $("#turnout").textContent = p.eligible_count ? `${p.ballots} / ${p.eligible_count} (${((100 * p.ballots) / p.eligible_count).toFixed(1)}%)` : `${p.ballots} ballots (electorate size not published)`;
  const chart = clear($("#chart"));
  if (p.secrecy === "sealed" && !["closed", "finalized", "revealing"].includes(p.status)) {
    chart.append(el("p", { class: "muted", text: "sealed poll: no tally until close" }));
    return null;
  }
  const r = await api(`/voting/polls/${pollId}/results`);
  chart.append(barChart(r.options.map((o) => ({ label: o.text, value: o.count })), { title: `published (${r.source})` }));
  chart.dataset.counts = JSON.stringify(r.options.map((o) => o.count));
  return r;
}

$("#recount").addEventListener("click", action($("#recount-verdict"), async () => {
  status($("#recount-verdict"), "recounting from chain logs…");
  const published = await show();
  const c = await chain();
  const trust = await c.trust("MVoting", "CitizenRegistry");
  const rc = await recount(c, pollId);
  const checks = [...trust, ...rc.checks];
  if (published) {
    const same = JSON.stringify(rc.counts) === JSON.stringify(published.options.map((o) => o.count));
    checks.push({ name: "api", ok: same, detail: `recounted [${rc.counts}] vs the server's /results [${published.options.map((o) => o.count)}]` });
  }
  const ok = checks.every((x) => x.ok !== false);
  const v = $("#recount-verdict");
  v.textContent = ok ? `recount matches: [${rc.counts}] from ${rc.ballots} voters, ${rc.counted} counted` : `recount does NOT match: [${rc.counts}]`;
  v.className = `verdict ${ok ? "valid" : "invalid"}`;
  v.dataset.matches = ok;
  v.dataset.counts = JSON.stringify(rc.counts);
  clear($("#recount-checks")).append(checkList(checks));
}));

show().catch((err) => status($("#status"), err.message, "error"));
