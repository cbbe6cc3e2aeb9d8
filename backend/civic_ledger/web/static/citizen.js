// The citizen's page: key, sign-in, the booth (choose → review → sign → receipt), vote change, receipt
// checks, results, credentials (show, disclose, present as file and QR), mileage, labour weeks.
import { getAddress, hexlify, randomBytes } from "ethers";
import qrcode from "qrcode";
import { addressWord, word } from "./lib/chain.js";
import { claimsOf, present, qrText, verifyCredential, withhold } from "./lib/credential.js";
import { t } from "./lib/i18n.js";
import { startPage } from "./lib/page.js";
import { $, action, api, barChart, checkList, clear, download, el, iso, short, status } from "./lib/ui.js";
import { checkBallotDraft, checkReceipt, checkServerReceipt, commitment, encodeChoice, recount } from "./lib/voting.js";
import * as W from "./lib/wallet.js";

const chain = startPage({ onTrustChange: () => refresh() });
const wallet = W.wallet;
const RECEIPTS = "civic.receipts";
const CREDS = "civic.credentials";
const receipts = () => JSON.parse(localStorage.getItem(RECEIPTS) || "[]");
const credentials = () => JSON.parse(localStorage.getItem(CREDS) || "[]");

// -- key --------------------------------------------------------------------------------------
function showWallet() {
  const stored = W.storedKeystore();
  $("#wallet-locked").hidden = !!wallet.signer;
  $("#wallet-open").hidden = !wallet.signer;
  $("#stored-note").hidden = !stored;
  $("#forget").hidden = !stored;
  if (stored) $("#stored-address").textContent = stored.address ?? "";
  if (wallet.signer) $("#address").textContent = wallet.signer.address;
  $("#signin").hidden = !!wallet.token;
  $("#signout").hidden = !wallet.token;
  const c = wallet.me && wallet.me.citizen;
  $("#who").textContent = !wallet.me ? "" : c ? `citizen #${c.citizen_id} · ${c.district.name_ko} ${c.district.name} · ${c.age_band} · ${c.status}` : t("wallet.notcitizen");
}
W.onChange(() => { showWallet(); refresh(); });

const ws = $("#wallet-status");
$("#unlock").addEventListener("click", action(ws, async () => {
  const file = $("#keystore-file").files[0];
  const stored = W.storedKeystore();
  const json = file ? await file.text() : stored && stored.json;
  if (!json) throw new Error("choose a keystore file (or create a key)");
  status(ws, "…");
  await W.unlock(json, $("#password").value, { keep: !!file });
  $("#password").value = "";
  status(ws, "unlocked", "ok");
}));
$("#create").addEventListener("click", action(ws, async () => {
  status(ws, "…");
  await W.create($("#password").value);
  $("#password").value = "";
  status(ws, `new key ${wallet.signer.address}: give this address to a registrar to be registered`, "ok");
}));
$("#forget").addEventListener("click", () => { W.forget(); status(ws, "forgotten"); });
$("#lock").addEventListener("click", () => W.lock());
$("#signin").addEventListener("click", action(ws, async () => { await W.signIn(); status(ws, "signed in", "ok"); }));
$("#signout").addEventListener("click", action(ws, async () => { await W.signOut(); status(ws, "signed out"); }));
$("#export").addEventListener("click", () => {
  const stored = W.storedKeystore();
  if (stored) download(`keystore-${wallet.signer.address}.json`, stored.json);
  else status(ws, "this key was opened from a file: you have it already");
});

// -- polls and the booth ------------------------------------------------------------------------
function eligible(poll, citizen) {
  if (!["public", "sealed"].includes(poll.secrecy)) return { ok: false, why: `${poll.secrecy} poll: this booth does not encrypt ballots yet; vote with the CLI` };
  if (poll.eligibility === "census") return { ok: false, why: "census poll: vote with the CLI (it needs your Merkle proof)" };
  if (!citizen) return { ok: false, why: t("wallet.notcitizen") };
  if (!citizen.active) return { ok: false, why: `your identity is ${citizen.status}` };
  if (poll.districts.length && !poll.districts.includes(citizen.district.code)) return { ok: false, why: "not for your district" };
  if (poll.min_birth_year && citizen.birth_year < poll.min_birth_year) return { ok: false, why: "outside the age band" };
  if (poll.max_birth_year && citizen.birth_year > poll.max_birth_year) return { ok: false, why: "outside the age band" };
  return { ok: true };
}

async function myBallot(c, pollId) {
  if (!wallet.signer) return null;
  const logs = await c.events("MVoting", { topics: [c.topic("MVoting", "BallotCast"), word(pollId), addressWord(wallet.signer.address)] });
  return logs.length ? logs[logs.length - 1] : null;
}

