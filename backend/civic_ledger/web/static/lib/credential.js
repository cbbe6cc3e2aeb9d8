// Credential and presentation checks in the browser, in the order of docs/verification.md section 6
// (the same as the server's report and tests/js/verify_credential.mjs): ethers v6 + RFC 8785 (canonicalize).
import { AbiCoder, TypedDataEncoder, concat, getAddress, keccak256, recoverAddress } from "ethers";
import canonicalize from "canonicalize";

const coder = AbiCoder.defaultAbiCoder();
export const CREDENTIAL_TYPES = {
  Credential: [
    { name: "issuerId", type: "bytes32" },
    { name: "typeId", type: "bytes32" },
    { name: "subject", type: "address" },
    { name: "validFrom", type: "uint64" },
    { name: "validUntil", type: "uint64" },
    { name: "claimDigests", type: "bytes32[]" },
    { name: "salt", type: "bytes32" },
  ],
};
export const PRESENTATION_TYPES = {
  Presentation: [
    { name: "credentialHash", type: "bytes32" },
    { name: "audience", type: "string" },
    { name: "nonce", type: "string" },
  ],
};
const ORDER = ["deployment", "document", "signature", "claims", "issuer_key", "type_allowed", "anchored", "not_revoked", "not_suspended", "not_expired"];
const OPEN_END = 2n ** 64n - 1n;
export const claimDigest = (salt, name, value) => keccak256(coder.encode(["bytes32", "string", "string"], [salt, name, canonicalize(value)]));
const batchLeaf = (hash, position) => keccak256(keccak256(coder.encode(["bytes32", "uint256"], [hash, position])));
const hashPair = (a, b) => (BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a])));
const iso = (ts) => new Date(Number(ts) * 1000).toISOString().replace(".000Z", "Z");
const unix = (text) => Math.floor(Date.parse(text) / 1000);
const didPkh = (chainId, address) => `did:pkh:eip155:${chainId}:${getAddress(address)}`;

export function registryDomain(chain) {
  return { name: "CredentialRegistry", version: "1", chainId: chain.chainId, verifyingContract: chain.address("CredentialRegistry") };
}

export function credentialHashOf(doc) {
  const d = doc.proof.eip712.domain;
  const domain = { name: d.name, version: String(d.version), chainId: BigInt(d.chainId), verifyingContract: getAddress(d.verifyingContract) };
  return TypedDataEncoder.hash(domain, CREDENTIAL_TYPES, doc.proof.eip712.message);
}

// Selective disclosure: keep the named claims, withhold the others (digest only).
export function withhold(doc, keep) {
  const copy = structuredClone(doc);
  copy.credentialSubject.claims = copy.credentialSubject.claims.map((c) => ("value" in c && !keep.includes(c.name) ? { digest: claimDigest(c.salt, c.name, c.value) } : c));
  return copy;
}

export function claimsOf(doc) {
  return (doc.credentialSubject?.claims ?? []).filter((c) => "value" in c).map((c) => ({ name: c.name, value: c.value }));
}

export function kindOf(data) {
  if (!data || typeof data !== "object") return "unknown";
  const type = [].concat(data.type ?? []);
  if (type.includes("VerifiablePresentation")) return "presentation";
  if (data.proof && data.proof.eip712 && data.proof.eip712.primaryType === "Credential") return "credential";
  if (data.vin && Array.isArray(data.timeline) && data.report_version !== undefined) return "vehicle_report";
  if (data.contract_id && (data.weeks || data.records || data.chain)) return "evidence_bundle";
  return "unknown";
}

