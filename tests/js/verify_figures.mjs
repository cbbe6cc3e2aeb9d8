// An outsider's verifier of every figure docs/verification.md lists, written from that document alone:
// ethers v6 (and OpenZeppelin's @openzeppelin/merkle-tree for the trees of section 3.2), reading only a
// JSON-RPC URL and the deployment manifest (addresses and ABIs). Nothing of the server is used but /rpc.
//
// Usage: node verify_figures.mjs RPC_URL MANIFEST_JSON_PATH
// Prints one JSON object: {chainId, head, checks: [{area, name, ok, detail}], identity, voting,
// credentials, payments, mileage, labour, notary}. Every figure is recomputed from events and, where the
// doc names one, compared with the contract's view at the same block (a failed comparison is a check
// with ok=false; the figures themselves are printed for the caller to compare with anything else).
import { readFileSync } from "node:fs";
import { AbiCoder, Contract, Interface, JsonRpcProvider, TypedDataEncoder, concat, getAddress, keccak256, recoverAddress, toUtf8Bytes } from "ethers";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const [rpcUrl, manifestPath] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const coder = AbiCoder.defaultAbiCoder();
const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
const MAX_LOG_BLOCKS = 10_000; // section 2: one eth_getLogs spans at most rpc_max_log_blocks blocks

const checks = [];
const check = (area, name, ok, detail = "") => checks.push({ area, name, ok: Boolean(ok), detail: String(detail) });
const eq = (a, b) => JSON.stringify(a, big) === JSON.stringify(b, big);
const big = (_k, v) => (typeof v === "bigint" ? v.toString() : v);
const n = (v) => Number(v);
const s = (v) => v.toString();

// -- section 1: the trusted deployment, checked against the node; everything is read at one block ---------
const chainId = (await provider.getNetwork()).chainId;
check("deployment", "chain_id", chainId === BigInt(manifest.chain_id), `node ${chainId}, manifest ${manifest.chain_id}`);
const head = await provider.getBlockNumber();
const at = { blockTag: head };
const C = {};
for (const [name, entry] of Object.entries(manifest.contracts)) {
  const code = await provider.getCode(entry.address, head);
  check("deployment", `code_hash ${name}`, keccak256(code) === entry.code_hash, entry.address);
  C[name] = { c: new Contract(entry.address, entry.abi, provider), iface: new Interface(entry.abi), entry };
}
const view = (name, fn, ...args) => C[name].c.getFunction(fn).staticCall(...args, at);

// Every event of a contract from its deploy block to `head`, decoded with the manifest's ABI, in log order.
async function events(name) {
  const { iface, entry } = C[name];
  const out = [];
  for (let from = entry.block; from <= head; from += MAX_LOG_BLOCKS) {
    const to = Math.min(from + MAX_LOG_BLOCKS - 1, head);
    for (const log of await provider.getLogs({ address: entry.address, fromBlock: from, toBlock: to })) {
      const parsed = iface.parseLog(log);
      if (parsed) out.push({ name: parsed.name, args: parsed.args, keys: new Set(parsed.fragment.inputs.map((i) => i.name)), block: log.blockNumber, index: log.index, tx: log.transactionHash });
    }
  }
  out.sort((a, b) => a.block - b.block || a.index - b.index);
  return out;
}

