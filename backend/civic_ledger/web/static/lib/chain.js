// The trusted deployment in the browser: a JSON-RPC URL of the user's choice (default this server's
// /rpc) and a deployment manifest (default this server's /deployment.json, or a file the user trusts).
// docs/verification.md section 1: check eth_chainId and keccak256(eth_getCode) against the manifest,
// take addresses and ABIs only from the manifest, read views at one block, logs from the deploy block.
import { Contract, Interface, JsonRpcProvider, getAddress, keccak256 } from "ethers";

export const MAX_LOG_BLOCKS = 10_000; // /rpc serves at most rpc_max_log_blocks blocks per eth_getLogs

const KEY_RPC = "civic.rpc";

export function defaultRpc() {
  return localStorage.getItem(KEY_RPC) || new URL("/rpc", location.origin).href;
}

export function rememberRpc(url) {
  if (url && url !== new URL("/rpc", location.origin).href) localStorage.setItem(KEY_RPC, url);
  else localStorage.removeItem(KEY_RPC);
}

export async function fetchManifest(url = "/deployment.json") {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(`manifest ${url}: HTTP ${r.status}`);
  return r.json();
}

export async function manifestFromFile(file) {
  const m = JSON.parse(await file.text());
  if (!m || typeof m !== "object" || !m.contracts || m.chain_id === undefined) {
    throw new Error(`${file.name} is not a deployment manifest (it needs chain_id and contracts)`);
  }
  return m;
}

export class Chain {
  constructor(rpcUrl, manifest) {
    this.rpcUrl = rpcUrl;
    this.manifest = manifest;
    this.chainId = BigInt(manifest.chain_id);
    // cacheTimeout -1: ethers otherwise answers getBlockNumber from a 250 ms cache, so a read made just
    // after a transaction is mined can stop at the block before it.
    this.provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
    this.ifaces = {};
    this.contracts = {};
    this.blocks = new Map();
    this.trusted = {};
  }

  entry(name) {
    const e = this.manifest.contracts[name];
    if (!e) throw new Error(`the manifest has no contract ${name}`);
    return e;
  }

  address(name) {
    return getAddress(this.entry(name).address);
  }

  iface(name) {
    return (this.ifaces[name] ??= new Interface(this.entry(name).abi));
  }

  contract(name) {
    return (this.contracts[name] ??= new Contract(this.address(name), this.entry(name).abi, this.provider));
  }

  // [{name, ok, detail}] for the chain id and the code of each contract named (checked once per name).
  async trust(...names) {
    const out = [];
    const nodeId = (await this.provider.getNetwork()).chainId;
    out.push({ name: "chain_id", ok: nodeId === this.chainId, detail: `node ${nodeId}, manifest ${this.chainId}` });
    for (const name of names) {
      if (!(name in this.trusted)) {
        const e = this.entry(name);
        const code = await this.provider.getCode(e.address);
        this.trusted[name] = keccak256(code) === e.code_hash;
      }
      out.push({ name: `code ${name}`, ok: this.trusted[name], detail: `${this.address(name)} code_hash ${this.entry(name).code_hash.slice(0, 12)}…` });
    }
    return out;
  }

  async requireTrust(...names) {
    const checks = await this.trust(...names);
    const bad = checks.filter((c) => !c.ok);
    if (bad.length) throw new Error(`the node does not match the manifest: ${bad.map((c) => `${c.name} (${c.detail})`).join("; ")}`);
    return checks;
  }

  head() {
    return this.provider.getBlockNumber();
  }

  async block(n) {
    if (!this.blocks.has(n)) this.blocks.set(n, await this.provider.getBlock(n));
    return this.blocks.get(n);
  }

  view(name, fn, args = [], blockTag = undefined) {
    const overrides = blockTag === undefined ? {} : { blockTag };
    return this.contract(name).getFunction(fn).staticCall(...args, overrides);
  }

  // Every event of `name` (optionally filtered by topics) from its deploy block to `toBlock`, decoded with
  // the manifest's ABI, in log order: {name, args, keys, block, index, tx}.
  async events(name, { topics = undefined, toBlock = undefined } = {}) {
    const e = this.entry(name);
    const iface = this.iface(name);
    const to = toBlock ?? (await this.head());
    const out = [];
    for (let from = Number(e.block); from <= to; from += MAX_LOG_BLOCKS) {
      const end = Math.min(from + MAX_LOG_BLOCKS - 1, to);
      const filter = { address: e.address, fromBlock: from, toBlock: end };
      if (topics) filter.topics = topics;
      for (const log of await this.provider.getLogs(filter)) {
        const parsed = iface.parseLog(log);
        if (parsed) {
          out.push({ name: parsed.name, args: parsed.args, keys: new Set(parsed.fragment.inputs.map((i) => i.name)), block: log.blockNumber, index: log.index, tx: log.transactionHash });
        }
      }
    }
    out.sort((a, b) => a.block - b.block || a.index - b.index);
    return out;
  }

  topic(name, event) {
    return this.iface(name).getEvent(event).topicHash;
  }
}

export const word = (value) => "0x" + BigInt(value).toString(16).padStart(64, "0");
export const addressWord = (a) => "0x" + getAddress(a).slice(2).toLowerCase().padStart(64, "0");
