/**
 * The phone view (/mobile): cull one photo at a time. Swipe right or tap
 * Approve, swipe left or tap Reject (with an optional reason chip); tap the
 * stars to rate, Pick/Reject to flag (or swipe up/down), a dot for a colour
 * label; the Undo button takes back this phone's last action (a rating, flag
 * or label by PATCHing the old value back, a decision by POST
 * /api/approval/<id>/undo), also after a reload. Session progress and
 * decisions on top. Registers as client_type "mobile"; state from the HTTP
 * API, then events only, on the channels of the events it handles (from the
 * server's catalogue). Every word comes from i18n.js: elements carry their
 * key and values (`say`), so a language switch rewrites them in place.
 */
import { api, listOf } from "./api.js";
import { $, $$ } from "./dom.js";
import { apply, has, load as loadWords } from "./i18n.js";
import { PhoneQueue, phonePhoto } from "./phone/queue.js";
import { attachSwipe } from "./phone/swipe.js";
import { UndoStack } from "./phone/undo.js";
import { channelsOf, connect, loadCatalog } from "./realtime.js";

const photos = new Map();
const sessions = new Map();
const card = $("#m-card");
const img = $("#m-img");
const sessionSelect = $("#m-session");
let shownId;
let busy = false;

/** Show the words of `key` with `params` in `el` (attribute `attr` if given), now and after a switch. */
function say(el, key, params, attr) {
  if (attr) el.dataset.i18nAttr = `${attr}:${key}`;
  else el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  apply(el);
}

/** Show `text` in `el` as data, not words (a file name, a tag we have no word for). */
function showData(el, text) {
  delete el.dataset.i18n;
  el.dataset.i18nSkip = "";
  el.textContent = text;
}

function clear(el) {
  delete el.dataset.i18n;
  delete el.dataset.i18nParams;
  el.textContent = "";
}

function flash(el, key, params, ms = 4000) {
  say(el, key, params);
  clearTimeout(el.timer);
  el.timer = setTimeout(() => clear(el), ms);
}

function showError(err) {
  if (err && err.code && has(`mobile.error.${err.code}`)) flash($("#m-error"), `mobile.error.${err.code}`);
  else if (err && err.status === undefined) flash($("#m-error"), "error.network");
  else flash($("#m-error"), "error.generic", { message: (err && err.message) || String(err) });
}

const queue = new PhoneQueue(photos, () => render(), showError);
const undo = new UndoStack(() => renderUndo());

function nameOf(photo) {
  return photo.file_name || `#${photo.id}`;
}

function current() {
  const id = queue.order()[0];
  return id === undefined ? undefined : photos.get(id) || { id };
}

// --- rendering --------------------------------------------------------------

function render() {
  const ids = queue.order();
  const photo = current();
  card.hidden = !photo;
  $("#m-empty").hidden = Boolean(photo);
  for (const button of $$(".m-actions button:not(#m-undo)")) button.disabled = !photo;
  const left = queue.left();
  if (left) say($("#m-left"), "mobile.left", { n: left });
  else clear($("#m-left"));
  if (!photo) {
    shownId = undefined;
  } else {
    if (photo.id !== shownId) {
      shownId = photo.id;
      card.dataset.photo = String(photo.id);
      img.src = `/api/photos/${encodeURIComponent(photo.id)}/developed`;
      img.alt = nameOf(photo);
      resetCard();
      $$(".chip").forEach((c) => c.setAttribute("aria-pressed", "false")); // a reason is one photo's
      if (ids[1] !== undefined) new Image().src = `/api/photos/${encodeURIComponent(ids[1])}/developed`;
    }
    renderPhoto(photo);
  }
  renderProgress();
}