// ---------------------------------------------------------------- 4. identity
async function identity() {
  const count = n(await view("CitizenRegistry", "citizenCount"));
  const replay = {};
  for (const e of await events("CitizenRegistry")) {
    const a = e.args;
    if (!e.keys.has("citizenId")) continue; // role grants and other governance events
    const id = s(a.citizenId);
    if (e.name === "CitizenRegistered" || e.name === "CitizenUpdated") {
      replay[id] = { ...(replay[id] ?? { status: 1, suspensionReason: 0 }), account: a.account, district: n(a.district), birthYear: n(a.birthYear), residency: n(a.residency), recordHash: a.recordHash };
      if (e.name === "CitizenRegistered") replay[id].registeredBlock = e.block;
    } else if (e.name === "CitizenSuspended") Object.assign(replay[id], { status: 2, suspensionReason: n(a.reason) });
    else if (e.name === "CitizenReinstated") Object.assign(replay[id], { status: 1, suspensionReason: 0 });
    else if (e.name === "CitizenKeyRotated") {
      replay[id].account = a.newAccount;
      (replay[id].retired ??= []).push(a.oldAccount);
    }
  }
  const citizens = [];
  for (let id = 1; id <= count; id++) {
    const v = await view("CitizenRegistry", "citizenOf", id);
    const fig = { citizenId: id, account: v.account, status: n(v.status), district: n(v.district), birthYear: n(v.birthYear), residency: n(v.residency), suspensionReason: n(v.suspensionReason), recordHash: v.recordHash, registeredAt: n(v.registeredAt) };
    const r = replay[s(id)] ?? {};
    const fromEvents = { account: r.account, status: r.status, district: r.district, birthYear: r.birthYear, residency: r.residency, suspensionReason: r.suspensionReason, recordHash: r.recordHash };
    const fromView = { account: fig.account, status: fig.status, district: fig.district, birthYear: fig.birthYear, residency: fig.residency, suspensionReason: fig.suspensionReason, recordHash: fig.recordHash };
    check("identity", `citizen ${id} history = citizenOf`, eq(fromEvents, fromView), JSON.stringify(fromEvents));
    const idOf = n(await view("CitizenRegistry", "citizenIdOf", fig.account));
    const active = await view("CitizenRegistry", "isActive", fig.account);
    const status = n(await view("CitizenRegistry", "statusOf", id));
    check("identity", `citizen ${id} citizenIdOf/isActive/statusOf`, idOf === id && active === (fig.status === 1) && status === fig.status, `${idOf} ${active} ${status}`);
    for (const old of r.retired ?? []) {
      check("identity", `citizen ${id} retired ${old}`, n(await view("CitizenRegistry", "retiredCitizenIdOf", old)) === id);
    }
    fig.retired = r.retired ?? [];
    fig.active = active;
    citizens.push(fig);
  }
  check("identity", "citizenCount = registrations", count === Object.keys(replay).length, count);
  return { citizenCount: count, citizens };
}

// ---------------------------------------------------------------- 5. voting
const BALLOT_TYPES = {
  Ballot: [
    { name: "pollId", type: "uint256" },
    { name: "voter", type: "address" },
    { name: "choice", type: "uint256" },
    { name: "commitment", type: "bytes32" },
    { name: "version", type: "uint32" },
    { name: "deadline", type: "uint256" },
  ],
};
const BALLOT_TYPE = ["Single", "Approval", "Ranked"];
const SECRECY = ["Public", "Sealed"];
const ELIGIBILITY = ["AllCitizens", "Districts", "AgeBand", "Census"];

function addToTally(counts, ballotType, choice, maxChoices) {
  const c = BigInt(choice);
  if (ballotType === "Single") counts[n(c)] += 1;
  else if (ballotType === "Approval") {
    for (let i = 0; i < counts.length; i++) if ((c >> BigInt(i)) & 1n) counts[i] += 1;
  } else {
    for (let r = 0; r < 32; r++) {
      const b = n((c >> BigInt(8 * r)) & 0xffn);
      if (b === 0) break;
      counts[b - 1] += maxChoices - r; // Borda: rank r (0-based) gets maxChoices − r points
    }
  }
}

