// The citizen's key, in this browser only: an encrypted keystore (Web3 Secret Storage, the CLI's format)
// opened from a file, or a key created here and kept encrypted in localStorage. The unlocked key lives in
// this page's memory; the server only ever sees signatures. Sign-In with Ethereum against /auth.
import { Wallet, encryptKeystoreJson, getAddress } from "ethers";
import { api } from "./ui.js";

const STORE = "civic.keystore";
const SCRYPT_N = 1 << 17; // the work factor of keystores made here (ethers' default)

export const wallet = { signer: null, token: null, me: null, listeners: [] };

function changed() {
  for (const fn of wallet.listeners) fn(wallet);
}

export function onChange(fn) {
  wallet.listeners.push(fn);
}

export function storedKeystore() {
  const text = localStorage.getItem(STORE);
  if (!text) return null;
  try {
    const j = JSON.parse(text);
    return { json: text, address: j.address ? getAddress(`0x${String(j.address).replace(/^0x/, "")}`) : null };
  } catch {
    return null;
  }
}

export async function unlock(json, password, { keep = false } = {}) {
  const signer = await Wallet.fromEncryptedJson(json, password);
  if (keep) localStorage.setItem(STORE, json);
  wallet.signer = signer;
  wallet.token = null;
  wallet.me = null;
  changed();
  return signer;
}

export async function create(password) {
  if (!password || password.length < 8) throw new Error("choose a password of at least 8 characters");
  const fresh = Wallet.createRandom();
  const json = await encryptKeystoreJson({ address: fresh.address, privateKey: fresh.privateKey }, password, { scrypt: { N: SCRYPT_N } });
  localStorage.setItem(STORE, json);
  return unlock(json, password);
}

export function forget() {
  localStorage.removeItem(STORE);
  lock();
}

export function lock() {
  wallet.signer = null;
  wallet.token = null;
  wallet.me = null;
  changed();
}

export function requireSigner() {
  if (!wallet.signer) throw new Error("unlock your key first");
  return wallet.signer;
}

// EIP-4361: the server names the nonce, domain, URI and chain; the message is checked here before signing.
export async function signIn() {
  const signer = requireSigner();
  const n = await api(`/auth/nonce?address=${signer.address}`);
  const message = n.message;
  const problems = [];
  if (!message.startsWith(`${n.domain} wants you to sign in with your Ethereum account:\n${signer.address}\n`)) problems.push("the message is not for this address");
  if (!message.includes(`\nNonce: ${n.nonce}\n`)) problems.push("the message does not carry the issued nonce");
  if (!message.includes(`\nChain ID: ${n.chain_id}\n`)) problems.push("the message names another chain");
  if (problems.length) throw new Error(`refusing to sign: ${problems.join("; ")}`);
  const signature = await signer.signMessage(message);
  const session = await api("/auth/login", { method: "POST", body: { message, signature } });
  wallet.token = session.token;
  wallet.me = await api("/auth/me", { token: session.token });
  wallet.siweDomain = n.domain;
  changed();
  return wallet.me;
}

export async function signOut() {
  if (wallet.token) await api("/auth/logout", { method: "POST", token: wallet.token });
  wallet.token = null;
  wallet.me = null;
  changed();
}

// Sign the standard EIP-712 JSON a `.../typed-data` endpoint returned (EIP712Domain is implied by ethers).
export function signTypedData(typed) {
  const signer = requireSigner();
  const types = { ...typed.types };
  delete types.EIP712Domain;
  return signer.signTypedData(typed.domain, types, typed.message);
}
