// The injected wallet: EIP-6963 discovery (window.ethereum as the fallback), connect, the configured chain,
// and viem clients over the wallet's own EIP-1193 provider (the page's CSP allows no other RPC origin).
import { createPublicClient, createWalletClient, custom, getAddress, numberToHex } from "viem";

// EIP-6963: wallets answer `eip6963:requestProvider` with `eip6963:announceProvider` events.
export function discoverProviders({ timeoutMs = 300 } = {}) {
  return new Promise((resolve) => {
    const found = new Map();
    const onAnnounce = (event) => {
      const detail = event.detail;
      if (detail && detail.info && detail.provider && typeof detail.provider.request === "function") {
        found.set(detail.info.uuid || detail.info.rdns || String(found.size), detail);
      }
    };
    window.addEventListener("eip6963:announceProvider", onAnnounce);
    window.dispatchEvent(new Event("eip6963:requestProvider"));
    setTimeout(() => {
      window.removeEventListener("eip6963:announceProvider", onAnnounce);
      const providers = [...found.values()];
      if (!providers.length && window.ethereum && typeof window.ethereum.request === "function") {
        providers.push({ info: { uuid: "window.ethereum", name: "Browser wallet", rdns: "", icon: "" }, provider: window.ethereum });
      }
      resolve(providers);
    }, timeoutMs);
  });
}

export class WalletError extends Error {
  constructor(message, { code, cause } = {}) {
    super(message, { cause });
    this.code = code;
  }
}

// What a wallet or a revert said, in one line a viewer can read.
export function describeError(error) {
  if (!error) return "Unknown error.";
  // viem wraps the wallet's EIP-1193 error (4001: the user said no) in its own errors: walk the causes.
  for (let e = error; e; e = e.cause) {
    if (e.code === 4001) return "You rejected the request in your wallet.";
  }
  return error.shortMessage || error.message || String(error);
}

export async function connect(provider) {
  const accounts = await provider.request({ method: "eth_requestAccounts" });
  if (!accounts || !accounts.length) throw new WalletError("The wallet shared no account.");
  return getAddress(accounts[0]);
}

// The chain as viem wants it, from the checkout's configuration.
export function chainFromConfig(chain) {
  const rpc = chain.rpc_url ? [chain.rpc_url] : [];
  return {
    id: Number(chain.id),
    name: chain.name || `Chain ${chain.id}`,
    nativeCurrency: chain.native_currency || { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: rpc } },
  };
}

// Switch to the configured chain; a wallet that does not know it (4902) is asked to add it, then to switch.
export async function ensureChain(provider, chain) {
  const wanted = numberToHex(Number(chain.id));
  const current = await provider.request({ method: "eth_chainId" });
  if (current && BigInt(current) === BigInt(wanted)) return;
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: wanted }] });
  } catch (error) {
    const code = error && (error.code ?? (error.data && error.data.originalError && error.data.originalError.code));
    if (code !== 4902) throw error;
    if (!chain.rpc_url) throw new WalletError(`Your wallet does not know chain ${chain.id} and no RPC URL is configured to add it.`);
    await provider.request({
      method: "wallet_addEthereumChain",
      params: [{
        chainId: wanted,
        chainName: chain.name || `Chain ${chain.id}`,
        nativeCurrency: chain.native_currency || { name: "Ether", symbol: "ETH", decimals: 18 },
        rpcUrls: [chain.rpc_url],
        blockExplorerUrls: chain.explorer_url ? [chain.explorer_url] : undefined,
      }],
    });
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: wanted }] });
  }
  const after = await provider.request({ method: "eth_chainId" });
  if (BigInt(after) !== BigInt(wanted)) throw new WalletError(`The wallet is on chain ${BigInt(after)}, not ${chain.id}.`);
}

export function makeClients(provider, account, chainConfig, { pollingInterval = 1000 } = {}) {
  const chain = chainFromConfig(chainConfig);
  const transport = custom(provider);
  return {
    chain,
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval }),
    walletClient: createWalletClient({ account, chain, transport, pollingInterval }),
  };
}

// Discover, connect, switch: what every wallet button does first. Signing a message needs no chain switch
// (the SIWE message names its chain itself), so the sign-in button passes switchChain: false.
export async function openWallet(chainConfig, { providers, pollingInterval, switchChain = true } = {}) {
  const found = providers || (await discoverProviders());
  if (!found.length) throw new WalletError("No browser wallet found. Install one (for example MetaMask or Rabby) and reload.", { code: "no_wallet" });
  const { provider, info } = found[0];
  const account = await connect(provider);
  if (switchChain) await ensureChain(provider, chainConfig);
  return { provider, info, ...makeClients(provider, account, chainConfig, { pollingInterval }) };
}
