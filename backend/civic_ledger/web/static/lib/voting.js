// M-Voting in the browser (docs/verification.md section 5): choice encodings, the checks a voter makes
// on the typed data before signing, the receipt check and the recount, all from chain data.
import { AbiCoder, TypedDataEncoder, getAddress, hashMessage, keccak256, recoverAddress, concat, toUtf8Bytes, verifyMessage } from "ethers";
import { addressWord, word } from "./chain.js";

const coder = AbiCoder.defaultAbiCoder();
export const BALLOT_TYPES = {
  Ballot: [
    { name: "pollId", type: "uint256" },
    { name: "voter", type: "address" },
    { name: "choice", type: "uint256" },
    { name: "commitment", type: "bytes32" },
    { name: "version", type: "uint32" },
    { name: "deadline", type: "uint256" },
  ],
};
export const BALLOT_TYPE = ["single", "approval", "ranked"];
export const SECRECY = ["public", "sealed", "encrypted"]; // encrypted: no recount of choices here (only sums are decrypted)
const ZERO32 = "0x" + "00".repeat(32);

export function encodeChoice(ballotType, options, numOptions, maxChoices) {
  if (!options.length) throw new Error("choose at least one option");
  if (new Set(options).size !== options.length) throw new Error("an option is listed twice");
  for (const o of options) if (!(o >= 0 && o < numOptions)) throw new Error(`option ${o} does not exist`);
  if (ballotType === "single") {
    if (options.length !== 1) throw new Error("choose exactly one option");
    return BigInt(options[0]);
  }
  if (options.length > maxChoices) throw new Error(`at most ${maxChoices} options`);
  if (ballotType === "approval") return options.reduce((x, o) => x | (1n << BigInt(o)), 0n);
  return options.reduce((x, o, rank) => x | (BigInt(o + 1) << BigInt(8 * rank)), 0n);
}

export function decodeChoice(ballotType, choice) {
  const c = BigInt(choice);
  if (ballotType === "single") return [Number(c)];
  const out = [];
  if (ballotType === "approval") {
    for (let i = 0; i < 32; i++) if ((c >> BigInt(i)) & 1n) out.push(i);
    return out;
  }
  for (let r = 0; r < 32; r++) {
    const b = Number((c >> BigInt(8 * r)) & 0xffn);
    if (!b) break;
    out.push(b - 1);
  }
  return out;
}

export function commitment(pollId, voter, choice, salt) {
  return keccak256(coder.encode(["uint256", "address", "uint256", "bytes32"], [pollId, voter, choice, salt]));
}

export function mvotingDomain(chain) {
  return { name: "MVoting", version: "1", chainId: chain.chainId, verifyingContract: chain.address("MVoting") };
}

// Before signing: the typed data the server drafted must be exactly the voter's ballot in the trusted
// MVoting domain, and its digest the one the server names (the receipt). Returns the digest.
export function checkBallotDraft(chain, td, { pollId, voter, choice, commitment: commit = ZERO32 }) {
  const t = td.typed_data;
  const problems = [];
  const d = t.domain;
  if (d.name !== "MVoting" || String(d.version) !== "1") problems.push("domain name/version");
  if (BigInt(d.chainId) !== chain.chainId) problems.push(`chain id ${d.chainId}`);
  if (getAddress(d.verifyingContract) !== chain.address("MVoting")) problems.push(`contract ${d.verifyingContract} is not the manifest's MVoting`);
  if (t.primaryType !== "Ballot" || JSON.stringify(t.types.Ballot) !== JSON.stringify(BALLOT_TYPES.Ballot)) problems.push("type");
  const m = t.message;
  if (BigInt(m.pollId) !== BigInt(pollId)) problems.push("poll");
  if (getAddress(m.voter) !== getAddress(voter)) problems.push("voter");
  if (BigInt(m.choice) !== BigInt(choice)) problems.push("choice");
  if (String(m.commitment).toLowerCase() !== commit.toLowerCase()) problems.push("commitment");
  const digest = TypedDataEncoder.hash(mvotingDomain(chain), BALLOT_TYPES, m);
  if (digest !== td.digest) problems.push("digest");
  if (problems.length) throw new Error(`the server's draft is not my ballot (${problems.join(", ")}): not signing`);
  return digest;
}

