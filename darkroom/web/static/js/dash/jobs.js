/**
 * Jobs: every pending, running and failed job with its stage, a live progress
 * bar and message; queue counts, the queue's ETA and its pause/resume
 * button; priority, cancel and retry controls (kept visible however long
 * the file name: the title is the part that gives way, with an ellipsis).
 * State: GET /api/jobs and GET /api/queue, then `job_*`, `queue_status`
 * (which also re-reads the ETA) and `priority_changed`.
 */
import { api, listOf } from "../api.js";
import { $, h, setText } from "../dom.js";
import { has, number, t } from "../i18n.js";

const KEEP_FINISHED = 8;
const ACTIVE = new Set(["pending", "processing", "running"]);

/** "3 min" / "45 s" / "1 h 5 min" for a number of seconds. */
export function duration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return t("time.seconds", { n: number(s) });
  const m = Math.round(s / 60);
  if (m < 60) return t("time.minutes", { n: number(m) });
  return t("time.hours", { h: number(Math.floor(m / 60)), m: number(m % 60) });
}

export function createJobs(ctx) {
  const list = $("#job-list");
  const pauseBtn = $("#queue-pause");
  const jobs = new Map();
  let queue = { paused: false, eta: null };
  let queuePending = null;
  let queueAgain = false;

  function merge(patch) {
    const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const job = { ...(jobs.get(clean.id) || { id: clean.id }), ...clean };
    jobs.set(job.id, job);
    render(job);
    trim();
    return job;
  }

  function row(job) {
    let node = list.querySelector(`[data-job="${CSS.escape(String(job.id))}"]`);
    if (node) return node;
    const priority = h("select", { class: "priority", translate: false,
      onchange: () => changePriority(job.id, Number(priority.value)) });
    for (let p = 1; p <= 10; p += 1) priority.append(h("option", { value: p, text: `P${p}` }));
    node = h("li", { class: "job", dataset: { job: job.id } },
      h("div", { class: "job-head" },
        h("span", { class: "job-title", translate: false }),
        h("span", { class: "tag kind" }),
        h("span", { class: "tag stage" }),
        h("span", { class: "job-controls" },
          priority,
          h("button", { type: "button", class: "cancel", onclick: () => act(job.id, "cancel") }),
          h("button", { type: "button", class: "retry", onclick: () => act(job.id, "retry") }))),
      h("progress", { max: 100, value: 0 }),
      h("p", { class: "job-message muted" }));
    list.prepend(node);
    return node;
  }

  function render(job) {
    const node = row(job);
    const photo = ctx.photos.get(job.photo_id);
    const label = photo && photo.file_name ? photo.file_name : t("photo.unnamed", { id: job.photo_id ?? "?" });
    const title = `#${job.id} ${label}`;
    setText(node.querySelector(".job-title"), title);
    node.querySelector(".job-title").title = title;
    const kind = node.querySelector(".kind");
    setText(kind, job.kind === "export" ? t("jobs.kind_export") : "");
    kind.hidden = job.kind !== "export";
    const running = job.status === "processing" || job.status === "running";
    const stage = running ? job.stage || "starting" : job.status || "";
    setText(node.querySelector(".stage"), has(`stage.${stage}`) ? t(`stage.${stage}`) : stage);
    node.dataset.status = job.status || "";
    const bar = node.querySelector("progress");
    const progress = Number(job.progress) || 0;
    bar.value = progress;
    bar.setAttribute("aria-label", t("jobs.progress_of", { id: job.id }));
    node.dataset.progress = String(progress);
    bar.classList.toggle("done", job.status === "completed");
    bar.classList.toggle("failed", job.status === "failed");
    setText(node.querySelector(".job-message"), job.status === "failed" ? job.error || t("jobs.failed_message")
      : job.preset && job.status === "pending" ? t("jobs.preset", { preset: job.preset }) : job.message || "");
    const select = node.querySelector(".priority");
    select.setAttribute("aria-label", t("jobs.priority_of", { id: job.id }));
    if (job.priority !== undefined && document.activeElement !== select) select.value = String(job.priority);
    select.disabled = job.status !== "pending";
    const cancel = node.querySelector(".cancel");
    const retry = node.querySelector(".retry");
    setText(cancel, t("jobs.cancel"));
    setText(retry, t("jobs.retry"));
    cancel.hidden = !ACTIVE.has(job.status);
    retry.hidden = !(job.status === "failed" || job.status === "cancelled");
  }

  function trim() {
    const finished = [...jobs.values()].filter((j) => !ACTIVE.has(j.status) && j.status !== "failed");
    while (finished.length > KEEP_FINISHED) {
      const old = finished.shift();
      jobs.delete(old.id);
      const node = list.querySelector(`[data-job="${CSS.escape(String(old.id))}"]`);
      if (node) node.remove();
    }
    $("#jobs-empty").hidden = jobs.size > 0;
  }

  async function changePriority(id, priority) {
    try {
      const res = await api.patch(`/api/jobs/${id}`, { priority, reason: "changed in the dashboard" });
      const job = res && (res.job || res);
      if (job && job.priority !== undefined) merge({ id, priority: job.priority });
    } catch (err) {
      ctx.notify("error", t("error.priority", { id, error: err.message }));
      render(jobs.get(id));
    }
  }

  async function act(id, action) {
    try {
      const res = await api.post(`/api/jobs/${id}/${action}`, {});
      const job = res && (res.job || res);
      if (job && job.status) merge(fromApi(job));
    } catch (err) {
      ctx.notify("error", t(`error.${action}`, { id, error: err.message }));
    }
  }

  function fromApi(raw) {
    return { id: raw.id ?? raw.job_id, kind: raw.kind, photo_id: raw.photo_id, status: raw.status,
      stage: raw.stage, progress: raw.progress, priority: raw.priority, preset: raw.preset,
      message: raw.message, error: raw.error ?? raw.error_message };
  }

  function setCounts(counts) {
    for (const key of ["pending", "processing", "completed", "failed", "total"]) {
      const node = $(`#queue-counts [data-count="${key}"]`);
      if (typeof counts[key] === "number") setText(node, number(counts[key]));
    }
  }

  // --- the queue: pause/resume and ETA --------------------------------------
  function showQueue() {
    pauseBtn.setAttribute("aria-pressed", String(Boolean(queue.paused)));
    setText(pauseBtn, t(queue.paused ? "jobs.resume" : "jobs.pause"));
    document.body.dataset.queue = queue.paused ? "paused" : "running";
    const eta = queue.eta;
    const line = $("#queue-eta");
    if (eta && eta.remaining && typeof eta.seconds !== "number") {
      setText(line, t("jobs.eta_unknown", { n: number(eta.remaining) }));
    } else if (eta && eta.remaining) {
      setText(line, t(queue.paused ? "jobs.eta_paused" : "jobs.eta",
        { time: duration(eta.seconds), n: number(eta.remaining) }));
    } else setText(line, queue.paused ? t("jobs.paused") : "");
    ctx.emit("eta", eta);
  }

  function loadQueue() {
    if (queuePending) {
      queueAgain = true;
      return queuePending;
    }
    queuePending = api.get("/api/queue")
      .then((data) => {
        queue = { paused: Boolean(data.paused), eta: data.eta || null };
        if (data.counts) setCounts({ ...data.counts, total: data.counts.total ?? undefined });
        showQueue();
      })
      .finally(() => {
        queuePending = null;
        if (queueAgain) {
          queueAgain = false;
          loadQueue().catch((err) => ctx.notify("error", err.message));
        }
      });
    return queuePending;
  }

  pauseBtn.addEventListener("click", async () => {
    pauseBtn.disabled = true;
    try {
      const res = await api.post(`/api/queue/${queue.paused ? "resume" : "pause"}`, {});
      queue.paused = Boolean(res.paused);
      showQueue();
      await loadQueue();
    } catch (err) {
      ctx.notify("error", t("error.queue", { error: err.message }));
    } finally {
      pauseBtn.disabled = false;
    }
  });

  // Jobs may load before the photos that name them.
  ctx.on("loaded", () => jobs.forEach(render));
  ctx.on("language", () => { jobs.forEach(render); showQueue(); });

  return {
    setCounts,
    async load() {
      const [data] = await Promise.all([api.get("/api/jobs"), loadQueue()]);
      jobs.clear();
      list.replaceChildren();
      const all = listOf(data, "jobs").map(fromApi);
      const active = all.filter((j) => ACTIVE.has(j.status) || j.status === "failed");
      const done = all.filter((j) => !ACTIVE.has(j.status) && j.status !== "failed")
        .sort((a, b) => Number(a.id) - Number(b.id)).slice(-KEEP_FINISHED);
      [...done, ...active].sort((a, b) => Number(a.id) - Number(b.id)).forEach(merge);
      trim();
      const counts = data && data.counts;
      if (counts) {
        const total = counts.total ?? ["pending", "processing", "completed", "failed"]
          .reduce((sum, key) => sum + (counts[key] || 0), 0);
        setCounts({ ...counts, total });
      }
    },
    handlers: {
      job_created: (m) => merge({ id: m.job_id, photo_id: m.photo_id, priority: m.priority,
        status: "pending", progress: 0, preset: m.preset }),
      job_started: (m) => merge({ id: m.job_id, photo_id: m.photo_id, status: "processing",
        stage: "starting", message: "" }),
      job_progress: (m) => merge({ id: m.job_id, photo_id: m.photo_id, status: "processing",
        stage: m.stage, progress: m.progress, message: m.message }),
      job_completed: (m) => merge({ id: m.job_id, photo_id: m.photo_id, status: "completed",
        stage: "done", progress: 100, message: "" }),
      // A cancelled job ends as job_failed with error_details.cancelled (see the README).
      job_failed: (m) => merge({ id: m.job_id, photo_id: m.photo_id,
        status: m.error_details && m.error_details.cancelled ? "cancelled" : "failed",
        error: m.error_message }),
      priority_changed: (m) => merge({ id: m.job_id, priority: m.new_priority }),
      queue_status: (m) => {
        setCounts(m);
        loadQueue().catch((err) => ctx.notify("error", t("error.queue", { error: err.message })));
      },
    },
  };
}
