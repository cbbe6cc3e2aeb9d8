// What every page starts with: the language switch, the "where checks run" box and a Chain for it.
import { Chain, defaultRpc, fetchManifest, manifestFromFile, rememberRpc } from "./chain.js";
import { apply, languageSwitch } from "./i18n.js";
import { $, trustBox } from "./ui.js";

export function startPage({ onTrustChange = () => {} } = {}) {
  $("#lang-slot").append(languageSwitch());
  let cached = null;
  const current = trustBox($("#trust"), { defaultRpc, fetchManifest, manifestFromFile, rememberRpc, onChange: () => { cached = null; onTrustChange(); } });
  apply();
  window.addEventListener("unhandledrejection", (ev) => {
    const s = $("#status");
    if (s) { s.textContent = String(ev.reason && ev.reason.message || ev.reason); s.dataset.kind = "error"; }
  });
  return async function chain() {
    if (!cached) {
      const { rpc, manifest } = await current();
      cached = new Chain(rpc, manifest);
    }
    return cached;
  };
}