export function checkServerReceipt(chain, ballotHash, receipt) {
  if (!receipt) return { name: "server_receipt", ok: false, detail: "no server receipt" };
  const lines = receipt.message.split("\n");
  const want = ["civic-ledger ballot receipt v1", `chain:${chain.chainId}`, `mvoting:${chain.address("MVoting")}`, `ballot:${ballotHash.toLowerCase()}`];
  const okText = want.every((w, i) => lines[i] === w);
  const signer = verifyMessage(receipt.message, receipt.signature);
  const deployer = getAddress(chain.manifest.deployer);
  return { name: "server_receipt", ok: okText && signer === deployer, detail: `signed by ${signer} (manifest deployer ${deployer})${okText ? "" : "; text differs"}` };
}

// The poll's state from chain data: PollCreated texts, getPoll, BallotCast/Revealed/Finalized events.
export async function pollFromChain(chain, pollId) {
  const events = await chain.events("MVoting", { topics: [null, word(pollId)] });
  const head = await chain.head();
  const p = await chain.view("MVoting", "getPoll", [pollId], head);
  const created = events.find((e) => e.name === "PollCreated");
  if (!created) throw new Error(`poll ${pollId} has no PollCreated event on this chain`);
  const question = created.args.question;
  const options = [...created.args.options];
  return {
    pollId, head, view: p, events, question, options,
    ballotType: BALLOT_TYPE[Number(p.ballotType)], secrecy: SECRECY[Number(p.secrecy)], maxChoices: Number(p.maxChoices),
    textsOk: keccak256(toUtf8Bytes(question)) === p.questionHash && keccak256(concat(options.map((o) => keccak256(toUtf8Bytes(o))))) === p.optionsHash,
  };
}

function addToTally(counts, ballotType, choice, maxChoices) {
  for (const [r, o] of decodeChoice(ballotType, choice).entries()) counts[o] += ballotType === "ranked" ? maxChoices - r : 1;
}

// docs/verification.md 5: each voter key once, highest version; sealed: the matching reveal; then the
// published counts (PollFinalized, else tallyOf); and every counted ballot's signature from calldata.
export async function recount(chain, pollId, { signatures = true } = {}) {
  const poll = await pollFromChain(chain, pollId);
  const iface = chain.iface("MVoting");
  const current = new Map();
  for (const e of poll.events.filter((x) => x.name === "BallotCast")) {
    const key = e.args.citizenId.toString();
    if (!current.has(key) || Number(e.args.version) > Number(current.get(key).args.version)) current.set(key, e);
  }
  const reveals = new Map(poll.events.filter((e) => e.name === "BallotRevealed").map((e) => [e.args.citizenId.toString(), e]));
  const counts = poll.options.map(() => 0);
  let counted = 0;
  const countedBallots = [];
  for (const [key, e] of current) {
    let choice = e.args.choice;
    if (poll.secrecy === "sealed") {
      const r = reveals.get(key);
      if (!r || commitment(pollId, e.args.voter, r.args.choice, r.args.salt) !== e.args.commitment) continue;
      choice = r.args.choice;
    }
    addToTally(counts, poll.ballotType, choice, poll.maxChoices);
    counted += 1;
    countedBallots.push(e);
  }
  const finalized = poll.events.find((e) => e.name === "PollFinalized");
  let published = null;
  let source;
  if (finalized) {
    published = { counts: [...finalized.args.counts].map(Number), ballots: Number(finalized.args.ballots), counted: Number(finalized.args.counted) };
    source = "PollFinalized";
  } else {
    try {
      const t = await chain.view("MVoting", "tallyOf", [pollId], poll.head);
      published = { counts: [...t.counts].map(Number), ballots: Number(poll.view.ballots), counted: Number(t.counted) };
      source = "tallyOf";
    } catch (err) {
      source = `tallyOf reverted (${chain.iface("MVoting").parseError(err.data)?.name ?? "sealed"})`;
    }
  }
  const checks = [{ name: "texts", ok: poll.textsOk, detail: "question and options hash to getPoll's questionHash/optionsHash" }];
  checks.push({ name: "ballots", ok: current.size === Number(poll.view.ballots), detail: `${current.size} voter keys, getPoll.ballots ${poll.view.ballots}` });
  if (published) {
    const same = JSON.stringify(counts) === JSON.stringify(published.counts) && counted === published.counted;
    checks.push({ name: "tally", ok: same, detail: `recounted [${counts}] vs ${source} [${published.counts}]` });
  } else checks.push({ name: "tally", status: "skipped", detail: source });
  if (signatures) {
    const domain = mvotingDomain(chain);
    const txs = new Map();
    let bad = 0;
    for (const e of countedBallots) {
      if (!txs.has(e.tx)) txs.set(e.tx, await chain.provider.getTransaction(e.tx));
      const tx = txs.get(e.tx);
      const call = iface.parseTransaction({ data: tx.data });
      const inputs = !call ? [] : call.name === "castBatch" ? call.args.ballots : call.name === "cast" ? [call.args.ballot] : [];
      const b = inputs.find((x) => BigInt(x.pollId) === BigInt(pollId) && x.voter === e.args.voter && Number(x.version) === Number(e.args.version));
      let ok = !!b && getAddress(tx.to) === chain.address("MVoting");
      if (ok) {
        const msg = { pollId: b.pollId, voter: b.voter, choice: b.choice, commitment: b.commitment, version: b.version, deadline: b.deadline };
        const digest = TypedDataEncoder.hash(domain, BALLOT_TYPES, msg);
        const block = await chain.block(e.block);
        ok = digest === e.args.ballotHash && recoverAddress(digest, b.signature) === e.args.voter && b.choice === e.args.choice && b.commitment === e.args.commitment && block.timestamp >= Number(poll.view.opensAt) && block.timestamp < Number(poll.view.closesAt) && block.timestamp <= Number(b.deadline);
      }
      if (!ok) bad += 1;
    }
    checks.push({ name: "signatures", ok: bad === 0, detail: `${countedBallots.length - bad} of ${countedBallots.length} counted ballots signed by their voter, in the window` });
  }
  return { poll, counts, counted, ballots: current.size, published, source, checks, matches: checks.every((c) => c.ok !== false) };
}