async function voting() {
  const v = C.MVoting;
  const domain = { name: "MVoting", version: "1", chainId, verifyingContract: getAddress(v.entry.address) };
  const all = await events("MVoting");
  const count = n(await view("MVoting", "pollCount"));
  const txCache = {};
  const polls = [];
  for (let pollId = 1; pollId <= count; pollId++) {
    const p = await view("MVoting", "getPoll", pollId);
    const mine = all.filter((e) => e.keys.has("pollId") && n(e.args.pollId) === pollId);
    const created = mine.find((e) => e.name === "PollCreated");
    const question = created.args.question;
    const options = [...created.args.options];
    check("voting", `poll ${pollId} questionHash`, keccak256(toUtf8Bytes(question)) === p.questionHash);
    check("voting", `poll ${pollId} optionsHash`, keccak256(concat(options.map((o) => keccak256(toUtf8Bytes(o))))) === p.optionsHash);
    const ballotType = BALLOT_TYPE[n(p.ballotType)];
    const secrecy = SECRECY[n(p.secrecy)];
    const eligibility = ELIGIBILITY[n(p.eligibility)];
    const maxChoices = n(p.maxChoices);
    // each voter key counts once, with its BallotCast of the highest version
    const current = new Map();
    const casts = mine.filter((e) => e.name === "BallotCast");
    for (const e of casts) {
      const key = s(e.args.citizenId);
      if (!current.has(key) || n(e.args.version) > n(current.get(key).args.version)) current.set(key, e);
    }
    const reveals = new Map(mine.filter((e) => e.name === "BallotRevealed").map((e) => [s(e.args.citizenId), e]));
    const counts = options.map(() => 0);
    let counted = 0;
    for (const [key, e] of current) {
      let choice = e.args.choice;
      if (secrecy === "Sealed") {
        const r = reveals.get(key);
        if (!r) continue;
        const commitment = keccak256(coder.encode(["uint256", "address", "uint256", "bytes32"], [pollId, e.args.voter, r.args.choice, r.args.salt]));
        if (commitment !== e.args.commitment) continue;
        choice = r.args.choice;
      }
      addToTally(counts, ballotType, choice, maxChoices);
      counted += 1;
    }
    const finalized = mine.find((e) => e.name === "PollFinalized");
    let published = null;
    let source = null;
    if (finalized) {
      published = { counts: [...finalized.args.counts].map(n), ballots: n(finalized.args.ballots), counted: n(finalized.args.counted) };
      source = "PollFinalized";
    } else {
      try {
        const t = await view("MVoting", "tallyOf", pollId);
        published = { counts: [...t.counts].map(n), ballots: n(p.ballots), counted: n(t.counted) };
        source = "tallyOf";
      } catch (err) {
        source = `tallyOf reverted: ${v.iface.parseError(err.data)?.name ?? err.shortMessage}`; // sealed before close
      }
    }
    const ballots = current.size;
    check("voting", `poll ${pollId} ballots = getPoll.ballots`, ballots === n(p.ballots), `${ballots} ${p.ballots}`);
    if (published) {
      check("voting", `poll ${pollId} recount = ${source}`, eq(counts, published.counts) && counted === published.counted && ballots === published.ballots, `${counts} vs ${published.counts}`);
    }
    // signatures: every BallotCast re-checked from its transaction's calldata (cast / castBatch)
    const signatures = [];
    for (const e of casts) {
      txCache[e.tx] ??= await provider.getTransaction(e.tx);
      const tx = txCache[e.tx];
      const call = v.iface.parseTransaction({ data: tx.data });
      const inputs = call.name === "castBatch" ? call.args.ballots : call.name === "cast" ? [call.args.ballot] : [];
      const b = inputs.find((x) => n(x.pollId) === pollId && x.voter === e.args.voter && n(x.version) === n(e.args.version));
      let row = { ballotHash: e.args.ballotHash, voter: e.args.voter, citizenId: s(e.args.citizenId), version: n(e.args.version), tx: e.tx, fn: call.name, ok: false };
      if (b && getAddress(tx.to) === getAddress(v.entry.address)) {
        const msg = { pollId: b.pollId, voter: b.voter, choice: b.choice, commitment: b.commitment, version: b.version, deadline: b.deadline };
        const digest = TypedDataEncoder.hash(domain, BALLOT_TYPES, msg);
        const recovered = recoverAddress(digest, b.signature);
        const fields = b.choice === e.args.choice && b.commitment === e.args.commitment;
        const block = await provider.getBlock(e.block);
        const inWindow = block.timestamp >= n(p.opensAt) && block.timestamp < n(p.closesAt) && block.timestamp <= n(b.deadline);
        let eligible = true;
        if (eligibility !== "Census") {
          // the registry as it was before the ballot's block (section 5: eligibility at that block)
          const el = await C.CitizenRegistry.c.eligibilityOf(b.voter, { blockTag: e.block - 1 });
          eligible = s(el.citizenId) === s(e.args.citizenId) && el.active;
        }
        row = { ...row, digest, recovered, digestOk: digest === e.args.ballotHash, signerOk: recovered === e.args.voter, fields, inWindow, eligible };
        row.ok = row.digestOk && row.signerOk && fields && inWindow && eligible;
      }
      check("voting", `poll ${pollId} ballot ${e.args.ballotHash} signature`, row.ok, JSON.stringify(row, big));
      signatures.push(row);
    }
    polls.push({ pollId, question, options, ballotType, secrecy, eligibility, maxChoices, counts, ballots, counted, finalized: p.finalized, source, published, signatures, current: [...current.values()].map((e) => e.args.ballotHash) });
  }
  return { pollCount: count, polls };
}