function rulesText(p) {
  const window = `${iso(p.opens_at)} – ${iso(p.closes_at)}`;
  const who = p.eligibility === "all_citizens" ? "all citizens" : p.eligibility === "districts" ? `districts ${p.districts.join(", ")}` : p.eligibility === "age_band" ? `born ${p.min_birth_year || "…"}–${p.max_birth_year || "…"}${p.districts.length ? `, districts ${p.districts.join(", ")}` : ""}` : "census";
  return `${p.ballot_type}${p.ballot_type !== "single" ? ` (up to ${p.max_choices})` : ""} · ${p.secrecy} · ${who} · ${window}`;
}

// Renders started earlier (a refresh on sign-in, the one after a ballot) can finish later: only the
// newest one may replace the list, so an answer read before a ballot was mined never hides it.
let pollsRender = 0;
async function showPolls() {
  const render = ++pollsRender;
  const list = $("#poll-list");
  const polls = await api("/voting/polls?status=open");
  const c = await chain();
  const items = [];
  const citizen = wallet.me && wallet.me.citizen;
  for (const p of polls) {
    const e = eligible(p, citizen);
    if (!e.ok && citizen) continue; // only the polls this citizen may vote in
    const mine = e.ok ? await myBallot(c, p.poll_id) : null;
    const item = el("div", { class: "poll", "data-poll": p.poll_id },
      el("strong", { text: `#${p.poll_id} ${p.question}` }), el("div", { class: "muted", text: rulesText(p) }),
      mine ? el("div", { class: "muted", text: `you voted (version ${mine.args.version}, block ${mine.block})` }) : null,
      e.ok ? el("button", { class: "vote", "data-poll": p.poll_id, onclick: action($("#booth-status"), () => openBooth(p, mine)) }, mine ? t("polls.change") : t("polls.vote")) : el("div", { class: "muted", text: e.why }),
      el("a", { href: `/polls/${p.poll_id}`, text: "poll page" }));
    items.push(item);
  }
  if (render !== pollsRender) return;
  if (!items.length) items.push(el("p", { class: "muted", text: t("polls.none") }));
  list.replaceChildren(...items);
}

let booth = null;
function step(name) {
  for (const s of ["choose", "review", "sign", "receipt"]) $(`#step-${s}`).className = s === name ? "on" : "";
}

function openBooth(p, mine) {
  booth = { poll: p, mine };
  $("#booth").hidden = false;
  $("#booth-question").textContent = `#${p.poll_id} ${p.question}`;
  $("#booth-rules").textContent = rulesText(p);
  $("#booth-secrecy").textContent = p.secrecy === "public" ? t("booth.public") : t("booth.sealed");
  $("#booth-review").hidden = true;
  $("#booth-receipt").hidden = true;
  status($("#booth-status"), mine ? `your ballot version ${mine.args.version} is on chain: a new one replaces it until close` : "");
  const box = clear($("#booth-choose"));
  box.hidden = false;
  step("choose");
  const type = p.ballot_type === "single" ? "radio" : p.ballot_type === "approval" ? "checkbox" : "number";
  for (const o of p.options) {
    const input = type === "number"
      ? el("input", { type: "number", min: 1, max: p.max_choices, name: "rank", "data-option": o.index, "aria-label": `rank of ${o.text}`, style: "width:4rem" })
      : el("input", { type, name: "opt", value: o.index });
    box.append(el("label", { class: "option" }, input, el("span", { text: o.text })));
  }
  if (type === "number") box.append(el("p", { class: "muted", text: "write 1 for your first choice, 2 for the next…" }));
  box.append(el("button", { id: "booth-next", onclick: action($("#booth-status"), review) }, t("booth.next")));
  $("#booth").scrollIntoView();
}

