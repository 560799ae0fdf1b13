/**
 * System: connection state, clients by type, a chart of CPU/memory/disk over
 * the last minutes, the health of the Redis event bus when the server uses
 * one, and notices for resource warnings and errors.
 * State: GET /api/system and GET /websocket/stats, then `system_status`
 * (which also refreshes the client counts and the bus: the hub has no
 * per-client event), `resource_warning` and `error_occurred`.
 */
import { api, itemOf } from "../api.js";
import { ResourceChart } from "../chart.js";
import { $, h, setText } from "../dom.js";
import { has, number, t } from "../i18n.js";
import { joinParts } from "./text.js";

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
      h("button", { type: "button", class: "notice-close", "aria-label": t("notice.dismiss"), text: "\u00d7",
        onclick: () => item.remove() }));
    box.prepend(item);
    while (box.children.length > MAX_NOTICES) box.lastElementChild.remove();
  };
}

/** The bus's health as parts of a line, and whether it is unwell (disconnected or dropping). */
export function busLine(bus) {
  const parts = [bus.connected ? t("bus.connected") : t("bus.disconnected")];
  if (typeof bus.lag_ms === "number") parts.push(t("bus.lag", { ms: number(bus.lag_ms, { maximumFractionDigits: 1 }) }));
  for (const key of ["reconnects", "buffered", "dropped"]) {
    if (typeof bus[key] === "number") parts.push(t(`bus.${key}`, { n: number(bus[key]) }));
  }
  if (bus.last_error) parts.push(t("bus.last_error", { error: bus.last_error }));
  return { parts, unwell: !bus.connected || Boolean(bus.dropped) };
}

export function createSystem(ctx) {
  const series = ["cpu", "memory", "disk"].map((key, i) => ({
    key, color: ["#e0533d", "#5aa0e0", "#f0a23b"][i],
    get label() { return t(`system.${key}`); },
  }));
  const chart = new ResourceChart($("#resource-chart"), series, undefined, {
    now: () => t("chart.now"),
    ago: (ms) => (ms >= 120000 ? t("chart.minutes_ago", { n: number(Math.round(ms / 60000)) })
      : t("chart.seconds_ago", { n: number(Math.round(ms / 1000)) })),
  });
  let statsPending = null;
  let lastStats = null;
  let lastStatus = "";

  function sample(details, when) {
    const values = resourceValues(details || {});
    if (Object.values(values).some((v) => v !== undefined)) chart.add(when, values);
  }

  function showStats(stats) {
    lastStats = stats;
    const byType = stats.clients_by_type || {};
    const total = stats.total_clients ?? Object.values(byType).reduce((a, b) => a + b, 0);
    setText($("#clients-summary"), t(total === 1 ? "clients.one" : "clients.many", { n: number(total) }));
    $("#clients-by-type").replaceChildren(...Object.entries(byType).map(([type, n]) =>
      h("div", {}, h("dt", { text: type }), h("dd", { text: number(n) }))));
    const bus = stats.bus;
    const box = $("#bus-health");
    box.hidden = !bus || bus.kind !== "redis";
    if (!box.hidden) {
      const line = busLine(bus);
      joinParts($("#bus-state"), line.parts);
      box.dataset.health = line.unwell ? "unwell" : "ok";
    }
  }

  function refreshClients() {
    if (statsPending) return statsPending;
    statsPending = api.get("/websocket/stats")
      .then((data) => showStats(itemOf(data, "stats")))
      .catch((err) => ctx.notify("error", t("error.stats", { error: err.message })))
      .finally(() => { statsPending = null; });
    return statsPending;
  }

  function status(text) {
    lastStatus = text || "";
    setText($("#system-status"), has(`system.status.${lastStatus}`) ? t(`system.status.${lastStatus}`) : lastStatus);
  }

  ctx.on("language", () => {
    if (lastStats) showStats(lastStats);
    status(lastStatus);
    chart.draw();
  });

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
      resource_warning: (m) => ctx.notify("warning", m.message || t("notice.resource",
        { resource: m.resource_type, value: m.current_value, threshold: m.threshold })),
      error_occurred: (m) => ctx.notify("error", m.job_id !== undefined
        ? t("notice.error_job", { type: m.error_type, message: m.error_message, job: m.job_id })
        : t("notice.error", { type: m.error_type, message: m.error_message })),
    },
  };
}
