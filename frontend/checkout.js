// "Pay with wallet": connect, choose (a stream of a chosen duration or the one-time price), approve, create,
// wait for N confirmations, then poll the playback API until the video is playable and tell the player
// (a `flowcast:playable` event on the container, bubbling, with the playback JSON as detail).
import { formatUnits, parseEventLogs, parseUnits, zeroAddress } from "viem";

import { erc20Abi, paymentStreamAbi, sablierLockupLinearAbi } from "./abis.js";
import { readConfig, streamTerms } from "./config.js";
import { describeError, openWallet } from "./wallet.js";

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One line per step (approve, create, confirmations, unlock) with its state in data-state.
class Steps {
  constructor(list) {
    this.list = list;
    this.items = new Map();
  }
  set(name, state, text) {
    let item = this.items.get(name);
    if (!item) {
      item = el("li", { "data-step": name });
      item.append(el("span", { class: "step-text" }));
      this.items.set(name, item);
      this.list.append(item);
    }
    item.dataset.state = state;
    item.querySelector(".step-text").textContent = text;
    return item;
  }
  reset() {
    this.items.clear();
    this.list.replaceChildren();
  }
  progress(name, value, max) {
    const item = this.items.get(name);
    let bar = item.querySelector("progress");
    if (!bar) {
      bar = el("progress", { "data-progress": name });
      item.append(bar);
    }
    bar.max = max;
    bar.value = Math.min(value, max);
  }
}

async function approveIfNeeded(ctx, config, spender, amount, steps) {
  const { publicClient, walletClient, account } = ctx;
  const allowance = await publicClient.readContract({ address: config.token.address, abi: erc20Abi, functionName: "allowance", args: [account, spender] });
  if (allowance >= amount) {
    steps.set("approve", "skipped", "Approve: your allowance already covers it.");
    return;
  }
  steps.set("approve", "waiting", `Approve ${formatUnits(amount, config.token.decimals)} ${config.token.symbol}: confirm in your wallet…`);
  const { request } = await publicClient.simulateContract({ account, address: config.token.address, abi: erc20Abi, functionName: "approve", args: [spender, amount] });
  const hash = await walletClient.writeContract(request);
  steps.set("approve", "pending", "Approve: sent, waiting for the block…");
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("The approve transaction reverted.");
  steps.set("approve", "done", "Approve: done.");
}

// Wait until the transaction has `confirmations` blocks on top (counting its own), showing a progress bar.
// A receipt that moves to another block (a reorg) restarts the count.
async function waitConfirmations(ctx, hash, confirmations, steps) {
  const { publicClient } = ctx;
  steps.set("confirm", "pending", `Waiting for ${confirmations} confirmation(s)…`);
  steps.progress("confirm", 0, confirmations);
  let receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("The transaction reverted.");
  for (;;) {
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    const seen = Number(head - receipt.blockNumber + 1n);
    steps.progress("confirm", seen, confirmations);
    steps.set("confirm", "pending", `Confirmations: ${Math.min(seen, confirmations)} of ${confirmations}`);
    if (seen >= confirmations) {
      const again = await publicClient.getTransactionReceipt({ hash }).catch(() => null);
      if (again && again.blockHash === receipt.blockHash) break;
      receipt = await publicClient.waitForTransactionReceipt({ hash });
      continue;
    }
    await sleep(publicClient.pollingInterval);
  }
  steps.set("confirm", "done", `Confirmed (${confirmations} block${confirmations === 1 ? "" : "s"}).`);
  return receipt;
}

export async function payStream(ctx, config, { rate, duration }, steps) {
  const { publicClient, walletClient, account } = ctx;
  const stream = config.stream;
  const terms = streamTerms(config, { rate, duration });
  await approveIfNeeded(ctx, config, stream.address, terms.deposit, steps);
  steps.set("create", "waiting", "Create the stream: confirm in your wallet…");
  let request;
  if (stream.kind === "flowcast") {
    // startTime must not be before the block that mines it: start a little after the latest block.
    const latest = await publicClient.getBlock({ blockTag: "latest" });
    const start = latest.timestamp + BigInt(stream.startDelaySeconds);
    ({ request } = await publicClient.simulateContract({
      account, address: stream.address, abi: paymentStreamAbi, functionName: "createStream",
      args: [config.creator, terms.deposit, config.token.address, start, start + terms.duration],
    }));
  } else {
    // Non-transferable: the stream keeps paying the creator's wallet the server checks; cancelable, so the
    // viewer gets back what has not streamed.
    ({ request } = await publicClient.simulateContract({
      account, address: stream.address, abi: sablierLockupLinearAbi, functionName: "createWithDurations",
      args: [{ sender: account, recipient: config.creator, totalAmount: terms.deposit, asset: config.token.address, cancelable: true,
        transferable: false, durations: { cliff: 0, total: Number(terms.duration) }, broker: { account: zeroAddress, fee: 0n } }],
    }));
  }
  const hash = await walletClient.writeContract(request);
  steps.set("create", "done", "Create the stream: sent.");
  const receipt = await waitConfirmations(ctx, hash, config.confirmations, steps);
  const abi = stream.kind === "flowcast" ? paymentStreamAbi : sablierLockupLinearAbi;
  const eventName = stream.kind === "flowcast" ? "CreateStream" : "CreateLockupLinearStream";
  const [event] = parseEventLogs({ abi, eventName, logs: receipt.logs.filter((log) => log.address.toLowerCase() === stream.address.toLowerCase()) });
  return { kind: stream.kind, hash, streamId: event ? event.args.streamId.toString() : null, deposit: terms.deposit.toString() };
}

