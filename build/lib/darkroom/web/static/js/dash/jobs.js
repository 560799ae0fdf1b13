/**
 * Jobs: every pending, running and failed job with its stage, a live progress
 * bar and message; queue counts; priority, cancel and retry controls.
 * State: GET /api/jobs, then `job_*`, `queue_status` and `priority_changed`.
 */
import { api, listOf } from "../api.js";
import { $, h, num, setText } from "../dom.js";

const KEEP_FINISHED = 8;
const ACTIVE = new Set(["pending", "processing", "running"]);

export function createJobs(ctx) {
  const list = $("#job-list");
  const jobs = new Map();

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
    const priority = h("select", { class: "priority", "aria-label": `Priority of job ${job.id}`,
      onchange: () => changePriority(job.id, Number(priority.value)) });
    for (let p = 1; p <= 10; p += 1) priority.append(h("option", { value: p, text: `P${p}` }));
    node = h("li", { class: "job", dataset: { job: job.id } },
      h("div", { class: "job-head" },
        h("span", { class: "job-title" }),
        h("span", { class: "tag stage" }),
        h("span", { class: "spacer" }),
        priority,
        h("button", { type: "button", class: "cancel", text: "Cancel",
          onclick: () => act(job.id, "cancel") }),
        h("button", { type: "button", class: "retry", text: "Retry",
          onclick: () => act(job.id, "retry") })),
      h("progress", { max: 100, value: 0, "aria-label": `Progress of job ${job.id}` }),
      h("p", { class: "job-message muted" }));
    list.prepend(node);
    return node;
  }

  function render(job) {
    const node = row(job);
    const photo = ctx.photos.get(job.photo_id);
    const label = photo && photo.file_name ? photo.file_name : `photo ${job.photo_id ?? "?"}`;
    setText(node.querySelector(".job-title"),
      `#${job.id} ${job.kind === "export" ? "export " : ""}${label}`);
    setText(node.querySelector(".stage"), job.status === "processing" || job.status === "running"
      ? job.stage || "starting" : job.status || "");
    node.dataset.status = job.status || "";
    const bar = node.querySelector("progress");
    const progress = Number(job.progress) || 0;
    bar.value = progress;
    node.dataset.progress = String(progress);
    bar.classList.toggle("done", job.status === "completed");
    bar.classList.toggle("failed", job.status === "failed");
    setText(node.querySelector(".job-message"),
      job.status === "failed" ? job.error || "failed" : job.message || "");
    const select = node.querySelector(".priority");
    if (job.priority !== undefined && document.activeElement !== select) select.value = String(job.priority);
    select.disabled = job.status !== "pending";
    node.querySelector(".cancel").hidden = !ACTIVE.has(job.status);
    node.querySelector(".retry").hidden = !(job.status === "failed" || job.status === "cancelled");
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
      ctx.notify("error", `Priority of job ${id}: ${err.message}`);
      render(jobs.get(id));
    }
  }

  async function act(id, action) {
    try {
      const res = await api.post(`/api/jobs/${id}/${action}`, {});
      const job = res && (res.job || res);
      if (job && job.status) merge(fromApi(job));
    } catch (err) {
      ctx.notify("error", `${action} job ${id}: ${err.message}`);
    }
  }

  function fromApi(raw) {
    return { id: raw.id ?? raw.job_id, kind: raw.kind, photo_id: raw.photo_id, status: raw.status,
      stage: raw.stage, progress: raw.progress, priority: raw.priority,
      message: raw.message, error: raw.error ?? raw.error_message };
  }

  function setCounts(counts) {
    for (const key of ["pending", "processing", "completed", "failed", "total"]) {
      const node = $(`#queue-counts [data-count="${key}"]`);
      if (typeof counts[key] === "number") setText(node, num(counts[key]));
    }
  }

  // Jobs may load before the photos that name them.
  ctx.on("loaded", () => jobs.forEach(render));

  return {
    setCounts,
    async load() {
      const data = await api.get("/api/jobs");
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
        status: "pending", progress: 0, message: m.preset ? `preset ${m.preset}` : "" }),
      job_started: (m) => merge({ id: m.job_id, photo_id: m.photo_id, status: "processing",
        stage: "starting", message: "" }),
      job_progress: (m) => merge({ id: m.job_id, photo_id: m.photo_id, status: "processing",
        stage: m.stage, progress: m.progress, message: m.message }),
      job_completed: (m) => merge({ id: m.job_id, photo_id: m.photo_id, status: "completed",
        stage: "done", progress: 100, message: "completed" }),
      // A cancelled job ends as job_failed with error_details.cancelled (see the README).
      job_failed: (m) => merge({ id: m.job_id, photo_id: m.photo_id,
        status: m.error_details && m.error_details.cancelled ? "cancelled" : "failed",
        error: m.error_message }),
      priority_changed: (m) => merge({ id: m.job_id, priority: m.new_priority }),
      queue_status: (m) => setCounts(m),
    },
  };
}