function renderPhoto(photo) {
  showData($("#m-name"), nameOf(photo));
  const score = $("#m-score");
  if (typeof photo.ai_score === "number") say(score, "score.value", { score: photo.ai_score.toFixed(1) });
  else clear(score);
  const tag = $("#m-tag");
  if (photo.context_tag && has(`tag.${photo.context_tag}`)) say(tag, `tag.${photo.context_tag}`);
  else if (photo.context_tag) showData(tag, photo.context_tag);
  else clear(tag);
  showData($("#m-preset"), photo.preset || "");
  const rating = photo.rating || 0;
  for (const star of $$(".star")) star.setAttribute("aria-pressed", String(Number(star.dataset.rating) <= rating));
  card.dataset.rating = String(rating);
  for (const button of $$(".flag")) button.setAttribute("aria-pressed", String(button.dataset.flag === photo.flag));
  card.dataset.flag = photo.flag || "";
  for (const dot of $$(".label-dot")) dot.setAttribute("aria-pressed", String(dot.dataset.label === photo.color_label));
  card.dataset.label = photo.color_label || "";
}

function sessionList() {
  const chosen = sessionSelect.value;
  if (!chosen) return [...sessions.values()];
  return [sessions.get(Number(chosen))].filter(Boolean);
}

function renderProgress() {
  const list = sessionList();
  const sum = (key) => list.reduce((a, s) => a + (s[key] || 0), 0);
  const total = sum("total");
  const processed = sum("processed");
  const percent = total ? (100 * processed) / total : 0;
  $("#m-progress").value = percent;
  const params = { processed, total, percent: Math.round(percent) };
  const chosen = sessionSelect.value && list[0];
  if (chosen) say($("#m-progress-text"), "mobile.progress_session", { ...params, name: chosen.name || `#${chosen.id}` });
  else say($("#m-progress-text"), "mobile.progress_all", params);
  const decided = $("#m-decided");
  decided.dataset.approved = String(sum("approved"));
  decided.dataset.rejected = String(sum("rejected"));
  say(decided, "mobile.decided", { approved: sum("approved"), rejected: sum("rejected") });
}

function renderUndo() {
  const button = $("#m-undo");
  const action = undo.last();
  button.disabled = !action;
  if (!action) {
    say(button, "mobile.undo_nothing", undefined, "title");
    return;
  }
  const what = action.kind === "decision" ? action.decision : Object.keys(action.before)[0];
  say(button, `mobile.undo_what.${what}`, { name: action.name }, "title");
}

function mergeSession(patch) {
  const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const s = { ...(sessions.get(clean.id) || {}), ...clean };
  sessions.set(s.id, s);
  let option = sessionSelect.querySelector(`option[value="${CSS.escape(String(s.id))}"]`);
  if (!option) {
    option = document.createElement("option");
    option.value = String(s.id);
    sessionSelect.append(option);
  }
  if (s.name) showData(option, s.name);
  else say(option, "mobile.session_fallback", { id: String(s.id) });
  renderProgress();
}

function sessionFromApi(raw) {
  return { id: raw.id, name: raw.name, total: raw.total_photos, processed: raw.processed_photos,
    approved: raw.approved_photos, rejected: raw.rejected_photos };
}

/** Re-read a session's counts after a decision anywhere (one request at a time per session). */
const sessionReads = new Map();
function refreshSession(id) {
  if (id === undefined || id === null) return;
  if (sessionReads.has(id)) {
    sessionReads.set(id, "again");
    return;
  }
  sessionReads.set(id, "busy");
  api.get(`/api/sessions/${encodeURIComponent(id)}`)
    .then((data) => mergeSession(sessionFromApi((data && data.session) || data)))
    .catch(showError)
    .finally(() => {
      const again = sessionReads.get(id) === "again";
      sessionReads.delete(id);
      if (again) refreshSession(id);
    });
}

// --- actions ----------------------------------------------------------------

/** Run one write at a time: a tap while the last is in flight waits its turn. */
let chain = Promise.resolve();
function serial(fn) {
  chain = chain.then(fn, fn);
  return chain;
}

function merge(id, patch) {
  const photo = { ...(photos.get(id) || { id }), ...patch };
  photos.set(id, photo);
  if (id === shownId) renderPhoto(photo);
  return photo;
}