export async function verifyCredential(chain, doc, at = undefined) {
  const checks = {};
  const set = (name, ok, detail) => (checks[name] = { name, status: ok ? "pass" : "fail", ok: !!ok, detail });
  const malformed = (why) => ({ valid: false, verdict: "invalid", checks: ORDER.map((name) => ({ name, status: name === "document" ? "fail" : "skipped", ok: false, detail: name === "document" ? why : "not checked" })) });
  const signed = doc?.proof?.eip712;
  if (!signed || !signed.message || !doc.credentialStatus || !doc.credentialSubject) return malformed("not a credential document (proof.eip712, credentialStatus, credentialSubject)");
  const msg = signed.message;
  const registry = chain.contract("CredentialRegistry");
  const trust = await chain.trust("CredentialRegistry");
  const domain = registryDomain(chain);
  const problems = trust.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  if (BigInt(signed.domain.chainId) !== chain.chainId) problems.push(`proof domain chainId ${signed.domain.chainId}`);
  if (getAddress(signed.domain.verifyingContract) !== domain.verifyingContract) problems.push(`proof registry ${signed.domain.verifyingContract} is not the manifest's`);
  if (BigInt(doc.credentialStatus.chainId) !== chain.chainId) problems.push("credentialStatus.chainId");
  if (getAddress(doc.credentialStatus.registry) !== domain.verifyingContract) problems.push("credentialStatus.registry");
  if (JSON.stringify(signed.types.Credential) !== JSON.stringify(CREDENTIAL_TYPES.Credential)) problems.push("types");
  set("deployment", problems.length === 0, problems.join("; ") || `chain ${chain.chainId}, registry ${domain.verifyingContract}`);

  const credentialHash = TypedDataEncoder.hash(domain, CREDENTIAL_TYPES, msg);
  const docProblems = [];
  if (signed.domain.name !== "CredentialRegistry" || String(signed.domain.version) !== "1") docProblems.push("domain name/version");
  if (doc.id !== `urn:civic-ledger:credential:${credentialHash}`) docProblems.push("id");
  if (doc.issuer?.id !== `urn:civic-ledger:issuer:${msg.issuerId}`) docProblems.push("issuer.id");
  if (doc.credentialSchema?.id !== `urn:civic-ledger:credential-type:${msg.typeId}`) docProblems.push("credentialSchema.id");
  if (doc.credentialSubject.id !== didPkh(chain.chainId, msg.subject)) docProblems.push("credentialSubject.id");
  if (unix(doc.validFrom) !== Number(msg.validFrom)) docProblems.push("validFrom");
  if ((doc.validUntil === undefined ? 0 : unix(doc.validUntil)) !== Number(msg.validUntil)) docProblems.push("validUntil");
  set("document", docProblems.length === 0, docProblems.length ? `differs from the signed message: ${docProblems.join(", ")}` : "matches the signed message");

  const key = getAddress(String(doc.proof.verificationMethod).split("#")[0].split(":").pop());
  let recovered = null;
  try {
    recovered = recoverAddress(credentialHash, doc.proof.proofValue);
  } catch {
    recovered = null;
  }
  set("signature", recovered === key, `recovered ${recovered}, proof key ${key}`);

  const entries = doc.credentialSubject.claims ?? [];
  let digests = [];
  let bad = [];
  try {
    digests = entries.map((c) => ("value" in c ? claimDigest(c.salt, c.name, c.value) : String(c.digest).toLowerCase()));
    bad = entries.filter((c, i) => digests[i] !== String(msg.claimDigests[i]).toLowerCase()).map((c) => c.name ?? "(withheld)");
  } catch (err) {
    bad = [err.message];
  }
  const sameLength = digests.length === msg.claimDigests.length;
  set("claims", sameLength && bad.length === 0, bad.length ? `mismatch: ${bad.join(", ")}` : sameLength ? `${digests.length} digests` : "count differs");

  const status = doc.credentialStatus;
  const merkle = doc.proof.merkle;
  const proof = merkle ? merkle.proof : [];
  const position = BigInt(status.position);
  const offChainRoot = merkle ? proof.reduce(hashPair, batchLeaf(credentialHash, position)) : credentialHash;
  const v = await registry.getFunction("verify").staticCall(status.anchorId, credentialHash, proof, position);
  const anchoredOk = v.anchored && v.included && v.issuerId === msg.issuerId && v.typeId === msg.typeId;
  if (offChainRoot !== status.anchorId) set("anchored", false, `recomputed root ${offChainRoot} is not the anchorId`);
  else if (!anchoredOk) set("anchored", false, `anchored=${v.anchored} included=${v.included} (position ${position})`);
  else set("anchored", true, `${v.batch ? "batch" : "single"}, anchored at ${iso(v.anchoredAt)}`);
  const anchored = checks.anchored.ok;

  const ki = await registry.keyInfo(msg.issuerId, key);
  const when = anchored ? v.anchoredAt : BigInt(msg.validFrom);
  const windowText = `[${iso(ki.validFrom)}, ${ki.validUntil === OPEN_END ? "open" : iso(ki.validUntil)})`;
  if (!ki.registered) set("issuer_key", false, `${key} is not a key of issuer ${msg.issuerId}`);
  else if (!(ki.validFrom <= when && when < ki.validUntil)) set("issuer_key", false, `not valid at ${iso(when)}`);
  else if (anchored && !v.keyValidAtAnchor) set("issuer_key", false, "key retired retroactively");
  else set("issuer_key", true, `valid at ${iso(when)}, window ${windowText}`);

  if (anchored) set("type_allowed", true, "anchored under this issuer and type");
  else set("type_allowed", await registry.isIssuerAllowed(msg.typeId, msg.issuerId), "isIssuerAllowed");
  if (anchored) {
    set("not_revoked", !v.revoked, v.revoked ? "revoked" : "not revoked");
    set("not_suspended", !v.suspended, v.suspended ? "suspended" : "not suspended");
  }
  const latest = await chain.provider.getBlock("latest");
  const now = at ?? Math.max(Math.floor(Date.now() / 1000), latest.timestamp);
  const from = Number(msg.validFrom);
  const until = Number(msg.validUntil);
  if (now < from) set("not_expired", false, `not valid before ${iso(from)}`);
  else if (until && now >= until) set("not_expired", false, `expired at ${iso(until)}`);
  else set("not_expired", true, until ? `valid until ${iso(until)}` : "no expiry");

  const list = ORDER.map((name) => checks[name] ?? { name, status: "skipped", ok: false, detail: "not checked" });
  const valid = list.every((c) => c.status === "pass");
  return { valid, verdict: valid ? "valid" : "invalid", credentialHash, subject: getAddress(msg.subject), key, claims: claimsOf(doc), checks: list };
}

