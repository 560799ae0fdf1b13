/**
 * Event log: every message from /ws as it arrives, filterable by channel and
 * type, pausable. While paused, new events wait (up to the display limit)
 * and appear on resume. The filters offer the catalogue's channels and event
 * names (and any other type that arrives).
 */
import { $, h, setText } from "../dom.js";
import { date, number, onChange, t } from "../i18n.js";

const LIMIT = 300;

/** The time of an event in the page's language ("12:34:56"), or the text as sent. */
function when(iso) {
  const d = iso ? new Date(iso) : new Date();
  return Number.isNaN(d.getTime()) ? String(iso) : date(d, { timeStyle: "medium", hour12: false });
}

export function createLog(catalog) {
  const list = $("#log-list");
  const channel = $("#log-channel");
  const type = $("#log-type");
  const pauseBtn = $("#log-pause");
  const types = new Set();
  channel.append(...catalog.channels.map((c) => h("option", { value: c, text: c, translate: false })));
  let paused = false;
  let waiting = [];
  let seen = 0;

  function matches(node) {
    const c = channel.value;
    const t = type.value.trim().toLowerCase();
    return (!c || node.dataset.channel === c) && (!t || node.dataset.type.includes(t));
  }

  function row(msg) {
    const { type: kind, timestamp, channel: chan, seq, ...rest } = msg;
    const node = h("li", { dataset: { channel: chan || "", type: String(kind || ""), source: msg.source || "" } },
      h("time", { text: when(timestamp) }),
      h("span", { class: "log-chan", text: chan || "\u2014" }),
      h("span", { class: "log-type", text: kind }),
      h("span", { class: "log-seq muted", text: seq !== undefined ? `#${seq}` : "" }),
      h("code", { class: "log-body", text: JSON.stringify(rest) }));
    node.hidden = !matches(node);
    return node;
  }

  function show(messages) {
    const nodes = messages.map(row).reverse();
    list.prepend(...nodes);
    while (list.children.length > LIMIT) list.lastElementChild.remove();
  }

  function offerType(name) {
    if (!name || types.has(name)) return;
    types.add(name);
    $("#log-types").append(h("option", { value: name }));
  }
  Object.keys(catalog.events).forEach(offerType);

  function add(msg) {
    seen += 1;
    setText($("#log-count"), number(seen));
    offerType(msg.type);
    if (paused) {
      waiting.push(msg);
      if (waiting.length > LIMIT) waiting.shift();
      setText($("#log-paused"), t("log.waiting", { n: number(waiting.length) }));
    } else {
      show([msg]);
    }
  }

  function refilter() {
    for (const node of list.children) node.hidden = !matches(node);
  }

  channel.addEventListener("change", refilter);
  type.addEventListener("input", refilter);
  pauseBtn.addEventListener("click", () => {
    paused = !paused;
    pauseBtn.setAttribute("aria-pressed", String(paused));
    setText(pauseBtn, t(paused ? "log.resume" : "log.pause"));
    if (!paused) {
      show(waiting);
      waiting = [];
      setText($("#log-paused"), "");
    }
  });
  $("#log-clear").addEventListener("click", () => {
    list.replaceChildren();
    waiting = [];
    setText($("#log-paused"), "");
  });

  onChange(() => {
    setText(pauseBtn, t(paused ? "log.resume" : "log.pause"));
    if (paused) setText($("#log-paused"), t("log.waiting", { n: number(waiting.length) }));
  });

  return { add };
}
