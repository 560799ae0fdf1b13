/**
 * The dashboard (/): initial state from the HTTP API, then only events.
 *
 * Every panel exports `load()` (HTTP) and `handlers` (event type -> fn). On
 * `resync` (first connect, or a reconnect the server could not replay) all
 * panels reload; events that arrive meanwhile are held and applied after the
 * reload, so an HTTP answer never overwrites a newer event. The channels
 * held, and the event log's filters, are the server's catalogue. Events with
 * `source: "external"` (anyone's POST /websocket/broadcast) are shown in the
 * log only: they are claims, not the pipeline's state.
 */
import { connect, loadCatalog } from "./realtime.js";
import { $, setText } from "./dom.js";
import { load as loadWords, mountSwitch, onChange, t } from "./i18n.js";
import { createApproval } from "./dash/approval.js";
import { createCulling } from "./dash/culling.js";
import { createGallery } from "./dash/gallery.js";
import { createJobs } from "./dash/jobs.js";
import { createLog } from "./dash/log.js";
import { createLoupe } from "./dash/loupe.js";
import { createSessions } from "./dash/sessions.js";
import { createNotices, createSystem } from "./dash/system.js";
import { createPairing } from "./dash/pairing.js";

await loadWords("dashboard");
mountSwitch($("select[data-lang-switch]"));

const listeners = new Map();
let idle = 0;
/** Run `fn` once the browser has painted and is idle (at most 200 ms later). */
const whenIdle = window.requestIdleCallback
  ? (fn) => window.requestIdleCallback(fn, { timeout: 200 }) : (fn) => setTimeout(fn, 16);
const ctx = {
  photos: new Map(),
  sessions: new Map(),
  current: undefined,
  notify: createNotices(),
  on(name, fn) {
    if (!listeners.has(name)) listeners.set(name, []);
    listeners.get(name).push(fn);
  },
  emit(name, detail) {
    for (const fn of listeners.get(name) || []) fn(detail);
  },
  /**
   * Make `id` the photo the keys act on. "current" is told at once (the gallery and the
   * loupe show it before the next frame); "current-idle" after the paint, to what can wait
   * (the approval panel, the loupe's side), so a held arrow key never waits for them.
   */
  select(id) {
    if (id === undefined || id === ctx.current) return;
    ctx.current = id;
    ctx.emit("current", id);
    if (!idle) {
      idle = whenIdle(() => {
        idle = 0;
        ctx.emit("current-idle", ctx.current);
      });
    }
  },
};
onChange(() => ctx.emit("language"));

// Order matters: the gallery knows photos before jobs and approval name them.
const gallery = createGallery(ctx);
ctx.gallery = gallery;
const approval = createApproval(ctx);
ctx.queue = approval.queue;
ctx.loupe = createLoupe(ctx);
createCulling(ctx);
const panels = [createSessions(ctx), gallery, createJobs(ctx), approval, ctx.loupe, createSystem(ctx)];

/** What the page says when a request fails: `GET /path (503)`, or the error's text. */
function describe(err) {
  return err.path ? `${err.path} (${err.status})` : err.message;
}

let catalog;
try {
  catalog = await loadCatalog();
} catch (err) {
  ctx.notify("error", t("error.load", { what: describe(err) }));
  throw err;
}
const log = createLog(catalog);
createPairing(ctx);

const rt = connect({ clientType: "gui", clientName: "Darkroom dashboard", channels: catalog.channels });
window.darkroomClient = rt;

const pill = $("#conn-state");
let link = { state: "connecting" };
function showLink() {
  const { state, delay } = link;
  setText(pill, state === "reconnecting" && delay !== undefined
    ? t("conn.reconnecting_in", { seconds: Math.ceil(delay / 1000) }) : t(`conn.${state}`));
}
showLink();
ctx.on("language", showLink);
rt.on("state", (info) => {
  link = info;
  pill.dataset.state = info.state;
  showLink();
  document.body.dataset.connection = info.state;
});

let held = null;
let syncing = null;

function dispatch(msg) {
  for (const panel of panels) {
    const handler = panel.handlers[msg.type];
    if (handler) handler(msg);
  }
}

rt.on("*", (msg) => {
  if (!msg.channel) return;
  log.add(msg);
  if (msg.source === "external") return;
  if (held) held.push(msg);
  else dispatch(msg);
});

async function resync() {
  held = held || [];
  document.body.dataset.sync = "loading";
  const results = await Promise.allSettled(panels.map((p) => p.load()));
  const failed = results.filter((r) => r.status === "rejected").map((r) => describe(r.reason));
  if (failed.length) ctx.notify("error", t("error.load", { what: failed.join(", ") }));
  ctx.emit("loaded");
  const pending = held;
  held = null;
  pending.forEach(dispatch);
  document.body.dataset.sync = "ready";
}

rt.on("resync", () => {
  syncing = (syncing || Promise.resolve()).then(resync);
});
rt.on("error", (msg) => ctx.notify("error", t("error.server", { error: msg.error, code: msg.code })));