// ---------------------------------------------------------------- 6. credentials (anchored / revoked / suspended)
async function credentials() {
  const anchors = {};
  const status = {};
  for (const e of await events("CredentialRegistry")) {
    const a = e.args;
    if (e.name === "CredentialAnchored") anchors[a.anchorId] = { anchorId: a.anchorId, batch: false, count: 1, issuerId: a.issuerId, typeId: a.typeId, key: a.key, block: e.block };
    else if (e.name === "CredentialBatchAnchored") anchors[a.root] = { anchorId: a.root, batch: true, count: n(a.count), issuerId: a.issuerId, typeId: a.typeId, key: a.key, block: e.block };
    else if (["CredentialRevoked", "CredentialSuspended", "CredentialReinstated"].includes(e.name)) {
      const k = `${a.anchorId}/${a.position}`;
      status[k] ??= { revoked: false, suspended: false, revokedBy: null };
      if (e.name === "CredentialRevoked") Object.assign(status[k], { revoked: true, revokedBy: a.key });
      else status[k].suspended = e.name === "CredentialSuspended";
    }
  }
  const out = [];
  for (const anchor of Object.values(anchors)) {
    const info = await view("CredentialRegistry", "anchorOf", anchor.anchorId);
    const block = await provider.getBlock(anchor.block);
    check("credentials", `anchor ${anchor.anchorId} = anchorOf`, info.anchored && info.batch === anchor.batch && info.issuerId === anchor.issuerId && info.typeId === anchor.typeId && info.key === anchor.key && n(info.count) === anchor.count && n(info.anchoredAt) === block.timestamp);
    for (let position = 0; position < anchor.count; position++) {
      const st = status[`${anchor.anchorId}/${position}`] ?? { revoked: false, suspended: false, revokedBy: null };
      const suspended = st.suspended && !st.revoked; // revocation dominates (statusOf)
      const v = await view("CredentialRegistry", "statusOf", anchor.anchorId, position);
      check("credentials", `status ${anchor.anchorId}/${position} = statusOf`, v.exists && v.revoked === st.revoked && v.suspended === suspended);
      out.push({ ...anchor, anchoredAt: block.timestamp, position, revoked: st.revoked, suspended, revokedBy: st.revokedBy });
    }
  }
  return { anchors: out };
}

