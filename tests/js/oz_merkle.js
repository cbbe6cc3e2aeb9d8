// OpenZeppelin's own @openzeppelin/merkle-tree, driven by tests/test_merkle.py.
// stdin: a JSON list of jobs, each {"values": [...], "encoding": [...], "multi": [[i, ...], ...]}
// (build with StandardMerkleTree.of) or {"dump": {...}} (StandardMerkleTree.load of a Python dump).
// stdout: per job {"root", "proofs" (by value index), "dump", "multi": [{leaves, proof, proofFlags}],
// "verified" (StandardMerkleTree.verify of every value and proof)}.
"use strict";
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");

const jobs = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = jobs.map((job) => {
  const tree = job.dump ? StandardMerkleTree.load(job.dump) : StandardMerkleTree.of(job.values, job.encoding);
  const proofs = [];
  let verified = true;
  for (const [i, value] of tree.entries()) {
    const proof = tree.getProof(i);
    proofs.push(proof);
    verified = verified && StandardMerkleTree.verify(tree.root, tree.leafEncoding, value, proof);
    verified = verified && JSON.stringify(tree.getProof(value)) === JSON.stringify(proof);
  }
  const multi = (job.multi || []).map((indices) => tree.getMultiProof(indices));
  return { root: tree.root, proofs, dump: tree.dump(), multi, verified };
});
process.stdout.write(JSON.stringify(out));
