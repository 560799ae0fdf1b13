/**
 * "Pair a phone" (LAN mode only: the panel exists when the server runs with --lan):
 * a fresh one-time pairing link from `POST /api/pairing`, shown as the server's
 * QR code (SVG) and as text. A code works once for 10 minutes; the panel asks
 * for a new one before it expires, and on "New code".
 */
import { api } from "../api.js";
import { $, setText } from "../dom.js";
import { t } from "../i18n.js";

export function createPairing(ctx) {
  const panel = $("#pairing");
  if (!panel) return null;
  const img = $("#pairing-qr");
  const link = $("#pairing-link");
  let objectUrl = null;
  let timer = null;

  async function refresh() {
    clearTimeout(timer);
    try {
      const data = await api.post("/api/pairing", { next: "/mobile" });
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(new Blob([data.svg], { type: "image/svg+xml" }));
      img.src = objectUrl;
      img.alt = t("pairing.qr");
      link.href = data.url;
      setText(link, data.url);
      panel.dataset.ready = "yes";
      timer = setTimeout(refresh, Math.max(30, data.expires_in - 30) * 1000);
    } catch (err) {
      panel.dataset.ready = "no";
      ctx.notify("error", t("error.pairing", { error: err.message }));
    }
  }

  $("#pairing-new").addEventListener("click", refresh);
  refresh();
  return { refresh };
}