/**
 * Set marks (rating, flag, color_label) on the current photo, undoably. The photo and the
 * undo stack change at once (the next tap, or an undo, builds on this one; a reload right
 * after still knows it), the PATCH follows in turn, and a refusal takes both back.
 */
function mark(change) {
  const photo = current();
  if (!photo) return undefined;
  const before = Object.fromEntries(Object.keys(change).map((k) => [k, photo[k] ?? (k === "rating" ? 0 : null)]));
  merge(photo.id, change);
  const entry = { kind: "marks", photo_id: photo.id, name: nameOf(photo), before };
  undo.push(entry);
  return serial(async () => {
    try {
      const data = await api.patch(`/api/photos/${encodeURIComponent(photo.id)}`, change);
      if (data && data.photo) merge(photo.id, phonePhoto(data.photo));
    } catch (err) {
      undo.remove(entry);
      merge(photo.id, before);
      showError(err);
    }
  });
}

function reason() {
  const chip = $(".chip[aria-pressed=true]");
  return chip ? chip.dataset.reason : "";
}

/** Approve or reject the current photo (one decision at a time); undoable at once. */
async function decide(action) {
  const photo = current();
  if (!photo || busy) return;
  busy = true;
  card.dataset.swipe = action === "approve" ? "right" : "left";
  card.classList.add("leaving");
  const decision = action === "approve" ? "approved" : "rejected";
  const entry = { kind: "decision", photo_id: photo.id, name: nameOf(photo), decision };
  undo.push(entry);
  const body = action === "reject" ? { reason: reason() } : { auto_export: false };
  await serial(async () => {
    try {
      await api.post(`/api/approval/${encodeURIComponent(photo.id)}/${action}`, body);
      merge(photo.id, { decision });
      queue.remove(photo.id);
      if (navigator.vibrate) navigator.vibrate(15);
    } catch (err) {
      undo.remove(entry);
      showError(err);
      resetCard();
      if (err.status === 409) queue.refresh();
    }
  });
  busy = false;
}

/** Take back the last action: taken off the stack at the tap, done after what is in flight. */
function undoLast() {
  const action = undo.pop();
  if (!action) return undefined;
  if (action.kind === "marks") merge(action.photo_id, action.before);
  return serial(async () => {
    try {
      if (action.kind === "decision") {
        const data = await api.post(`/api/approval/${encodeURIComponent(action.photo_id)}/undo`, {});
        const back = (data && data.photo) || { id: action.photo_id };
        const chosen = sessionSelect.value;
        if (!chosen || String(back.session_id ?? chosen) === chosen) await queue.pin(back);
      } else {
        const data = await api.patch(`/api/photos/${encodeURIComponent(action.photo_id)}`, action.before);
        if (data && data.photo) merge(action.photo_id, phonePhoto(data.photo));
      }
      flash($("#m-status"), "mobile.undone", { name: action.name });
    } catch (err) {
      showError(err);
      // A photo gone (404) or a decision already taken back elsewhere (409) has nothing left
      // to undo; anything else may work on a second try.
      if (err.status !== 404 && err.status !== 409) undo.push(action);
      if (action.kind === "marks") {
        api.get(`/api/photos/${encodeURIComponent(action.photo_id)}`)
          .then((data) => data && data.photo && merge(action.photo_id, phonePhoto(data.photo)))
          .catch(() => {}); // the server's marks come back with the next event or load
      }
    }
  });
}

function resetCard() {
  card.classList.remove("dragging", "leaving");
  card.style.transform = "";
  delete card.dataset.swipe;
}

const swipe = attachSwipe(card, (way) => {
  if (way === "right") decide("approve");
  else if (way === "left") decide("reject");
  else if (way === "up") mark({ flag: current()?.flag === "pick" ? null : "pick" });
  else if (way === "down") mark({ flag: current()?.flag === "reject" ? null : "reject" });
}, { enabled: () => !busy });

