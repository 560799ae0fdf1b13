/**
 * Approval: the queue of developed photos waiting for a decision (capture
 * order), approve and reject (with a reason), and export of the approved
 * photos with live progress. The large photo is the current photo when it
 * waits in the queue (the keys and the gallery share it), else the one
 * picked here; only a window of the list around it is in the DOM.
 * State: GET /api/approval/queue, then `photo_approved`, `photo_rejected`,
 * `photo_decision_reverted`, `approval_queue_updated` and `export_*`.
 */
import { api } from "../api.js";
import { ApprovalQueue } from "../approval-queue.js";
import { $, bytes, h, setText } from "../dom.js";
import { number, t } from "../i18n.js";
import { imageUrl, scoreText } from "../photos.js";
import { joinParts, tagText } from "./text.js";

const AROUND = 30;

export function createApproval(ctx) {
  const list = $("#approval-list");
  const img = $("#approval-img");
  const reason = $("#reject-reason");
  const queue = new ApprovalQueue(ctx.photos, () => render(),
    (err) => ctx.notify("error", t("error.approval", { error: err.message })));
  let currentId;

  function render() {
    const ids = queue.ids;
    if (ids.includes(ctx.current)) currentId = ctx.current;
    let index = ids.indexOf(currentId);
    if (index < 0) {
      index = Math.min(Math.max(0, index), ids.length - 1);
      currentId = ids[index];
    }
    const start = Math.max(0, index - AROUND);
    list.replaceChildren(...ids.slice(start, index + AROUND + 1).map((id) => {
      const photo = ctx.photos.get(id) || { id };
      return h("li", { class: id === currentId ? "current" : "", dataset: { photo: id },
        onclick: () => { currentId = id; ctx.select(id); ctx.gallery.reveal(id); render(); } },
      h("span", { class: "approval-name", translate: !photo.file_name, text: photo.file_name || t("photo.unnamed", { id }) }),
      h("span", { class: "muted score", text: scoreText(photo.ai_score), title: t("score.formula") }));
    }));
    setText($("#approval-count"), number(queue.total));
    $("#approval-empty").hidden = ids.length > 0;
    $("#approval-current").hidden = ids.length === 0;
    $("#approve-btn").disabled = ids.length === 0;
    $("#reject-btn").disabled = ids.length === 0;
    if (currentId === undefined) return;
    const photo = ctx.photos.get(currentId) || { id: currentId };
    if (img.dataset.photo !== String(currentId)) {
      img.dataset.photo = String(currentId);
      img.src = imageUrl(photo, "developed");
      img.alt = photo.file_name || t("photo.unnamed", { id: currentId });
    }
    setText($("#approval-name"), photo.file_name || t("photo.unnamed", { id: currentId }));
    const score = photo.ai_score === undefined ? "" : t("score.short", { score: scoreText(photo.ai_score) });
    joinParts($("#approval-info"), [score, tagText(photo.context_tag), [photo.preset, false]]);
    $("#approval-info").title = t("score.formula");
  }

  // The culling keys' decide: the same request, and Ctrl+Z takes it back.
  function decide(action) {
    if (currentId !== undefined) ctx.decide(currentId, action);
  }

  $("#approve-btn").addEventListener("click", () => decide("approve"));
  $("#reject-btn").addEventListener("click", () => decide("reject"));
  reason.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      decide("reject");
    } else if (ev.key === "Escape") reason.blur();
  });
  ctx.on("current-idle", (id) => { if (id !== currentId && queue.ids.includes(id)) render(); });
  ctx.on("language", render);

  // --- export ---------------------------------------------------------
  const exportForm = $("#export-form");
  const exportBar = $("#export-progress");
  const exportList = $("#export-list");

  const sessionSelect = $("#export-session");
  let userChose = false;
  sessionSelect.addEventListener("change", () => { userChose = true; });

  /** Newest session first; a choice the user made is kept. */
  function fillSessions() {
    const select = sessionSelect;
    const chosen = userChose ? select.value : "";
    const newest = [...ctx.sessions.values()].sort((a, b) => Number(b.id) - Number(a.id));
    select.replaceChildren(...newest.map((s) =>
      h("option", { value: s.id, translate: !s.name, text: s.name || t("session.unnamed", { id: s.id }) })));
    if (chosen) select.value = chosen;
  }

  function exportRow(m) {
    const key = `${m.export_id ?? ""}:${m.photo_id}`;
    let node = exportList.querySelector(`[data-export="${CSS.escape(key)}"]`);
    if (!node) {
      node = h("li", { dataset: { export: key } });
      exportList.prepend(node);
      while (exportList.children.length > 50) exportList.lastElementChild.remove();
    }
    return node;
  }

  /** Progress of the last export started here: its export ids, and which have finished. */
  const batch = { ids: new Set(), finished: new Set() };

  function finish(m) {
    if (m.export_id !== undefined) batch.finished.add(String(m.export_id));
    exportProgress();
  }

  function exportProgress() {
    if (!batch.ids.size) return;
    const done = [...batch.ids].filter((id) => batch.finished.has(id)).length;
    exportBar.classList.remove("hidden");
    exportBar.value = (100 * done) / batch.ids.size;
    exportBar.classList.toggle("done", done === batch.ids.size);
  }

  exportForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setText($("#export-form-error"), "");
    const data = new FormData(exportForm);
    const body = { session_id: Number(data.get("session_id")), format: data.get("format") };
    const destination = String(data.get("destination") || "").trim();
    if (destination) body.destination = destination;
    try {
      const res = await api.post("/api/export", body);
      // Events may beat this answer: finished ids are kept, so none is lost.
      batch.ids = new Set((res.exports || []).map((e) => String(e.export_id)));
      batch.finished = new Set([...batch.finished].filter((id) => batch.ids.has(id)));
      exportProgress();
    } catch (err) {
      setText($("#export-form-error"), err.message);
    }
  });

  ctx.on("sessions-changed", fillSessions);

  const nameOf = (id) => {
    const photo = ctx.photos.get(id);
    return photo && photo.file_name ? photo.file_name : t("photo.unnamed", { id });
  };

  return {
    queue,
    load: () => queue.load(),
    handlers: {
      ...queue.handlers(),
      export_started: (m) => setText(exportRow(m), t("export.started",
        { name: nameOf(m.photo_id), destination: m.destination })),
      export_completed: (m) => {
        finish(m);
        const node = exportRow(m);
        node.className = "ok";
        node.translate = false;
        setText(node, t("export.completed", { path: m.output_path, size: bytes(m.file_size) }));
      },
      export_failed: (m) => {
        finish(m);
        const node = exportRow(m);
        node.className = "bad";
        node.translate = false;
        setText(node, t("export.failed", { name: nameOf(m.photo_id), error: m.error_message }));
      },
    },
  };
}
