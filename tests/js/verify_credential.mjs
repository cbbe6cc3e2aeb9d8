// An outsider's credential verifier, written from docs/verification.md alone ("Credentials"):
// ethers v6 and an RFC 8785 library (npm `canonicalize`), a JSON-RPC node, the deployment manifest.
// Nothing of the civic-ledger server is used except its standard /rpc endpoint.
//
// Usage: node verify_credential.mjs RPC_URL MANIFEST_JSON_PATH DOCUMENT_JSON_PATH [AT_UNIX_SECONDS]
// Prints {valid, verdict, credentialHash, claims, checks: [{name, status, detail}], events}.
import { readFileSync } from "node:fs";
import { AbiCoder, Contract, JsonRpcProvider, TypedDataEncoder, concat, getAddress, keccak256, recoverAddress } from "ethers";
import canonicalize from "canonicalize";

const [rpcUrl, manifestPath, documentPath, atArg] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const doc = JSON.parse(readFileSync(documentPath, "utf8"));
const coder = AbiCoder.defaultAbiCoder();

// -- the doc's encodings ------------------------------------------------------------------------
const CREDENTIAL_TYPES = {
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
const claimDigest = (salt, name, value) =>
  keccak256(coder.encode(["bytes32", "string", "string"], [salt, name, canonicalize(value)]));
const batchLeaf = (hash, position) => keccak256(keccak256(coder.encode(["bytes32", "uint256"], [hash, position])));
const hashPair = (a, b) => (BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a])));
const iso = (ts) => new Date(Number(ts) * 1000).toISOString().replace(".000Z", "Z");
const unix = (text) => Math.floor(Date.parse(text) / 1000);
const didPkh = (chainId, address) => `did:pkh:eip155:${chainId}:${getAddress(address)}`;
const OPEN_END = 2n ** 64n - 1n;

// -- trusted deployment: the manifest, checked against the node ----------------------------------
const entry = manifest.contracts.CredentialRegistry;
const chainId = BigInt(manifest.chain_id);
const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
const registry = new Contract(entry.address, entry.abi, provider);
const nodeChainId = (await provider.getNetwork()).chainId;
const codeHash = keccak256(await provider.getCode(entry.address));
const domain = { name: "CredentialRegistry", version: "1", chainId, verifyingContract: getAddress(entry.address) };

const checks = {};
const set = (name, ok, detail) => (checks[name] = { name, status: ok ? "pass" : "fail", detail });
const skip = (name, detail) => (checks[name] ??= { name, status: "skipped", detail });

const signed = doc.proof.eip712;
const msg = signed.message;
const docDomain = signed.domain;
const problems = [];
if (nodeChainId !== chainId) problems.push(`node chain id ${nodeChainId} is not the manifest's ${chainId}`);
if (codeHash !== entry.code_hash) problems.push(`code at ${entry.address} is not the manifest's code_hash`);
if (BigInt(docDomain.chainId) !== chainId) problems.push(`proof domain chainId ${docDomain.chainId}`);
if (getAddress(docDomain.verifyingContract) !== domain.verifyingContract) problems.push("proof domain verifyingContract");
if (BigInt(doc.credentialStatus.chainId) !== chainId) problems.push("credentialStatus.chainId");
if (getAddress(doc.credentialStatus.registry) !== domain.verifyingContract) problems.push("credentialStatus.registry");
if (JSON.stringify(signed.types.Credential) !== JSON.stringify(CREDENTIAL_TYPES.Credential)) problems.push("types");
set("deployment", problems.length === 0, problems.join("; ") || `chain ${chainId}, registry ${entry.address}`);

// -- the credential hash (what is anchored) and the document's visible fields ---------------------
const credentialHash = TypedDataEncoder.hash(domain, CREDENTIAL_TYPES, msg);
const docProblems = [];
if (docDomain.name !== "CredentialRegistry" || docDomain.version !== "1") docProblems.push("domain name/version");
if (doc.id !== `urn:civic-ledger:credential:${credentialHash}`) docProblems.push("id");
if (doc.issuer.id !== `urn:civic-ledger:issuer:${msg.issuerId}`) docProblems.push("issuer.id");
if (doc.credentialSchema.id !== `urn:civic-ledger:credential-type:${msg.typeId}`) docProblems.push("credentialSchema.id");
if (doc.credentialSubject.id !== didPkh(chainId, msg.subject)) docProblems.push("credentialSubject.id");
if (unix(doc.validFrom) !== Number(msg.validFrom)) docProblems.push("validFrom");
if ((doc.validUntil === undefined ? 0 : unix(doc.validUntil)) !== Number(msg.validUntil)) docProblems.push("validUntil");
set("document", docProblems.length === 0, docProblems.length ? `differs: ${docProblems.join(", ")}` : "matches");