$("#m-approve").addEventListener("click", () => decide("approve"));
$("#m-reject").addEventListener("click", () => decide("reject"));
$("#m-undo").addEventListener("click", () => undoLast());
$$(".star").forEach((star) => star.addEventListener("click", () => {
  const n = Number(star.dataset.rating);
  mark({ rating: (current()?.rating || 0) === n ? 0 : n });
}));
$$(".flag").forEach((button) => button.addEventListener("click", () => {
  mark({ flag: current()?.flag === button.dataset.flag ? null : button.dataset.flag });
}));
$$(".label-dot").forEach((dot) => dot.addEventListener("click", () => {
  mark({ color_label: current()?.color_label === dot.dataset.label ? null : dot.dataset.label });
}));
$$(".chip").forEach((chip) => chip.addEventListener("click", () => {
  const on = chip.getAttribute("aria-pressed") !== "true";
  $$(".chip").forEach((c) => c.setAttribute("aria-pressed", "false"));
  chip.setAttribute("aria-pressed", String(on));
}));
sessionSelect.addEventListener("change", () => {
  queue.sessionId = sessionSelect.value;
  queue.pinned = undefined;
  shownId = undefined;
  swipe.reset();
  queue.refresh();
});

// --- live -------------------------------------------------------------------

const handlers = {
  photo_approved: (m) => {
    refreshSession(m.session_id);
    merge(m.photo_id, { decision: "approved" });
    queue.remove(m.photo_id);
  },
  photo_rejected: (m) => {
    refreshSession(m.session_id);
    merge(m.photo_id, { decision: "rejected" });
    queue.remove(m.photo_id);
  },
  photo_decision_reverted: (m) => {
    refreshSession(m.session_id);
    merge(m.photo_id, { decision: null });
    queue.reverted(m.photo_id);
  },
  photo_rated: (m) => merge(m.photo_id, { rating: m.rating, flag: m.flag ?? null, color_label: m.color_label ?? null }),
  approval_queue_updated: (m) => {
    if (m.session_id !== undefined || m.queue_count !== queue.total) queue.refresh();
  },
  job_completed: () => queue.refresh(),
  session_created: (m) => mergeSession({ id: m.session_id, name: m.session_name }),
  session_updated: (m) => mergeSession({ id: m.session_id, total: m.total_photos,
    processed: m.processed_photos }),
  session_completed: (m) => mergeSession({ id: m.session_id, total: m.total_photos,
    approved: m.approved_photos }),
  photo_analyzed: (m) => merge(m.photo_id, { ai_score: m.ai_score }),
  photo_selected: (m) => merge(m.photo_id, { context_tag: m.context_tag, preset: m.selected_preset }),
};

let catalog;
try {
  [catalog] = await Promise.all([loadCatalog(), loadWords("mobile")]);
} catch (err) {
  showError(err);
  throw err;
}
renderUndo();
const rt = connect({ clientType: "mobile", clientName: "Darkroom phone",
  channels: channelsOf(catalog, Object.keys(handlers)) });
window.darkroomClient = rt;
const pill = $("#conn-state");
rt.on("state", ({ state }) => {
  pill.dataset.state = state;
  say(pill, `conn.${state}`);
  document.body.dataset.connection = state;
});

let held = null;
rt.on("*", (msg) => {
  if (!msg.channel || !handlers[msg.type]) return;
  if (held) held.push(msg);
  else handlers[msg.type](msg);
});
rt.on("resync", async () => {
  held = held || [];
  document.body.dataset.sync = "loading";
  try {
    const data = await api.get("/api/sessions");
    for (const raw of listOf(data, "sessions")) mergeSession(sessionFromApi(raw));
    await queue.load();
  } catch (err) {
    showError(err);
  }
  const pending = held;
  held = null;
  pending.forEach((m) => handlers[m.type](m));
  document.body.dataset.sync = "ready";
});