// ---------------------------------------------------------------- 7. payments and audit
const PURPOSES = { 1: "labour", 2: "subcontract", 3: "material", 4: "equipment", 5: "prime" };
async function payments() {
  const all = await events("SubcontractPayments");
  const escrow = getAddress(C.SubcontractPayments.entry.address);
  const projectIds = all.filter((e) => e.name === "ProjectRegistered").map((e) => n(e.args.projectId));
  const projects = [];
  const balanceOf = async (a) => n(await view("CivicWon", "balanceOf", a));
  const timeOf = {};
  const when = async (b) => (timeOf[b] ??= (await provider.getBlock(b)).timestamp);
  for (const projectId of projectIds) {
    const mine = all.filter((e) => e.keys.has("projectId") && n(e.args.projectId) === projectId);
    const buckets = {};
    for (const [code, name] of Object.entries(PURPOSES)) buckets[name] = { purpose: name, funded: 0, paid: 0, refunded: 0, balance: 0 };
    const payees = {};
    const payee = (a) => (payees[a] ??= { payee: a, claimed: 0, paid: 0, credited: 0, withdrawn: 0 });
    const evidence = {};
    const rows = [];
    let lateInterest = 0;
    for (const e of mine) {
      const a = e.args;
      const row = { block: e.block, tx: e.tx, log_index: e.index, event: e.name, payer: "", payee: "", purpose: e.keys.has("purpose") ? PURPOSES[n(a.purpose)] : "", amount: null, claim: e.keys.has("claimId") ? n(a.claimId) : null, line: null, interest: null, evidence: "", due: null };
      if (e.name === "ProjectRegistered") Object.assign(row, { payer: a.client, payee: a.prime, amount: n(a.contractAmount), evidence: a.projectRef });
      else if (e.name === "ParticipantRegistered") Object.assign(row, { payee: a.account, amount: n(a.contractAmount) });
      else if (e.name === "BucketFunded") {
        buckets[row.purpose].funded += n(a.amount);
        Object.assign(row, { payer: a.funder, payee: escrow, amount: n(a.amount) });
      } else if (e.name === "ClaimSubmitted") Object.assign(row, { payer: a.prime, amount: n(a.total) });
      else if (e.name === "ClaimLineAdded") {
        payee(a.payee).claimed += n(a.amount);
        evidence[`${a.claimId}/${a.line}`] = a.evidence;
        Object.assign(row, { payee: a.payee, amount: n(a.amount), line: n(a.line), evidence: a.evidence });
      } else if (e.name === "LinesConfirmed") row.payer = a.confirmer;
      else if (e.name === "ClaimApproved") row.payer = a.inspector;
      else if (e.name === "LinePaid" || e.name === "LineCredited") {
        buckets[row.purpose].paid += n(a.amount);
        payee(a.payee)[e.name === "LinePaid" ? "paid" : "credited"] += n(a.amount);
        lateInterest += n(a.interest);
        Object.assign(row, { payer: escrow, payee: a.payee, amount: n(a.amount), line: n(a.line), interest: n(a.interest), due: n(a.due), evidence: evidence[`${a.claimId}/${a.line}`] ?? "" });
        if (n(a.due) > 0) {
          // section 7: interest = floor(amount × 155 × (t − due) / (1000 × 365 × 86400)) when paid after due
          const t = await when(e.block);
          const expected = t > n(a.due) ? (a.amount * 155n * BigInt(t - n(a.due))) / (1000n * 365n * 86400n) : 0n;
          check("payments", `project ${projectId} claim ${a.claimId} line ${a.line} interest`, expected === a.interest, `${expected} vs ${a.interest}`);
        }
      } else if (e.name === "ClaimSettled") row.amount = n(a.total);
      else if (e.name === "DirectPaymentMade") Object.assign(row, { payer: a.client, line: n(a.line), evidence: evidence[`${a.claimId}/${a.line}`] ?? "" });
      else if (e.name === "CreditWithdrawn") {
        payee(a.payee).withdrawn += n(a.amount);
        Object.assign(row, { payer: escrow, payee: a.to, amount: n(a.amount) });
      } else if (e.name === "BucketRefunded") {
        buckets[row.purpose].refunded += n(a.amount);
        Object.assign(row, { payer: escrow, payee: a.client, amount: n(a.amount) });
      } else if (e.name === "ProjectClosed") Object.assign(row, { payee: a.client, amount: n(a.refunded) });
      rows.push(row);
    }
    for (const [code, name] of Object.entries(PURPOSES)) {
      const b = buckets[name];
      b.balance = b.funded - b.paid - b.refunded;
      const v = await view("SubcontractPayments", "bucketOf", projectId, n(code));
      check("payments", `project ${projectId} bucket ${name} = bucketOf`, eq([b.funded, b.paid, b.refunded, b.balance], [v.funded, v.paid, v.refunded, v.balance].map(n)), JSON.stringify(b));
    }
    const payeeRows = [];
    for (const p of Object.values(payees).sort((x, y) => (x.payee < y.payee ? -1 : 1))) {
      payeeRows.push({ ...p, outstanding: p.claimed - p.paid - p.credited, withdrawable_now: n(await view("SubcontractPayments", "withdrawableOf", p.payee)), token_balance: await balanceOf(p.payee) });
    }
    const list = Object.values(buckets);
    const totals = {
      funded: list.reduce((x, b) => x + b.funded, 0),
      paid: list.reduce((x, b) => x + b.paid, 0),
      refunded: list.reduce((x, b) => x + b.refunded, 0),
      balance: list.reduce((x, b) => x + b.balance, 0),
      claimed: payeeRows.reduce((x, p) => x + p.claimed, 0),
      late_interest: lateInterest,
    };
    const claims = mine.filter((e) => e.name === "ClaimSubmitted").map((e) => n(e.args.claimId));
    projects.push({ projectId, claims, buckets: list, payees: payeeRows, totals, rows });
  }
  // the escrow as a whole: CivicWon balanceOf(escrow) ≥ Σ bucket balances + totalWithdrawable()
  const sum = (names) => all.filter((e) => names.includes(e.name)).reduce((x, e) => x + n(e.args.amount), 0);
  const held = await balanceOf(escrow);
  const credits = n(await view("SubcontractPayments", "totalWithdrawable"));
  const fromEvents = sum(["BucketFunded"]) - sum(["LinePaid", "BucketRefunded", "CreditWithdrawn"]);
  const creditsFromEvents = sum(["LineCredited"]) - sum(["CreditWithdrawn"]);
  const bucketsTotal = projects.reduce((x, p) => x + p.totals.balance, 0);
  check("payments", "escrow balance ≥ Σ buckets + totalWithdrawable", held >= bucketsTotal + credits && creditsFromEvents === credits && fromEvents === bucketsTotal + credits, `${held} ${bucketsTotal} ${credits}`);
  return { projects, escrow: { balance_on_chain: held, balance_from_events: fromEvents, credits_on_chain: credits, credits_from_events: creditsFromEvents } };
}