// -- signature: ecrecover(credentialHash, proofValue) == the proof's key --------------------------
const key = getAddress(doc.proof.verificationMethod.split("#")[0].split(":").pop());
const recovered = recoverAddress(credentialHash, doc.proof.proofValue);
set("signature", recovered === key, `recovered ${recovered}, proof key ${key}`);

// -- claims: each disclosed claim re-hashed; the list equals the signed claimDigests --------------
const claims = {};
const entries = doc.credentialSubject.claims;
const digests = entries.map((c) => ("value" in c ? claimDigest(c.salt, c.name, c.value) : c.digest.toLowerCase()));
const bad = entries.filter((c, i) => digests[i] !== String(msg.claimDigests[i]).toLowerCase()).map((c) => c.name);
for (const c of entries) if ("value" in c) claims[c.name] = c.value;
const sameLength = digests.length === msg.claimDigests.length;
set("claims", sameLength && bad.length === 0, bad.length ? `mismatch: ${bad.join(", ")}` : `${digests.length} digests`);

// -- on chain: CredentialRegistry.verify, keyInfo, and the events --------------------------------
const status = doc.credentialStatus;
const merkle = doc.proof.merkle;
const proof = merkle ? merkle.proof : [];
const position = BigInt(status.position);
let offChainRoot = credentialHash;
if (merkle) offChainRoot = proof.reduce(hashPair, batchLeaf(credentialHash, position));
const v = await registry.getFunction("verify").staticCall(status.anchorId, credentialHash, proof, position);
const anchoredOk = v.anchored && v.included && v.issuerId === msg.issuerId && v.typeId === msg.typeId;
if (offChainRoot !== status.anchorId) set("anchored", false, `recomputed root ${offChainRoot} is not the anchorId`);
else if (!anchoredOk) set("anchored", false, `anchored=${v.anchored} included=${v.included} (position ${position})`);
else set("anchored", true, `${v.batch ? "batch" : "single"}, anchored at ${iso(v.anchoredAt)}`);
const anchored = checks.anchored.status === "pass";

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
} else {
  skip("not_revoked", "not anchored");
  skip("not_suspended", "not anchored");
}

const latest = await provider.getBlock("latest");
const at = atArg ? Number(atArg) : Math.max(Math.floor(Date.now() / 1000), latest.timestamp);
const from = Number(msg.validFrom);
const until = Number(msg.validUntil);
if (at < from) set("not_expired", false, `not valid before ${iso(from)}`);
else if (until && at >= until) set("not_expired", false, `expired at ${iso(until)}`);
else set("not_expired", true, until ? `valid until ${iso(until)}` : "no expiry");

// Events: the anchoring and any status change of this (anchorId, position), as the doc lists them.
const anchorEvent = v.batch ? registry.filters.CredentialBatchAnchored(status.anchorId) : registry.filters.CredentialAnchored(status.anchorId);
const logs = async (filter) => registry.queryFilter(filter, entry.block, "latest"); // from the deploy block
const events = {
  anchored: (await logs(anchorEvent)).map((e) => ({ block: e.blockNumber, key: e.args.key, issuerId: e.args.issuerId })),
  revoked: (await logs(registry.filters.CredentialRevoked(status.anchorId, position))).map((e) => ({
    block: e.blockNumber,
    issuerId: e.args.issuerId,
    key: e.args.key,
  })),
  suspended: (await logs(registry.filters.CredentialSuspended(status.anchorId, position))).length,
  reinstated: (await logs(registry.filters.CredentialReinstated(status.anchorId, position))).length,
};

const ORDER = ["deployment", "document", "signature", "claims", "issuer_key", "type_allowed", "anchored", "not_revoked", "not_suspended", "not_expired"];
const list = ORDER.map((name) => checks[name] ?? { name, status: "skipped", detail: "not checked" });
const valid = list.every((c) => c.status === "pass");
const out = { valid, verdict: valid ? "valid" : "invalid", credentialHash, key, at, claims, checks: list, events };
console.log(JSON.stringify(out));
