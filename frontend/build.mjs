// Bundle the wallet pages' scripts with esbuild into static/wallet/ (committed, so running the platform needs
// no node build step; tests/test_wallet_bundle.py rebuilds into a temporary directory and compares).
// Usage: node frontend/build.mjs [outdir]
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] || path.join(here, "..", "static", "wallet"));

await build({
  entryPoints: { checkout: path.join(here, "checkout.entry.js"), siwe: path.join(here, "siwe.entry.js") },
  outdir,
  bundle: true,
  format: "iife",
  minify: true,
  target: ["es2020"],
  platform: "browser",
  legalComments: "eof",
  charset: "utf8",
  logLevel: "warning",
  absWorkingDir: path.join(here, ".."),
});
