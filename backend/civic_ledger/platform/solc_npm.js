#!/usr/bin/env node
// A `solc` executable backed by the npm `solc` package (the real compiler, as WebAssembly).
// It answers the two calls py-solc-x makes: `--version` and `--standard-json` (input on stdin).
// Imports the input does not carry are resolved from --base-path, --include-path and node_modules.
"use strict";
const fs = require("fs");
const path = require("path");

function loadSolc() {
  try {
    return require("solc");
  } catch (err) {
    process.stderr.write("npm package 'solc' not found: run `npm ci` in the project root\n");
    process.exit(2);
  }
}

const args = process.argv.slice(2);
const solc = loadSolc();

if (args.includes("--version")) {
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc_npm.js supports only --version and --standard-json\n");
  process.exit(2);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--base-path" || args[i] === "--include-path") roots.push(args[++i]);
}
roots.push(process.cwd());
try {
  roots.push(path.resolve(path.dirname(require.resolve("solc/package.json")), "..", ".."));
  roots.push(path.resolve(path.dirname(require.resolve("solc/package.json")), ".."));
} catch (err) { /* not reached: loadSolc succeeded */ }

function findImports(unit) {
  for (const root of roots) {
    const candidate = path.resolve(root, unit);
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: "File not found: " + unit + " (searched " + roots.join(", ") + ")" };
}

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const input = Buffer.concat(chunks).toString("utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
});
