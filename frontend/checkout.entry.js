// static/wallet/checkout.js: mounts every [data-checkout] container (the watch page's paywall).
import { mountCheckout } from "./checkout.js";

function mountAll() {
  for (const container of document.querySelectorAll("[data-checkout]")) {
    try {
      mountCheckout(container);
    } catch (e) {
      container.dataset.state = "error";
      container.textContent = e.message;
    }
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
else mountAll();