function chosen() {
  const p = booth.poll;
  if (p.ballot_type === "ranked") {
    return [...document.querySelectorAll("#booth-choose input[name=rank]")].filter((i) => i.value).map((i) => [Number(i.value), Number(i.dataset.option)]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  }
  return [...document.querySelectorAll("#booth-choose input[name=opt]:checked")].map((i) => Number(i.value));
}

async function review() {
  const p = booth.poll;
  const options = chosen();
  const choice = encodeChoice(p.ballot_type, options, p.options.length, p.max_choices);
  booth.options = options;
  booth.choice = choice;
  $("#booth-choose").hidden = true;
  step("review");
  const box = clear($("#booth-review"));
  box.hidden = false;
  box.append(el("p", {}, "You are voting for: "), el("ol", { id: "review-list" }, options.map((o) => el("li", { text: p.options[o].text }))));
  box.append(el("p", { class: "muted", text: `signed with ${wallet.signer.address} in this browser; the server only receives the signature` }));
  box.append(el("button", { id: "booth-back", class: "secondary", onclick: () => openBooth(p, booth.mine) }, t("booth.back")));
  box.append(el("button", { id: "booth-cast", onclick: action($("#booth-status"), cast) }, t("booth.cast")));
}

async function cast() {
  const p = booth.poll;
  const c = await chain();
  await c.requireTrust("MVoting");
  step("sign");
  $("#booth-cast").disabled = true;
  const voter = wallet.signer.address;
  const draft = { voter };
  let secret = null;
  let commit = undefined;
  if (p.secrecy === "sealed") {
    const salt = hexlify(randomBytes(32));
    commit = commitment(p.poll_id, voter, booth.choice, salt);
    draft.commitment = commit;
    secret = { choice: booth.choice.toString(), options: booth.options, salt };
  } else draft.options = booth.options;
  const td = await api(`/voting/polls/${p.poll_id}/ballots/typed-data`, { method: "POST", body: draft });
  const digest = checkBallotDraft(c, td, { pollId: p.poll_id, voter, choice: p.secrecy === "sealed" ? 0n : booth.choice, commitment: commit });
  const signature = await W.signTypedData(td.typed_data);
  const body = { ...td.fields, signature };
  if (secret) localStorage.setItem(sealedKey(c, p.poll_id, voter), JSON.stringify({ ...secret, version: body.version }));
  status($("#booth-status"), "sending…");
  const rec = await api(`/voting/polls/${p.poll_id}/ballots`, { method: "POST", body });
  const saved = { version: 1, poll_id: p.poll_id, ballot_hash: digest, ballot: body, server_receipt: rec.server_receipt, tx_hash: rec.tx_hash, block_number: rec.block_number };
  localStorage.setItem(RECEIPTS, JSON.stringify([saved, ...receipts()]));
  step("receipt");
  const box = clear($("#booth-receipt"));
  box.hidden = false;
  const sr = checkServerReceipt(c, digest, rec.server_receipt);
  box.append(
    el("p", { class: "verdict valid", text: `${t("booth.accepted")} (version ${rec.version})` }),
    el("p", {}, "receipt: ", el("span", { id: "receipt-hash", class: "mono", text: rec.ballot_hash })),
    el("p", { class: "muted", text: `tx ${rec.tx_hash} · block ${rec.block_number} · ${sr.detail}` }),
    el("button", { id: "booth-check", onclick: action($("#booth-status"), () => showReceipt(rec.ballot_hash, box)) }, t("booth.check")),
    el("button", { class: "secondary", onclick: () => download(`ballot-${digest}.json`, JSON.stringify(saved, null, 2)) }, t("booth.download")),
  );
  status($("#booth-status"), "", "ok");
  $("#booth-review").hidden = true;
  showMyBallots();
  showPolls();
}

const sealedKey = (c, pollId, voter) => `civic.sealed:${c.chainId}:${c.address("MVoting")}:${pollId}:${getAddress(voter)}`;

async function showReceipt(hash, where) {
  const c = await chain();
  const trust = await c.trust("MVoting");
  const r = await checkReceipt(c, hash.trim());
  const old = where.querySelector(".receipt-report");
  if (old) old.remove();
  const ok = r.found && r.checks.every((x) => x.ok) && trust.every((x) => x.ok);
  const verdict = !r.found ? "not on chain" : r.current ? "on chain, signed by the voter, current: counted" : "on chain, signed by the voter, replaced by a later version";
  where.append(el("div", { class: "receipt-report", "data-found": String(r.found), "data-current": String(!!r.current) },
    el("p", { class: `verdict ${r.found ? "valid" : "invalid"}`, text: verdict }), checkList([...trust, ...r.checks]), ok ? null : null));
}
$("#receipt-check").addEventListener("click", action($("#receipt-result"), () => showReceipt($("#receipt-input").value, clear($("#receipt-result")))));

function showMyBallots() {
  const box = clear($("#my-ballots"));
  const mine = receipts().filter((r) => !wallet.signer || getAddress(r.ballot.voter) === wallet.signer.address);
  if (!mine.length) box.append("—");
  for (const r of mine) {
    box.append(el("div", { class: "mono" }, `poll ${r.poll_id} v${r.ballot.version} ${short(r.ballot_hash, 14)} `,
      el("button", { class: "secondary", onclick: () => { $("#receipt-input").value = r.ballot_hash; $("#receipt-check").click(); } }, t("receipt.check"))));
  }
}

async function showClosed() {
  const box = clear($("#closed-list"));
  const polls = [...(await api("/voting/polls?status=revealing")), ...(await api("/voting/polls?status=closed&limit=20")), ...(await api("/voting/polls?status=finalized&limit=20"))];
  const c = await chain();
  if (!polls.length) box.append("—");
  for (const p of polls) {
    const item = el("div", { class: "poll", "data-poll": p.poll_id }, el("strong", { text: `#${p.poll_id} ${p.question}` }), el("span", { class: "muted", text: ` · ${p.status}` }), " ", el("a", { href: `/polls/${p.poll_id}`, text: t("polls.results") }));
    if (wallet.signer && p.status === "revealing") {
      const secret = localStorage.getItem(sealedKey(c, p.poll_id, wallet.signer.address));
      if (secret) {
        item.append(el("button", { onclick: action(box, async () => {
          const s = JSON.parse(secret);
          await api(`/voting/polls/${p.poll_id}/reveals`, { method: "POST", body: { voter: wallet.signer.address, choice: s.choice, salt: s.salt } });
          item.append(el("span", { class: "muted", text: " revealed" }));
        }) }, "Reveal my sealed ballot"));
      }
    }
    if (p.finalized) {
      const rc = await recount(c, p.poll_id, { signatures: false });
      item.append(barChart(p.options.map((o, i) => ({ label: o.text, value: rc.counts[i] })), { title: rc.matches ? "recounted in this browser = published" : "recount differs from the published result" }));
    }
    box.append(item);
  }
}

// -- credentials --------------------------------------------------------------------------------
const cs = $("#credential-status");
$("#credential-file").addEventListener("change", action(cs, async (ev) => {
  const doc = JSON.parse(await ev.target.files[0].text());
  if (!doc.proof || !doc.proof.eip712) throw new Error("not a credential document");
  localStorage.setItem(CREDS, JSON.stringify([doc, ...credentials().filter((d) => d.id !== doc.id)]));
  ev.target.value = "";
  showCredentials();
}));

function showCredentials() {
  const box = clear($("#credential-list"));
  for (const doc of credentials()) {
    const claims = claimsOf(doc);
    const report = el("div", { class: "report" });
    const qr = el("div", { class: "qr" });
    const keepBoxes = claims.map((c) => el("input", { type: "checkbox", checked: true, value: c.name }));
    const audience = el("input", { type: "text", placeholder: t("creds.audience"), class: "audience" });
    const nonce = el("input", { type: "text", placeholder: t("creds.nonce"), class: "nonce mono" });
    const selected = () => withhold(doc, keepBoxes.filter((b) => b.checked).map((b) => b.value));
    box.append(el("div", { class: "poll credential", "data-id": doc.id },
      el("strong", { text: doc.credentialSchema?.id?.split(":").pop()?.slice(0, 12) + "… " + short(doc.id.split(":").pop(), 12) }),
      el("div", { class: "muted", text: `issuer ${short(doc.issuer?.id?.split(":").pop(), 12)} · valid from ${doc.validFrom}${doc.validUntil ? ` until ${doc.validUntil}` : ""}` }),
      el("ul", {}, claims.map((c, i) => el("li", {}, el("label", { "data-claim": c.name }, keepBoxes[i], ` ${c.name}: ${JSON.stringify(c.value)}`)))),
      el("button", { class: "secondary check", onclick: action(cs, async () => { const r = await verifyCredential(await chain(), doc); clear(report).append(el("p", { class: `verdict ${r.verdict}`, text: r.verdict }), checkList(r.checks)); }) }, "Check on the chain"),
      el("button", { class: "secondary", onclick: () => download("credential-disclosed.json", JSON.stringify(selected(), null, 2)) }, t("creds.disclose")),
      el("div", { class: "row" }, audience, nonce,
        el("button", { class: "present", onclick: action(cs, async () => {
          if (!audience.value || nonce.value.length < 8) throw new Error("enter the verifier's audience and nonce (8+ characters)");
          const vp = await present(W.requireSigner(), selected(), audience.value, nonce.value);
          download("presentation.json", JSON.stringify(vp, null, 2));
          const text = await qrText(vp);
          clear(qr);
          try {
            const code = qrcode(0, "L");
            code.addData(text);
            code.make();
            qr.innerHTML = code.createSvgTag({ cellSize: 3, margin: 2, scalable: true });
          } catch {
            qr.append(el("p", { class: "muted", text: "too large for a QR code: give the file (withhold claims to shrink it)" }));
          }
        }) }, t("creds.present"))),
      qr, report));
    report.className = "report";
  }
}

// -- mileage and labour ----------------------------------------------------------------------------
async function showMileage() {
  const box = clear($("#mileage-body"));
  const citizen = wallet.me && wallet.me.citizen;
  if (!citizen) return box.append("—");
  const c = await chain();
  const [bal, st] = await Promise.all([api(`/mileage/balances/${citizen.account}`), api(`/mileage/reports/statements/${citizen.account}`)]);
  const onChain = await c.view("CivicMileage", "pointsOf", [citizen.citizen_id]);
  const same = Number(onChain[0]) === Number(bal.balance);
  box.append(el("p", { class: "verdict", id: "mileage-balance", text: `${t("mileage.balance")}: ${Number(bal.balance).toLocaleString()} P` }),
    el("p", { class: "muted", text: `chain pointsOf: ${onChain[0]} (${same ? "agrees" : "DIFFERS"}) · epoch ${bal.current_epoch} · expired ${st.expired}` }));
  const table = el("table", {}, el("tr", {}, ["block", "kind", "epoch", "amount"].map((h) => el("th", { text: h }))));
  for (const e of st.entries) table.append(el("tr", {}, el("td", { text: e.block_number }), el("td", { text: e.kind }), el("td", { text: e.epoch }), el("td", { text: e.amount })));
  box.append(table);
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
async function showLabour() {
  const box = clear($("#labour-body"));
  if (!wallet.signer) return box.append("—");
  const contracts = (await api(`/labor/contracts?party=${wallet.signer.address}`)).filter((k) => getAddress(k.terms.worker) === wallet.signer.address);
  if (!contracts.length) return box.append("—");
  for (const k of contracts) {
    const [weeks, comp] = await Promise.all([api(`/labor/contracts/${k.contract_id}/weeks`), api(`/labor/contracts/${k.contract_id}/compliance`)]);
    const item = el("div", { class: "poll", "data-contract": k.contract_id }, el("strong", { text: `${short(k.contract_id, 12)} · ₩${k.terms.hourly_wage}/h` }));
    const table = el("table", {}, el("tr", {}, ["week", "minutes", "status", ""].map((h) => el("th", { text: h }))));
    for (const w of weeks) {
      const cell = el("td");
      if (w.status === "recorded") {
        cell.append(el("button", { class: "secondary", onclick: action(box, async () => {
          const td = await api(`/labor/contracts/${k.contract_id}/weeks/${w.week_start}/confirm/typed-data`, { method: "POST", body: {} });
          const signature = await W.signTypedData(td.typed_data);
          await api(`/labor/contracts/${k.contract_id}/weeks/${w.week_start}/confirm`, { method: "POST", body: { deadline: td.deadline, signature } });
          showLabour();
        }) }, t("labour.confirm")), el("button", { class: "secondary", onclick: action(box, async () => {
          const minutes = Number(prompt("minutes you worked that week", String(w.minutes_worked)));
          const reason = prompt("why (kept off chain, only its hash is recorded)") || "";
          const body = { claimed_minutes: minutes, claimed_days: DAYS.filter((d, i) => w.days_worked.includes(d) || w.days_worked.includes(i)), reason };
          const td = await api(`/labor/contracts/${k.contract_id}/weeks/${w.week_start}/dispute/typed-data`, { method: "POST", body });
          const signature = await W.signTypedData(td.typed_data);
          await api(`/labor/contracts/${k.contract_id}/weeks/${w.week_start}/dispute`, { method: "POST", body: { ...body, deadline: td.deadline, signature } });
          showLabour();
        }) }, t("labour.dispute")));
      }
      table.append(el("tr", {}, el("td", { text: w.week_start }), el("td", { text: w.minutes_worked }), el("td", { text: w.status }), cell));
    }
    item.append(table, el("h3", { text: `findings: ₩${comp.total_amount_owed} owed` }), el("ul", {}, comp.findings.map((f) => el("li", { text: `${f.kind} (${f.legal_basis}) ${f.period_start}–${f.period_end}: ₩${f.amount_owed}` }))));
    box.append(item);
  }
}

let refreshing = null;
async function refresh() {
  const s = $("#status");
  const run = async () => {
    try {
      await showPolls();
      showMyBallots();
      showCredentials();
      await showClosed();
      await showMileage();
      await showLabour();
      status(s, "");
    } catch (err) {
      status(s, err.message || String(err), "error");
    }
  };
  refreshing = (refreshing || Promise.resolve()).then(run);
  return refreshing;
}

showWallet();
refresh();
window.civic = { wallet, refresh };