export function presentationTyped(doc, audience, nonce) {
  const d = doc.proof.eip712.domain;
  const domain = { name: "CredentialRegistry", version: "1", chainId: Number(d.chainId), verifyingContract: getAddress(d.verifyingContract) };
  return { domain, types: PRESENTATION_TYPES, message: { credentialHash: credentialHashOf(doc), audience, nonce } };
}

// The holder's presentation (the CLI's `credentials present` format), signed with `signer` in the browser.
export async function present(signer, doc, audience, nonce) {
  const typed = presentationTyped(doc, audience, nonce);
  const signature = await signer.signTypedData(typed.domain, typed.types, typed.message);
  const chainId = Number(doc.proof.eip712.domain.chainId);
  return {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    type: ["VerifiablePresentation"],
    holder: didPkh(chainId, doc.proof.eip712.message.subject),
    verifiableCredential: [doc],
    proof: {
      type: doc.proof.type,
      proofPurpose: "authentication",
      challenge: nonce,
      domain: audience,
      eip712: { types: { EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }], ...typed.types }, primaryType: "Presentation", domain: typed.domain, message: typed.message },
      proofValue: signature,
    },
  };
}

export async function verifyPresentation(chain, presentation, audience, nonce, at = undefined) {
  const docs = presentation.verifiableCredential ?? [];
  if (docs.length !== 1 || !presentation.proof) throw new Error("a presentation needs verifiableCredential (one document) and proof {challenge, domain, proofValue}");
  const report = await verifyCredential(chain, docs[0], at);
  const p = presentation.proof;
  const checks = [];
  const challengeOk = String(p.domain) === audience && String(p.challenge) === nonce;
  checks.push({ name: "challenge", status: challengeOk ? "pass" : "fail", ok: challengeOk, detail: challengeOk ? "the verifier's nonce and audience" : `presented for audience ${p.domain} / nonce ${p.challenge}, expected ${audience} / ${nonce}` });
  const domain = { ...registryDomain(chain) };
  let presenter = null;
  try {
    presenter = recoverAddress(TypedDataEncoder.hash(domain, PRESENTATION_TYPES, { credentialHash: report.credentialHash, audience, nonce }), p.proofValue);
  } catch {
    presenter = null;
  }
  const holderOk = presenter !== null && presenter === report.subject;
  checks.push({ name: "holder", status: holderOk ? "pass" : "fail", ok: holderOk, detail: presenter === null ? "malformed presentation signature" : holderOk ? `signed by the subject ${presenter}` : `signed by ${presenter}, who is not the credential subject ${report.subject}` });
  const valid = report.valid && challengeOk && holderOk;
  return { valid, verdict: valid ? "valid" : "invalid", presenter, checks: [...checks, ...report.checks], credential: report };
}

// QR text of a document (the server's format: "civic-ledger-vc:" + base64url(zlib(compact JSON))).
export async function qrText(obj) {
  const raw = new TextEncoder().encode(JSON.stringify(obj));
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return "civic-ledger-vc:" + btoa(bin).replaceAll("+", "-").replaceAll("/", "_");
}

export async function fromQrText(text) {
  const b64 = text.trim().replace(/^civic-ledger-vc:/, "").replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return JSON.parse(await new Response(stream).text());
}