// ---------------------------------------------------------------- 8. mileage
async function mileage() {
  const [origin, length, validity] = (await view("CivicMileage", "epochPolicy")).map(n);
  const current = n(await view("CivicMileage", "currentEpoch"));
  const headTime = (await provider.getBlock(head)).timestamp;
  check("mileage", "currentEpoch = floor((t − epochOrigin) / epochLength)", current === Math.floor((headTime - origin) / length), `${current}`);
  check("mileage", "epochOrigin = CivicMileage's deploy block time", origin === (await provider.getBlock(C.CivicMileage.entry.block)).timestamp);
  const citizens = {};
  const programs = {};
  const merchants = {};
  const who = (id) => (citizens[id] ??= { citizenId: n(id), awarded: 0, imported: 0, redeemed: 0, expired: 0, epochs: {} });
  const prog = (id) => (programs[id] ??= { program_id: n(id), name: "", awarded: 0, imported: 0, redeemed: 0, expired: 0, outstanding: 0 });
  const merchant = (id) => (merchants[id] ??= { merchant_id: n(id), redeemed: 0, settled: 0, unsettled: 0 });
  // lots per citizen and epoch: [{program, amount}] in log order; a credit of the epoch's last lot's program joins it
  const credit = (c, epoch, program, amount) => {
    const lots = (c.epochs[epoch] ??= []);
    const last = lots[lots.length - 1];
    if (last && last.program === program) last.amount += amount;
    else lots.push({ program, amount });
  };
  const take = (c, epoch, amount, field) => {
    const lots = c.epochs[epoch] ?? [];
    let left = amount;
    while (left > 0 && lots.length) {
      const used = Math.min(left, lots[0].amount);
      lots[0].amount -= used;
      prog(lots[0].program)[field] += used;
      left -= used;
      if (lots[0].amount === 0) lots.shift();
    }
    if (!lots.length) delete c.epochs[epoch];
    return left;
  };
  let unattributed = 0;
  for (const e of await events("CivicMileage")) {
    const a = e.args;
    if (e.name === "ProgramRegistered") prog(s(a.programId)).name = a.name;
    else if (e.name === "PointsAwarded") {
      who(s(a.citizenId)).awarded += n(a.amount);
      prog(s(a.programId)).awarded += n(a.amount);
      credit(who(s(a.citizenId)), n(a.epoch), s(a.programId), n(a.amount));
    } else if (e.name === "PointsAwardedBatch") {
      for (const word of a.awards) {
        const id = s(word >> 96n);
        const amount = n((word >> 64n) & 0xffffffffn);
        who(id).awarded += amount;
        prog(s(a.programId)).awarded += amount;
        credit(who(id), n(a.epoch), s(a.programId), amount);
      }
    } else if (e.name === "LegacyPointsImported") {
      who(s(a.citizenId)).imported += n(a.amount);
      prog(s(a.programId)).imported += n(a.amount);
      credit(who(s(a.citizenId)), n(a.epoch), s(a.programId), n(a.amount));
    } else if (e.name === "PointsRedeemed") {
      const c = who(s(a.citizenId));
      c.redeemed += n(a.amount);
      merchant(s(a.merchantId)).redeemed += n(a.amount);
      let left = n(a.amount);
      for (const epoch of Object.keys(c.epochs).map(Number).sort((x, y) => x - y)) if (left > 0) left = take(c, epoch, left, "redeemed");
      unattributed += left;
    } else if (e.name === "PointsExpired") {
      const c = who(s(a.citizenId));
      c.expired += n(a.amount);
      unattributed += take(c, n(a.epoch), n(a.amount), "expired");
    } else if (e.name === "MerchantSettled") {
      merchant(s(a.merchantId)).settled += n(a.amount);
      check("mileage", `merchant ${a.merchantId} unsettledAfter`, n(a.unsettledAfter) === merchant(s(a.merchantId)).redeemed - merchant(s(a.merchantId)).settled);
    }
  }
  check("mileage", "every redemption and expiry attributed to lots", unattributed === 0, unattributed);
  // at the head: epochs with current ≥ e + validityEpochs are expired (unrealised until a log writes them off)
  const out = [];
  let balances = 0;
  for (const c of Object.values(citizens)) {
    let balance = 0;
    let unrealised = 0;
    const buckets = [];
    for (const [epoch, lots] of Object.entries(c.epochs)) {
      const amount = lots.reduce((x, l) => x + l.amount, 0);
      const expired = current >= Number(epoch) + validity;
      if (expired) {
        unrealised += amount;
        for (const l of lots) prog(l.program).expired += l.amount;
      } else {
        balance += amount;
        for (const l of lots) prog(l.program).outstanding += l.amount;
      }
      if (amount > 0) buckets.push({ epoch: Number(epoch), amount, expired });
    }
    balances += balance;
    const [vBalance, vUnrealised] = (await view("CivicMileage", "pointsOf", c.citizenId)).map(n);
    check("mileage", `citizen ${c.citizenId} pointsOf`, vBalance === balance && vUnrealised === unrealised, `${balance}/${unrealised} vs ${vBalance}/${vUnrealised}`);
    const conserved = c.awarded + c.imported === balance + c.redeemed + c.expired + unrealised;
    check("mileage", `citizen ${c.citizenId} awarded + imported = balance + redeemed + expired`, conserved);
    out.push({ citizenId: c.citizenId, awarded: c.awarded, imported: c.imported, redeemed: c.redeemed, expired: c.expired + unrealised, expiredUnrealised: unrealised, balance, buckets: buckets.sort((x, y) => x.epoch - y.epoch) });
  }
  const liability = Object.values(programs).sort((x, y) => x.program_id - y.program_id);
  const outstanding = liability.reduce((x, p) => x + p.outstanding, 0);
  for (const p of liability) check("mileage", `program ${p.program_id} outstanding = awarded + imported − redeemed − expired`, p.outstanding === p.awarded + p.imported - p.redeemed - p.expired);
  check("mileage", "Σ program liabilities = Σ balances", outstanding === balances, `${outstanding} vs ${balances}`);
  for (const m of Object.values(merchants)) {
    m.unsettled = m.redeemed - m.settled;
    const v = await view("CivicMileage", "merchantOf", m.merchant_id);
    check("mileage", `merchant ${m.merchant_id} = merchantOf`, n(v.unsettled) === m.unsettled && n(v.redeemed) === m.redeemed);
  }
  return { epochOrigin: origin, epochLength: length, validityEpochs: validity, currentEpoch: current, citizens: out, liability, liabilityTotal: outstanding, balanceTotal: balances, merchants: Object.values(merchants) };
}

