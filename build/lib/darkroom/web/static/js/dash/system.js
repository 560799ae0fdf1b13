/**
 * System: connection state, clients by type, a chart of CPU/memory/disk over
 * the last minutes, and notices for resource warnings and errors.
 * State: GET /api/system and GET /websocket/stats, then `system_status`
 * (which also refreshes the client counts: the hub has no per-client event),
 * `resource_warning` and `error_occurred`.
 */
import { api, itemOf } from "../api.js";
import { ResourceChart } from "../chart.js";
import { $, h, setText } from "../dom.js";

const MAX_NOTICES = 6;

/** The first number among `keys` of `obj` (nested paths with dots). */
function pick(obj, keys) {
  for (const key of keys) {
    let v = obj;
    for (const part of key.split(".")) v = v && typeof v === "object" ? v[part] : undefined;
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

export function resourceValues(details) {
  return {
    cpu: pick(details, ["cpu_percent", "cpu.percent", "cpu"]),
    memory: pick(details, ["memory_percent", "memory.percent", "mem_percent", "memory"]),
    disk: pick(details, ["disk_percent", "disk.percent", "disk"]),
  };
}

export function createNotices() {
  const box = $("#notices");
  return function notify(level, text) {
    const item = h("li", { class: `notice ${level}`, role: level === "error" ? "alert" : "status" },
      h("span", { class: "notice-text", text }),
      h("button", { type: "button", class: "notice-close", "aria-label": "Dismiss", text: "\u00d7",
        onclick: () => item.remove() }));
    box.prepend(item);
    while (box.children.length > MAX_NOTICES) box.lastElementChild.remove();
  };
}

export function createSystem(ctx) {
  const chart = new ResourceChart($("#resource-chart"), [
    { key: "cpu", label: "CPU", color: "#e0533d" },
    { key: "memory", label: "Memory", color: "#5aa0e0" },
    { key: "disk", label: "Disk", color: "#f0a23b" },
  ]);
  let statsPending = null;

  function sample(details, when) {
    const values = resourceValues(details || {});
    if (Object.values(values).some((v) => v !== undefined)) chart.add(when, values);
  }

  function clients(stats) {
    const byType = stats.clients_by_type || {};
    const total = stats.total_clients ?? Object.values(byType).reduce((a, b) => a + b, 0);
    setText($("#clients-summary"), `${total} client${total === 1 ? "" : "s"}`);
    $("#clients-by-type").replaceChildren(...Object.entries(byType).map(([type, n]) =>
      h("div", {}, h("dt", { text: type }), h("dd", { text: n }))));
  }

  function refreshClients() {
    if (statsPending) return statsPending;
    statsPending = api.get("/websocket/stats")
      .then((data) => clients(itemOf(data, "stats")))
      .catch((err) => ctx.notify("error", `Client stats: ${err.message}`))
      .finally(() => { statsPending = null; });
    return statsPending;
  }

  function status(text) {
    setText($("#system-status"), text || "");
  }

  return {
    async load() {
      const [system] = await Promise.all([api.get("/api/system"), refreshClients()]);
      const info = itemOf(system, "system");
      const history = Array.isArray(info.history) ? info.history : [];
      for (const point of history) sample(point, Date.parse(point.timestamp) || Date.now());
      sample(info.details || info, Date.now());
      status(info.status);
    },
    handlers: {
      system_status: (m) => {
        sample(m.details, Date.parse(m.timestamp) || Date.now());
        status(m.status);
        refreshClients();
      },
      resource_warning: (m) => ctx.notify("warning",
        m.message || `${m.resource_type} at ${m.current_value} (threshold ${m.threshold})`),
      error_occurred: (m) => ctx.notify("error",
        `${m.error_type}: ${m.error_message}${m.job_id !== undefined ? ` (job ${m.job_id})` : ""}`),
    },
  };
}
