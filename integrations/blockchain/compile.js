// Compile the contracts with solcjs (npm `solc`) through its standard-JSON API and print
// {ContractName: {abi, bytecode}} as JSON. The CLI has no --evm-version; we pin cancun.
// Usage: node integrations/blockchain/compile.js > integrations/blockchain/artifacts/contracts.json
const fs = require("fs");
const path = require("path");
const solc = require(path.resolve(__dirname, "../../node_modules/solc"));

const dir = path.join(__dirname, "contracts");
const sources = {};
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(dir, file), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) process.stderr.write(e.formattedMessage + "\n");
  process.exit(1);
}
const result = { compiler: solc.version(), evmVersion: "cancun", contracts: {} };
for (const file of Object.keys(output.contracts).sort()) {
  for (const name of Object.keys(output.contracts[file]).sort()) {
    const c = output.contracts[file][name];
    if (!c.evm.bytecode.object) continue; // interfaces
    result.contracts[name] = { abi: c.abi, bytecode: "0x" + c.evm.bytecode.object };
  }
}
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
