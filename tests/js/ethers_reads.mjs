// Reads the figures a verifier needs through ethers v6 from a JSON-RPC URL, and prints them as JSON.
// Usage: node ethers_reads.mjs RPC_URL REQUEST_JSON   (REQUEST: {notary, abi, deployTx, anchorTx, block})
import { JsonRpcProvider, Contract } from "ethers";

const [url, requestJson] = process.argv.slice(2);
const req = JSON.parse(requestJson);
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 });
const notary = new Contract(req.notary, req.abi, provider);

const network = await provider.getNetwork();
const deploy = await provider.getTransaction(req.deployTx);
const anchor = await provider.getTransaction(req.anchorTx);
const receipt = await provider.getTransactionReceipt(req.anchorTx);
const block = await provider.getBlock(req.block, true);
const events = await notary.queryFilter(notary.filters.DocumentAnchored(), 0, "latest");
const out = {
  chainId: network.chainId.toString(),
  blockNumber: await provider.getBlockNumber(),
  deployTo: deploy.to,
  deployCreates: deploy.to === null && deploy.data.length > 2,
  anchorFrom: anchor.from,
  anchorData: anchor.data,
  receiptStatus: receipt.status,
  receiptBlock: receipt.blockNumber,
  receiptLogs: receipt.logs.length,
  blockHash: block.hash,
  blockTxs: block.prefetchedTransactions.map((t) => t.hash),
  anchorCount: (await notary.anchorCount()).toString(),
  events: events.map((e) => ({ hash: e.args.documentHash, sequence: e.args.sequence.toString() })),
  code: (await provider.getCode(req.notary)).length,
  balance: (await provider.getBalance(anchor.from)).toString(),
};
console.log(JSON.stringify(out));
