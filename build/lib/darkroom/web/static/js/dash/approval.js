/**
 * Approval: the queue of developed photos waiting for a decision, approve and
 * reject (with a reason), keyboard culling (A, R, arrow keys), and export of
 * the approved photos with live progress.
 * State: GET /api/approval/queue, then `photo_approved`, `photo_rejected`,
 * `approval_queue_updated` (which refreshes the queue) and `export_*`.
 */
import { api } from "../api.js";
import { ApprovalQueue } from "../approval-queue.js";
import { $, bytes, h, setText } from "../dom.js";
import { imageUrl, scoreText } from "../photos.js";

export function createApproval(ctx) {
  const list = $("#approval-list");
  const img = $("#approval-img");
  const reason = $("#reject-reason");
  const queue = new ApprovalQueue(ctx.photos, () => render(),
    (err) => ctx.notify("error", `Approval: ${err.message}`));
  let current = 0;
  let currentId;

  function render() {
    const ids = queue.ids;
    const kept = ids.indexOf(currentId);
    current = kept >= 0 ? kept : Math.max(0, Math.min(current, ids.length - 1));
    currentId = ids[current];
    list.replaceChildren(...ids.map((id, i) => {
      const photo = ctx.photos.get(id) || { id };
      return h("li", { class: i === current ? "current" : "", dataset: { photo: id },
        onclick: () => { current = i; currentId = id; render(); } },
      h("span", { text: photo.file_name || `photo ${id}` }),
      h("span", { class: "muted", text: scoreText(photo.ai_score) }));
    }));
    setText($("#approval-count"), ids.length);
    $("#approval-empty").hidden = ids.length > 0;
    $("#approval-current").hidden = ids.length === 0;
    $("#approve-btn").disabled = ids.length === 0;
    $("#reject-btn").disabled = ids.length === 0;
    if (currentId === undefined) return;
    const photo = ctx.photos.get(currentId) || { id: currentId };
    if (img.dataset.photo !== String(currentId)) {
      img.dataset.photo = String(currentId);
      img.src = imageUrl(photo, "developed");
      img.alt = photo.file_name || `photo ${currentId}`;
    }
    setText($("#approval-name"), photo.file_name || `photo ${currentId}`);
    setText($("#approval-info"), [scoreText(photo.ai_score), photo.context_tag, photo.preset]
      .filter(Boolean).join(" \u00b7 "));
    const selected = list.querySelector(".current");
    if (selected) selected.scrollIntoView({ block: "nearest" });
  }

  async function decide(action) {
    const id = currentId;
    if (id === undefined) return;
    const ok = await queue.decide(id, action, action === "reject" ? reason.value.trim() : "");
    if (ok && action === "reject") reason.value = "";
  }

  function move(delta) {
    const n = queue.ids.length;
    if (!n) return;
    current = (current + delta + n) % n;
    currentId = queue.ids[current];
    render();
  }

  $("#approve-btn").addEventListener("click", () => decide("approve"));
  $("#reject-btn").addEventListener("click", () => decide("reject"));
  reason.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      decide("reject");
    } else if (ev.key === "Escape") reason.blur();
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest && ev.target.closest("input, select, textarea, dialog[open]")) return;
    const key = ev.key;
    if (key === "a" || key === "A") decide("approve");
    else if (key === "r" || key === "R") decide("reject");
    else if (key === "ArrowRight" || key === "ArrowDown") move(1);
    else if (key === "ArrowLeft" || key === "ArrowUp") move(-1);
    else return;
    ev.preventDefault();
  });

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
      h("option", { value: s.id, text: s.name || `Session ${s.id}` })));
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

  return {
    load: () => queue.load(),
    handlers: {
      ...queue.handlers(),
      export_started: (m) => {
        const photo = ctx.photos.get(m.photo_id);
        setText(exportRow(m), `\u2192 ${photo && photo.file_name ? photo.file_name : `photo ${m.photo_id}`}: exporting to ${m.destination}`);
      },
      export_completed: (m) => {
        finish(m);
        const node = exportRow(m);
        node.className = "ok";
        setText(node, `\u2713 ${m.output_path} (${bytes(m.file_size)})`);
      },
      export_failed: (m) => {
        finish(m);
        const node = exportRow(m);
        node.className = "bad";
        setText(node, `\u2717 photo ${m.photo_id}: ${m.error_message}`);
      },
    },
  };
}
