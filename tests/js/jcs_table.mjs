// RFC 8785 (JCS) with npm's `canonicalize`, the independent implementation the Python one is compared with.
// Reads {"cases": [JSON text, ...]} on stdin; prints one result per case:
// {"ok": true, "hex": UTF-8 bytes of canonicalize(JSON.parse(text)) as hex} or {"ok": false, "error": "..."}.
import canonicalize from "canonicalize";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { cases } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const out = cases.map((text) => {
  try {
    return { ok: true, hex: Buffer.from(canonicalize(JSON.parse(text)), "utf8").toString("hex") };
  } catch (err) {
    return { ok: false, error: String(err.message || err) };
  }
});
process.stdout.write(JSON.stringify(out));