// A receipt checked on chain alone: the BallotCast with this hash, the signature in its calldata, and
// whether it is still the voter's current ballot.
export async function checkReceipt(chain, ballotHash, { pollId = undefined, voter = undefined } = {}) {
  const topics = [chain.topic("MVoting", "BallotCast"), pollId === undefined ? null : word(pollId), voter ? addressWord(voter) : null];
  const casts = await chain.events("MVoting", { topics });
  const e = casts.find((x) => x.args.ballotHash.toLowerCase() === ballotHash.toLowerCase());
  const checks = [];
  if (!e) {
    checks.push({ name: "on_chain", ok: false, detail: "no BallotCast carries this ballot hash (yet)" });
    return { found: false, checks };
  }
  checks.push({ name: "on_chain", ok: true, detail: `poll ${e.args.pollId}, block ${e.block}, tx ${e.tx}` });
  const tx = await chain.provider.getTransaction(e.tx);
  const iface = chain.iface("MVoting");
  const call = iface.parseTransaction({ data: tx.data });
  const inputs = call.name === "castBatch" ? call.args.ballots : call.name === "cast" ? [call.args.ballot] : [];
  const b = inputs.find((x) => x.voter === e.args.voter && Number(x.version) === Number(e.args.version) && BigInt(x.pollId) === BigInt(e.args.pollId));
  const recovered = b ? recoverAddress(ballotHash, b.signature) : null;
  checks.push({ name: "signature", ok: recovered === e.args.voter, detail: `recovered ${recovered} from the calldata of ${call.name}; voter ${e.args.voter}` });
  const mine = await chain.events("MVoting", { topics: [chain.topic("MVoting", "BallotCast"), word(e.args.pollId), null, word(e.args.citizenId)] });
  const latest = mine.reduce((x, y) => (Number(y.args.version) > Number(x.args.version) ? y : x), e);
  const current = latest.args.ballotHash === e.args.ballotHash;
  checks.push({ name: "current", ok: current, detail: current ? `version ${e.args.version} is the voter's latest` : `replaced by version ${latest.args.version}` });
  return { found: true, event: e, current, version: Number(e.args.version), pollId: Number(e.args.pollId), voter: e.args.voter, checks };
}

export { hashMessage };
