// The checkout's configuration: a JSON data block (CSP allows data blocks, not inline scripts) named by the
// container's `data-checkout-config` attribute (default id "checkout-config"). Amounts are strings of token
// base units (no floats anywhere). Shape:
// {
//   "chain": {"id": 31337, "name": "Flowcast dev chain", "rpc_url": "http://127.0.0.1:8545"},   // rpc_url: for wallet_addEthereumChain only
//   "token": {"address": "0x…", "decimals": 18, "symbol": "FLOW"},
//   "stream": {"kind": "flowcast" | "sablier", "address": "0x…", "min_rate": "5",             // base units per second
//              "durations": [3600, 86400], "start_delay_seconds": 60} | null,                // durations offered, in seconds
//   "price": "1000000000000000000" | null,                                                     // one-time payment, base units
//   "creator": "0x…",                                                                           // recipient of streams and payments
//   "video_id": 7,
//   "playback_url": "/api/videos/7/playback",                                                   // polled until 200
//   "confirmations": 2,
//   "poll_interval_ms": 2000                                                                    // optional
// }
import { getAddress } from "viem";

export class ConfigError extends Error {}

function address(value, name) {
  try {
    return getAddress(value);
  } catch {
    throw new ConfigError(`checkout config: ${name} is not an address: ${JSON.stringify(value)}`);
  }
}

function baseUnits(value, name) {
  if (typeof value !== "string" || !/^[0-9]+$/.test(value)) throw new ConfigError(`checkout config: ${name} must be a string of digits (token base units).`);
  return BigInt(value);
}

function positiveInt(value, name) {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`checkout config: ${name} must be a positive integer.`);
  return value;
}

export function parseConfig(raw) {
  const chain = raw.chain || {};
  const token = raw.token || {};
  const config = {
    chain: { id: positiveInt(chain.id, "chain.id"), name: chain.name || "", rpc_url: chain.rpc_url || "", explorer_url: chain.explorer_url || "",
      native_currency: chain.native_currency },
    token: { address: address(token.address, "token.address"), decimals: Number.isInteger(token.decimals) ? token.decimals : (() => { throw new ConfigError("checkout config: token.decimals must be an integer."); })(),
      symbol: String(token.symbol || "") },
    creator: address(raw.creator, "creator"),
    videoId: raw.video_id,
    playbackUrl: String(raw.playback_url || ""),
    confirmations: raw.confirmations === undefined ? 1 : positiveInt(raw.confirmations, "confirmations"),
    pollIntervalMs: raw.poll_interval_ms === undefined ? 2000 : positiveInt(raw.poll_interval_ms, "poll_interval_ms"),
    price: raw.price == null ? null : baseUnits(raw.price, "price"),
    stream: null,
  };
  if (raw.stream) {
    const s = raw.stream;
    if (s.kind !== "flowcast" && s.kind !== "sablier") throw new ConfigError('checkout config: stream.kind must be "flowcast" or "sablier".');
    const durations = (s.durations && s.durations.length ? s.durations : [3600]).map((d, i) => positiveInt(d, `stream.durations[${i}]`));
    config.stream = { kind: s.kind, address: address(s.address, "stream.address"), minRate: baseUnits(s.min_rate, "stream.min_rate"),
      durations, startDelaySeconds: s.start_delay_seconds === undefined ? 60 : s.start_delay_seconds };
    if (config.stream.minRate === 0n) throw new ConfigError("checkout config: stream.min_rate must be above zero.");
  }
  if (!config.stream && config.price === null) throw new ConfigError("checkout config: neither a stream nor a price: nothing to pay.");
  if (!config.playbackUrl) throw new ConfigError("checkout config: playback_url is missing.");
  return config;
}

export function readConfig(container) {
  const id = container.dataset.checkoutConfig || "checkout-config";
  const block = document.getElementById(id);
  if (!block || block.type !== "application/json") throw new ConfigError(`checkout config: no <script type="application/json" id="${id}"> block.`);
  return parseConfig(JSON.parse(block.textContent));
}

// The contract's rule: deposit = rate × duration exactly (PaymentStream requires deposit % duration == 0),
// and the rate is at least the video's minimum.
export function streamTerms(config, { rate, duration }) {
  const r = BigInt(rate);
  const d = BigInt(duration);
  if (d <= 0n) throw new ConfigError("Choose a duration.");
  if (r < config.stream.minRate) throw new ConfigError(`The rate must be at least ${config.stream.minRate} base units per second.`);
  return { rate: r, duration: d, deposit: r * d };
}
