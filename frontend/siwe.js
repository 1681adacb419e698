// "Sign in with Ethereum": GET the nonce and the fields to sign from /api/auth/siwe/nonce, build the EIP-4361
// message (viem's createSiweMessage), personal_sign it in the wallet, POST it to /api/auth/siwe/verify
// (signs in, or links the wallet to the signed-in account). Container attributes:
// data-siwe-api (default "/api/auth/siwe"), data-csrf-url (default "/api/auth/csrf"),
// data-statement (optional), data-next (where to go after signing in; none: stay and emit the event).
import { createSiweMessage } from "viem/siwe";

import { describeError, openWallet } from "./wallet.js";

async function jsonOrError(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `The server answered ${response.status}.`);
  return body;
}

async function csrfToken(url) {
  const body = await jsonOrError(await fetch(url, { credentials: "same-origin" }));
  return body.csrf_token;
}

export async function signInWithEthereum({ api = "/api/auth/siwe", csrfUrl = "/api/auth/csrf", statement = "", openWalletFn = openWallet } = {}) {
  const fields = await jsonOrError(await fetch(`${api}/nonce`, { credentials: "same-origin" }));
  const ctx = await openWalletFn({ id: fields.chain_id }, { switchChain: false });
  const message = createSiweMessage({
    domain: fields.domain,
    address: ctx.account,
    statement: statement || undefined,
    uri: fields.uri,
    version: "1",
    chainId: fields.chain_id,
    nonce: fields.nonce,
    issuedAt: new Date(),
    expirationTime: fields.expires_at ? new Date(fields.expires_at) : undefined,
  });
  const signature = await ctx.walletClient.signMessage({ account: ctx.account, message });
  const csrf = await csrfToken(csrfUrl);
  const result = await jsonOrError(await fetch(`${api}/verify`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify({ message, signature }),
  }));
  return { ...result, message, signature, account: ctx.account };
}

export function mountSiweButton(container) {
  const button = container.querySelector("button") || container.appendChild(Object.assign(document.createElement("button"), { type: "button", textContent: "Sign in with Ethereum" }));
  const status = container.querySelector("[data-siwe-status]") || container.appendChild(Object.assign(document.createElement("p"), { role: "status" }));
  status.setAttribute("data-siwe-status", "");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Waiting for your wallet…";
    try {
      const result = await signInWithEthereum({ api: container.dataset.siweApi, csrfUrl: container.dataset.csrfUrl, statement: container.dataset.statement });
      status.textContent = result.linked ? `Wallet ${result.wallet_address} linked to your account.` : `Signed in as ${result.wallet_address}.`;
      container.dataset.state = "signed";
      container.dispatchEvent(new CustomEvent("flowcast:siwe", { bubbles: true, detail: result }));
      if (container.dataset.next) window.location.assign(container.dataset.next);
    } catch (e) {
      container.dataset.state = "error";
      status.textContent = describeError(e);
    } finally {
      button.disabled = false;
    }
  });
}
