/**
 * The phone view (/mobile): cull one photo at a time. Swipe right or tap
 * Approve, swipe left or tap Reject (with an optional reason chip). Session
 * progress on top; new photos appear as they are developed. Registers as
 * client_type "mobile"; state from the HTTP API, then events only, on the
 * channels that carry the events it handles (from the server's catalogue).
 */
import { api, listOf } from "./api.js";
import { ApprovalQueue } from "./approval-queue.js";
import { $, $$, num, setText } from "./dom.js";
import { imageUrl, scoreText } from "./photos.js";
import { channelsOf, connect, loadCatalog } from "./realtime.js";
import { normalizeSession } from "./dash/sessions.js";

const SWIPE = 80;

const photos = new Map();
const sessions = new Map();
const card = $("#m-card");
const img = $("#m-img");
const errorBox = $("#m-error");
const sessionSelect = $("#m-session");
let shownId;
let busy = false;

function showError(err) {
  setText(errorBox, err.message || String(err));
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => setText(errorBox, ""), 4000);
}

const queue = new ApprovalQueue(photos, () => render(), showError);

function visibleIds() {
  const chosen = sessionSelect.value;
  return queue.ids.filter((id) => {
    const photo = photos.get(id);
    return !chosen || (photo && String(photo.session_id) === chosen);
  });
}

function render() {
  const ids = visibleIds();
  const id = ids[0];
  card.hidden = id === undefined;
  $("#m-empty").hidden = id !== undefined;
  $("#m-approve").disabled = id === undefined;
  $("#m-reject").disabled = id === undefined;
  setText($("#m-left"), ids.length ? `${ids.length} to go` : "");
  if (id !== undefined && id !== shownId) {
    shownId = id;
    const photo = photos.get(id) || { id };
    card.dataset.photo = String(id);
    img.src = imageUrl(photo, "developed");
    img.alt = photo.file_name || `photo ${id}`;
    resetCard();
    if (ids[1] !== undefined) new Image().src = imageUrl(photos.get(ids[1]) || { id: ids[1] }, "developed");
  }
  if (id === undefined) shownId = undefined;
  if (id !== undefined) {
    const photo = photos.get(id) || { id };
    setText($("#m-name"), photo.file_name || `photo ${id}`);
    setText($("#m-meta"), [scoreText(photo.ai_score), photo.context_tag, photo.preset]
      .filter(Boolean).join(" \u00b7 "));
  }
  renderProgress();
}

function renderProgress() {
  const chosen = sessionSelect.value;
  const list = chosen ? [sessions.get(Number(chosen)) || sessions.get(chosen)].filter(Boolean)
    : [...sessions.values()];
  const total = list.reduce((a, s) => a + (s.total || 0), 0);
  const processed = list.reduce((a, s) => a + (s.processed || 0), 0);
  const pct = total ? (100 * processed) / total : 0;
  $("#m-progress").value = pct;
  const name = chosen && list[0] ? list[0].name : "All sessions";
  setText($("#m-progress-text"), `${name}: ${processed}/${total} processed (${num(pct)}%)`);
}

function mergeSession(patch) {
  const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const s = { ...(sessions.get(clean.id) || {}), ...clean };
  sessions.set(s.id, s);
  if (!sessionSelect.querySelector(`option[value="${CSS.escape(String(s.id))}"]`)) {
    const option = document.createElement("option");
    option.value = String(s.id);
    sessionSelect.append(option);
  }
  setText(sessionSelect.querySelector(`option[value="${CSS.escape(String(s.id))}"]`),
    s.name || `Session ${s.id}`);
  renderProgress();
}

function reason() {
  const chip = $(".chip[aria-pressed=true]");
  return chip ? chip.dataset.reason : "";
}

async function decide(action) {
  const id = visibleIds()[0];
  if (id === undefined || busy) return;
  busy = true;
  card.dataset.swipe = action;
  card.style.transform = `translateX(${action === "approve" ? 120 : -120}%) rotate(${action === "approve" ? 12 : -12}deg)`;
  card.style.opacity = "0";
  const ok = await queue.decide(id, action, action === "reject" ? reason() : "");
  busy = false;
  if (ok) {
    $$(".chip").forEach((c) => c.setAttribute("aria-pressed", "false"));
    if (navigator.vibrate) navigator.vibrate(15);
  } else {
    resetCard();
  }
}

function resetCard() {
  card.classList.remove("dragging");
  card.style.transform = "";
  card.style.opacity = "";
  delete card.dataset.swipe;
}

// --- touch: swipe the card --------------------------------------------------
let start = null;
card.addEventListener("pointerdown", (ev) => {
  if (busy) return;
  start = { x: ev.clientX, y: ev.clientY, id: ev.pointerId };
  card.setPointerCapture(ev.pointerId);
  card.classList.add("dragging");
});
card.addEventListener("pointermove", (ev) => {
  if (!start || ev.pointerId !== start.id) return;
  const dx = ev.clientX - start.x;
  card.style.transform = `translateX(${dx}px) rotate(${dx / 20}deg)`;
  if (dx > SWIPE) card.dataset.swipe = "approve";
  else if (dx < -SWIPE) card.dataset.swipe = "reject";
  else delete card.dataset.swipe;
});
function endDrag(ev) {
  if (!start || ev.pointerId !== start.id) return;
  const dx = ev.clientX - start.x;
  start = null;
  card.classList.remove("dragging");
  if (ev.type === "pointerup" && dx > SWIPE) decide("approve");
  else if (ev.type === "pointerup" && dx < -SWIPE) decide("reject");
  else resetCard();
}
card.addEventListener("pointerup", endDrag);
card.addEventListener("pointercancel", endDrag);

$("#m-approve").addEventListener("click", () => decide("approve"));
$("#m-reject").addEventListener("click", () => decide("reject"));
$$(".chip").forEach((chip) => chip.addEventListener("click", () => {
  const on = chip.getAttribute("aria-pressed") !== "true";
  $$(".chip").forEach((c) => c.setAttribute("aria-pressed", "false"));
  chip.setAttribute("aria-pressed", String(on));
}));
sessionSelect.addEventListener("change", () => {
  shownId = undefined;
  render();
});

// --- live -------------------------------------------------------------------
const handlers = {
  ...queue.handlers(),
  session_created: (m) => mergeSession({ id: m.session_id, name: m.session_name }),
  session_updated: (m) => mergeSession({ id: m.session_id, total: m.total_photos,
    processed: m.processed_photos }),
  session_completed: (m) => mergeSession({ id: m.session_id, total: m.total_photos }),
  photo_analyzed: (m) => { mergeInto(m.photo_id, { ai_score: m.ai_score }); },
  photo_selected: (m) => { mergeInto(m.photo_id, { context_tag: m.context_tag, preset: m.selected_preset }); },
};

function mergeInto(id, patch) {
  photos.set(id, { ...(photos.get(id) || { id }), ...patch });
  if (id === shownId) render();
}

let catalog;
try {
  catalog = await loadCatalog();
} catch (err) {
  showError(err);
  throw err;
}
const rt = connect({ clientType: "mobile", clientName: "Darkroom phone",
  channels: channelsOf(catalog, Object.keys(handlers)) });
window.darkroomClient = rt;
const pill = $("#conn-state");
rt.on("state", ({ state }) => {
  pill.dataset.state = state;
  setText(pill, state);
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
    for (const raw of listOf(data, "sessions")) mergeSession(normalizeSession(raw));
    await queue.load();
  } catch (err) {
    showError(err);
  }
  const pending = held;
  held = null;
  pending.forEach((m) => handlers[m.type](m));
  document.body.dataset.sync = "ready";
});
