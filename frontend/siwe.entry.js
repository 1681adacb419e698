// static/wallet/siwe.js: mounts every [data-siwe] container (the sign-in page and the studio).
import { mountSiweButton } from "./siwe.js";

function mountAll() {
  for (const container of document.querySelectorAll("[data-siwe]")) mountSiweButton(container);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
else mountAll();