export async function payOnce(ctx, config, steps) {
  const { publicClient, walletClient, account } = ctx;
  steps.set("create", "waiting", `Pay ${formatUnits(config.price, config.token.decimals)} ${config.token.symbol}: confirm in your wallet…`);
  const { request } = await publicClient.simulateContract({ account, address: config.token.address, abi: erc20Abi, functionName: "transfer", args: [config.creator, config.price] });
  const hash = await walletClient.writeContract(request);
  steps.set("create", "done", "Payment: sent.");
  await waitConfirmations(ctx, hash, config.confirmations, steps);
  return { kind: "payment", hash };
}

// Poll the playback API: 200 → playable; 402/403 (not paid yet, the indexer has not seen it) → keep polling.
export async function waitPlayable(config, steps, { timeoutMs = 10 * 60 * 1000 } = {}) {
  steps.set("unlock", "pending", "Waiting for the server to see your payment…");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(config.playbackUrl, { credentials: "same-origin", headers: { Accept: "application/json" } }).catch(() => null);
    if (response && response.ok) {
      steps.set("unlock", "done", "Unlocked.");
      return response.json();
    }
    if (response && ![402, 403, 404, 409, 425, 429, 503].includes(response.status)) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.message || `The playback API answered ${response.status}.`);
    }
    await sleep(config.pollIntervalMs);
  }
  throw new Error("The server has not seen the payment yet; reload the page in a minute.");
}

export function mountCheckout(container, { openWalletFn = openWallet } = {}) {
  const config = readConfig(container);
  const form = el("form", { class: "wallet-checkout", "data-checkout-form": "" });
  const choices = el("fieldset");
  choices.append(el("legend", {}, "Pay with wallet"));
  const modes = [];
  if (config.stream) modes.push(["stream", `Stream (${config.stream.kind === "sablier" ? "Sablier" : "Flowcast"})`]);
  if (config.price !== null) modes.push(["payment", `One-time ${formatUnits(config.price, config.token.decimals)} ${config.token.symbol}`]);
  for (const [value, label] of modes) {
    const wrap = el("label");
    const radio = el("input", { type: "radio", name: "mode", value });
    if (value === modes[0][0]) radio.checked = true;
    wrap.append(radio, " ", label);
    choices.append(wrap);
  }
  let durationSelect = null;
  let rateInput = null;
  const depositLine = el("p", { "data-deposit": "" });
  if (config.stream) {
    const minRate = formatUnits(config.stream.minRate, config.token.decimals);
    durationSelect = el("select", { name: "duration" });
    for (const seconds of config.stream.durations) {
      const hours = seconds / 3600;
      durationSelect.append(el("option", { value: String(seconds) }, hours >= 1 ? `${hours} hour${hours === 1 ? "" : "s"}` : `${seconds} seconds`));
    }
    rateInput = el("input", { name: "rate", inputmode: "decimal", value: minRate, "aria-describedby": "checkout-rate-help" });
    const durationLabel = el("label", {}, "Duration ");
    durationLabel.append(durationSelect);
    const rateLabel = el("label", {}, `Rate (${config.token.symbol} per second, at least ${minRate}) `);
    rateLabel.append(rateInput);
    choices.append(durationLabel, rateLabel, depositLine);
  }
  const button = el("button", { type: "submit", "data-checkout-pay": "" }, "Pay with wallet");
  const steps = new Steps(el("ol", { class: "checkout-steps", "data-checkout-steps": "" }));
  const error = el("p", { class: "checkout-error", role: "alert", "data-checkout-error": "" });
  form.append(choices, button, steps.list, error);
  container.append(form);

  const mode = () => (form.querySelector('input[name="mode"]:checked') || {}).value;
  const terms = () => {
    const rate = parseUnits(rateInput.value.trim() || "0", config.token.decimals);
    return streamTerms(config, { rate, duration: Number(durationSelect.value) });
  };
  const showDeposit = () => {
    if (!config.stream) return;
    try {
      const t = terms();
      depositLine.textContent = `Deposit: ${formatUnits(t.deposit, config.token.decimals)} ${config.token.symbol}`;
    } catch (e) {
      depositLine.textContent = e.message;
    }
  };
  form.addEventListener("input", showDeposit);
  showDeposit();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    steps.reset();
    button.disabled = true;
    container.dataset.state = "paying";
    try {
      const chosen = mode() === "stream" ? terms() : null;
      steps.set("connect", "waiting", "Connect your wallet…");
      const ctx = await openWalletFn(config.chain, { pollingInterval: Math.min(config.pollIntervalMs, 1000) });
      steps.set("connect", "done", `Connected: ${ctx.account} (${ctx.info.name})`);
      const paid = chosen ? await payStream(ctx, config, chosen, steps) : await payOnce(ctx, config, steps);
      container.dispatchEvent(new CustomEvent("flowcast:paid", { bubbles: true, detail: { ...paid, account: ctx.account } }));
      const playback = await waitPlayable(config, steps);
      container.dataset.state = "playable";
      container.dispatchEvent(new CustomEvent("flowcast:playable", { bubbles: true, detail: { videoId: config.videoId, playback, payment: paid } }));
    } catch (e) {
      container.dataset.state = "error";
      error.textContent = describeError(e);
      button.disabled = false;
    }
  });
  return { config, form };
}
