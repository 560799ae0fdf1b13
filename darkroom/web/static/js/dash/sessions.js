/**
 * Sessions: one card per session with a live progress bar, counts, status,
 * its develop mode (all photos, or only picked and rated ones), the ETA of
 * its pending develops and the approval rate once complete; a form to
 * create a session and start its import. State: GET /api/sessions, then
 * `session_*` events; the ETA comes from GET /api/queue (the jobs panel's
 * "eta" signal).
 */
import { api, itemOf, listOf } from "../api.js";
import { $, h, setText } from "../dom.js";
import { has, number, t } from "../i18n.js";
import { duration } from "./jobs.js";
import { joinParts } from "./text.js";

const DEVELOP = ["all", "picks"];

/** A session from the API or an event, in one shape. */
export function normalizeSession(raw) {
  const total = raw.total_photos ?? raw.photo_count ?? (raw.counts && raw.counts.total);
  return {
    id: raw.id ?? raw.session_id,
    name: raw.name ?? raw.session_name,
    folder: raw.import_folder ?? raw.folder,
    status: raw.status,
    develop: DEVELOP.includes(raw.develop) ? raw.develop : undefined,
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
  let eta = null;

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
    const develop = h("select", { class: "develop", onchange: () => setDevelop(id, develop.value) },
      ...DEVELOP.map((v) => h("option", { value: v })));
    node = h("li", { class: "card session", dataset: { session: id } },
      h("div", { class: "card-head" },
        h("h3", { class: "name", translate: false }),
        h("span", { class: "tag status" })),
      h("p", { class: "folder muted", translate: false }),
      h("progress", { max: 100, value: 0 }),
      h("p", { class: "counts-line" }),
      h("p", { class: "eta muted small" }),
      h("div", { class: "card-actions" },
        h("button", { type: "button", class: "import", onclick: () => startImport(id) }),
        develop));
    list.prepend(node);
    return node;
  }

  function render(s) {
    const node = card(s.id);
    setText(node.querySelector(".name"), s.name ?? t("session.unnamed", { id: s.id }));
    node.querySelector(".name").translate = s.name === undefined;
    const status = s.status || "";
    setText(node.querySelector(".status"), has(`session.status.${status}`) ? t(`session.status.${status}`) : status);
    node.dataset.status = status;
    setText(node.querySelector(".folder"), s.folder || "");
    const bar = node.querySelector("progress");
    bar.value = Number(s.progress) || 0;
    bar.setAttribute("aria-label", t("session.progress"));
    bar.classList.toggle("done", s.status === "completed");
    const parts = [t("session.processed", { done: number(s.processed ?? 0), total: number(s.total ?? 0),
      percent: number(Number(s.progress) || 0, { maximumFractionDigits: 1 }) })];
    if (s.approved !== undefined) parts.push(t("session.approved", { n: number(s.approved) }));
    if (s.rejected !== undefined) parts.push(t("session.rejected", { n: number(s.rejected) }));
    if (s.status === "completed" && s.approvalRate !== undefined) {
      parts.push(t("session.rate", { percent: number(s.approvalRate, { maximumFractionDigits: 1 }) }));
    }
    joinParts(node.querySelector(".counts-line"), parts);
    const mine = eta && eta.sessions && eta.sessions[String(s.id)];
    const known = mine && typeof mine.seconds === "number";
    setText(node.querySelector(".eta"), !mine || !mine.remaining ? ""
      : known ? t("session.eta", { time: duration(mine.seconds), n: number(mine.remaining) })
        : t("session.eta_unknown", { n: number(mine.remaining) }));
    setText(node.querySelector(".import"), t("session.import"));
    const develop = node.querySelector(".develop");
    develop.setAttribute("aria-label", t("sessions.develop"));
    for (const option of develop.options) setText(option, t(`sessions.develop_${option.value}`));
    if (s.develop && document.activeElement !== develop) develop.value = s.develop;
    develop.hidden = s.develop === undefined;
    setText($("#sessions-count"), number(sessions.size));
  }

  async function setDevelop(id, develop) {
    try {
      const data = await api.patch(`/api/sessions/${id}`, { develop });
      merge(normalizeSession(itemOf(data, "session")));
    } catch (err) {
      ctx.notify("error", t("error.session", { id, error: err.message }));
      render(sessions.get(id));
    }
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
      .catch((err) => ctx.notify("error", t("error.session", { id, error: err.message })))
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
      ctx.notify("error", t("error.import", { id, error: err.message }));
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
        develop: String(data.get("develop")),
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

  ctx.on("eta", (next) => {
    eta = next;
    sessions.forEach(render);
  });
  ctx.on("language", () => sessions.forEach(render));

  return {
    async load() {
      const data = await api.get("/api/sessions");
      sessions.clear();
      list.replaceChildren();
      for (const raw of listOf(data, "sessions")) merge(normalizeSession(raw));
      setText($("#sessions-count"), number(sessions.size));
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
      photo_decision_reverted: (m) => refreshSession(m.session_id),
    },
  };
}
