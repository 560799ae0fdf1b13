/**
 * Sessions: one card per session with a live progress bar, counts, status and
 * the approval rate once complete; a form to create a session and start its
 * import. State: GET /api/sessions, then `session_*` events.
 */
import { api, itemOf, listOf } from "../api.js";
import { $, h, num, setText } from "../dom.js";

/** A session from the API or an event, in one shape. */
export function normalizeSession(raw) {
  const total = raw.total_photos ?? raw.photo_count ?? (raw.counts && raw.counts.total);
  return {
    id: raw.id ?? raw.session_id,
    name: raw.name ?? raw.session_name,
    folder: raw.import_folder ?? raw.folder,
    status: raw.status,
    total: total,
    processed: raw.processed_photos ?? (raw.counts && raw.counts.processed),
    approved: raw.approved_photos ?? (raw.counts && raw.counts.approved),
    rejected: raw.rejected_photos ?? (raw.counts && raw.counts.rejected),
    progress: raw.progress_percent,
    approvalRate: raw.approval_rate,
  };
}

export function createSessions(ctx) {
  const list = $("#session-list");
  const form = $("#session-form");
  const formError = $("#session-form-error");
  const sessions = ctx.sessions;

  function merge(patch) {
    const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const current = sessions.get(clean.id) || { id: clean.id };
    const next = { ...current, ...clean };
    if (next.progress === undefined && next.total) next.progress = (100 * (next.processed || 0)) / next.total;
    sessions.set(next.id, next);
    render(next);
    ctx.emit("sessions-changed");
    return next;
  }

  function card(id) {
    let node = list.querySelector(`[data-session="${id}"]`);
    if (node) return node;
    node = h("li", { class: "card session", dataset: { session: id } },
      h("div", { class: "card-head" },
        h("h3", { class: "name" }),
        h("span", { class: "tag status" })),
      h("p", { class: "folder muted" }),
      h("progress", { max: 100, value: 0, "aria-label": "Session progress" }),
      h("p", { class: "counts-line" }),
      h("div", { class: "card-actions" },
        h("button", { type: "button", class: "import", text: "Import folder",
          onclick: () => startImport(id) })));
    list.prepend(node);
    return node;
  }

  function render(s) {
    const node = card(s.id);
    setText(node.querySelector(".name"), s.name ?? `Session ${s.id}`);
    setText(node.querySelector(".status"), s.status || "");
    node.dataset.status = s.status || "";
    setText(node.querySelector(".folder"), s.folder || "");
    const bar = node.querySelector("progress");
    bar.value = Number(s.progress) || 0;
    bar.classList.toggle("done", s.status === "completed");
    const parts = [`${s.processed ?? 0}/${s.total ?? 0} processed (${num(Number(s.progress) || 0)}%)`];
    if (s.approved !== undefined) parts.push(`${s.approved} approved`);
    if (s.rejected !== undefined) parts.push(`${s.rejected} rejected`);
    if (s.status === "completed" && s.approvalRate !== undefined) {
      parts.push(`approval rate ${num(s.approvalRate)}%`);
    }
    setText(node.querySelector(".counts-line"), parts.join(" \u00b7 "));
    setText($("#sessions-count"), sessions.size);
  }

  /** Re-read one session after a decision (events carry no decision counts). */
  const refreshing = new Map();
  function refreshSession(id) {
    if (refreshing.has(id)) {
      refreshing.set(id, true);
      return;
    }
    refreshing.set(id, false);
    api.get(`/api/sessions/${id}`)
      .then((data) => merge(normalizeSession(itemOf(data, "session"))))
      .catch((err) => ctx.notify("error", `Session ${id}: ${err.message}`))
      .finally(() => {
        const again = refreshing.get(id);
        refreshing.delete(id);
        if (again) refreshSession(id);
      });
  }

  async function startImport(id) {
    const button = list.querySelector(`[data-session="${id}"] .import`);
    if (button) button.disabled = true;
    try {
      await api.post(`/api/sessions/${id}/import`, {});
    } catch (err) {
      ctx.notify("error", `Import of session ${id} failed: ${err.message}`);
    } finally {
      if (button) button.disabled = false;
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setText(formError, "");
    const data = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const created = await api.post("/api/sessions", {
        name: String(data.get("name")).trim(),
        import_folder: String(data.get("import_folder")).trim(),
      });
      const s = merge(normalizeSession(created.session || created));
      if (data.get("start_import")) await startImport(s.id);
      form.reset();
      form.elements.start_import.checked = true;
    } catch (err) {
      setText(formError, err.message);
    } finally {
      button.disabled = false;
    }
  });

  return {
    async load() {
      const data = await api.get("/api/sessions");
      sessions.clear();
      list.replaceChildren();
      for (const raw of listOf(data, "sessions")) merge(normalizeSession(raw));
      setText($("#sessions-count"), sessions.size);
    },
    handlers: {
      session_created: (m) => merge({ id: m.session_id, name: m.session_name, folder: m.import_folder }),
      session_updated: (m) => merge({ id: m.session_id, total: m.total_photos,
        processed: m.processed_photos, progress: m.progress_percent, status: m.status }),
      session_completed: (m) => merge({ id: m.session_id, total: m.total_photos,
        approved: m.approved_photos, approvalRate: m.approval_rate, name: m.session_name,
        status: "completed" }),
      photo_approved: (m) => refreshSession(m.session_id),
      photo_rejected: (m) => refreshSession(m.session_id),
    },
  };
}