// ---------------------------------------------------------------- 9. labour
const WEEK_STATUS = ["none", "recorded", "confirmed", "disputed"];
const addDays = (yyyymmdd, days) => {
  const d = new Date(Date.UTC(Math.floor(yyyymmdd / 10000), Math.floor(yyyymmdd / 100) % 100 - 1, yyyymmdd % 100 + days));
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
};
async function labour() {
  const contracts = {};
  for (const e of await events("LaborRecords")) {
    const a = e.args;
    if (e.name === "LaborContractRegistered") {
      const id = keccak256(coder.encode(["address", "address", "bytes32"], [a.employer, a.worker, a.terms.documentHash]));
      check("labour", `contract id ${a.contractId}`, id === a.contractId);
      contracts[a.contractId] = { contractId: a.contractId, employer: a.employer, worker: a.worker, documentHash: a.terms.documentHash, hourlyWage: n(a.terms.hourlyWage), weeks: {}, statements: {} };
    } else if (e.name === "WeekRecorded") {
      const entries = a.getValue("entries").map((x) => [n(x.date), n(x.startMinute), n(x.endMinute), n(x.breakMinutes), x.holiday]);
      const minutes = entries.reduce((t, [, st, en, br]) => t + (en - st - br), 0);
      let days = 0;
      for (const [date] of entries) for (let i = 0; i < 7; i++) if (addDays(n(a.weekStart), i) === date) days |= 1 << i;
      const root = entries.length ? StandardMerkleTree.of(entries, ["uint32", "uint16", "uint16", "uint16", "bool"]).root : "0x" + "00".repeat(32);
      check("labour", `week ${a.contractId}/${a.weekStart} r${a.revision} minutes, days, entriesRoot`, minutes === n(a.minutesWorked) && days === n(a.daysWorked) && root === a.entriesRoot, `${minutes} ${days} ${root}`);
      contracts[a.contractId].weeks[n(a.weekStart)] = { weekStart: n(a.weekStart), revision: n(a.revision), status: "recorded", minutesWorked: minutes, daysWorked: days, entriesRoot: root, shifts: entries.length };
    } else if (e.name === "WeekConfirmed" || e.name === "WeekDisputed") {
      const w = contracts[a.contractId].weeks[n(a.weekStart)];
      check("labour", `week ${a.contractId}/${a.weekStart} ${e.name} revision`, w.revision === n(a.revision));
      w.status = e.name === "WeekConfirmed" ? "confirmed" : "disputed";
      if (e.name === "WeekDisputed") Object.assign(w, { claimedMinutes: n(a.claimedMinutes), claimedDays: n(a.claimedDays) });
    } else if (e.name === "WageStatementRecorded") {
      const st = a.statement;
      const gross = n(st.basePay) + n(st.holidayPay) + n(st.overtimePay) + n(st.otherPay);
      check("labour", `statement ${a.contractId}/${a.periodStart} gross = base + holiday + overtime + other`, gross === n(st.grossPay));
      contracts[a.contractId].statements[n(a.periodStart)] = { periodStart: n(st.periodStart), periodEnd: n(st.periodEnd), paymentDate: n(st.paymentDate), statementHash: st.statementHash, grossPay: n(st.grossPay), basePay: n(st.basePay), holidayPay: n(st.holidayPay), overtimePay: n(st.overtimePay), otherPay: n(st.otherPay), deductions: n(st.deductions), revision: n(st.revision) };
    }
  }
  const out = [];
  for (const c of Object.values(contracts)) {
    const v = await view("LaborRecords", "contractOf", c.contractId);
    check("labour", `contract ${c.contractId} = contractOf`, v.employer === c.employer && n(v.hourlyWage) === c.hourlyWage);
    for (const w of Object.values(c.weeks)) {
      const wv = await view("LaborRecords", "weekOf", c.contractId, w.weekStart);
      check("labour", `week ${c.contractId}/${w.weekStart} = weekOf`, n(wv.minutesWorked) === w.minutesWorked && n(wv.daysWorked) === w.daysWorked && WEEK_STATUS[n(wv.status)] === w.status && n(wv.revision) === w.revision && wv.entriesRoot === w.entriesRoot);
    }
    for (const st of Object.values(c.statements)) {
      const sv = await view("LaborRecords", "statementOf", c.contractId, st.periodStart);
      check("labour", `statement ${c.contractId}/${st.periodStart} = statementOf`, sv.exists && sv.statementHash === st.statementHash && n(sv.grossPay) === st.grossPay && n(sv.deductions) === st.deductions && n(sv.revision) === st.revision);
    }
    out.push({ ...c, weeks: Object.values(c.weeks), statements: Object.values(c.statements) });
  }
  return { contracts: out };
}

// ---------------------------------------------------------------- 10. notary
async function notary() {
  const anchors = [];
  for (const e of await events("Notary")) {
    if (e.name !== "DocumentAnchored") continue;
    const v = await view("Notary", "anchorOf", e.args.documentHash);
    const block = await provider.getBlock(e.block);
    const fig = { documentHash: e.args.documentHash, by: e.args.by, sequence: n(e.args.sequence), kind: e.args.kind, blockNumber: e.block, anchoredAt: block.timestamp, tx: e.tx };
    const [anchoredAt, blockNumber, sequence] = [...v].map(n); // the outputs are unnamed in the ABI
    check("notary", `anchor ${fig.documentHash} = anchorOf`, anchoredAt === fig.anchoredAt && blockNumber === fig.blockNumber && sequence === fig.sequence, `anchorOf ${v.map(s)}`);
    anchors.push(fig);
  }
  const count = n(await view("Notary", "anchorCount"));
  check("notary", "anchorCount = DocumentAnchored events", count === anchors.length, count);
  return { anchorCount: count, anchors };
}

const out = {
  chainId: chainId.toString(),
  head,
  identity: await identity(),
  voting: await voting(),
  credentials: await credentials(),
  payments: await payments(),
  mileage: await mileage(),
  labour: await labour(),
  notary: await notary(),
};
out.checks = checks;
console.log(JSON.stringify(out, big));
