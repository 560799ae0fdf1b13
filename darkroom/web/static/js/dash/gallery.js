/**
 * Gallery: every photo from its import on (the embedded-preview thumbnail
 * first, the developed one once rendered), filtered and sorted by the
 * server (GET /api/photos with a cursor, a page at a time as you scroll),
 * and virtualised: only the rows in view, and a few around them, are in the
 * DOM (never more than MAX_TILES tiles), so 5,000 photos scroll like 50.
 * Bursts (the listing's `burst`) fold into their first frame with a count
 * badge while sorted by capture time; the badge unfolds them.
 *
 * The current photo (ctx.current) is the one the keys act on; arrows move
 * it through the gallery's order, loading the next page when needed.
 */
import { api, listOf } from "../api.js";
import { $, h, setText } from "../dom.js";
import { number, t } from "../i18n.js";
import { LABELS, imageUrl, mergePhoto, normalizePhoto, scoreText } from "../photos.js";
import { marksBox, showMarks } from "./marks.js";
import { tagText } from "./text.js";

export const MAX_TILES = 300;
const PAGE = 200;
const TILE_MIN = 132;
const ROW_H = 156;
const GAP = 8;
const BUFFER_ROWS = 3;

const FILTERS = {
  min_rating: ["", "1", "2", "3", "4", "5"],
  flag: ["", "pick", "reject", "none"],
  color_label: ["", ...LABELS],
  decision: ["", "approved", "rejected", "none"],
  sort: ["captured", "score", "name"],
  order: ["asc", "desc"],
};

export function createGallery(ctx) {
  const scroller = $("#gallery-scroll");
  const sizer = $("#gallery-sizer");
  const grid = $("#gallery-grid");
  const form = $("#gallery-filters");
  const photos = ctx.photos;
  const rendered = new Map();
  const expanded = new Set();
  let loaded = [];
  let visible = [];
  let cursor = null;
  let total = 0;
  let generation = 0;
  let paging = null;
  let frame = 0;
  let cols = 1;

  // --- filters ----------------------------------------------------------
  function fillFilters() {
    for (const [name, values] of Object.entries(FILTERS)) {
      const select = form.elements[name];
      const chosen = select.value;
      select.replaceChildren(...values.map((v) => h("option", { value: v, text: t(`filter.${name}.${v || "any"}`) })));
      if (chosen) select.value = chosen;
    }
    fillSessions();
  }

  function fillSessions() {
    const select = form.elements.session_id;
    const chosen = select.value;
    const newest = [...ctx.sessions.values()].sort((a, b) => Number(b.id) - Number(a.id));
    select.replaceChildren(h("option", { value: "", text: t("filter.session.any") }),
      ...newest.map((s) => h("option", { value: s.id, translate: !s.name,
        text: s.name || t("session.unnamed", { id: s.id }) })));
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
  }

  function query() {
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const [key, value] of new FormData(form)) if (value !== "") q.set(key, String(value));
    return q;
  }

  function filterValue(name) {
    return form.elements[name].value;
  }

  /** Whether a photo that arrives by event belongs in the current filtered list. */
  function matches(photo) {
    const f = (name) => filterValue(name);
    if (f("session_id") && String(photo.session_id) !== f("session_id")) return false;
    if (f("min_rating") && (photo.rating || 0) < Number(f("min_rating"))) return false;
    if (f("flag") && (photo.flag || "none") !== f("flag")) return false;
    if (f("color_label") && photo.color_label !== f("color_label")) return false;
    if (f("decision") && (photo.decision || "none") !== f("decision")) return false;
    return true;
  }

  form.addEventListener("change", () => reload().catch((err) => ctx.notify("error", err.message)));

  // --- pages ------------------------------------------------------------
  async function reload() {
    generation += 1;
    loaded = [];
    cursor = null;
    total = 0;
    paging = null;
    for (const node of rendered.values()) node.remove();
    rendered.clear();
    scroller.scrollTop = 0;
    const gen = generation;
    await fetchPage(gen);
    if (gen !== generation) return;
    if (ctx.current === undefined || !loaded.includes(ctx.current)) ctx.select(visible[0]);
    paint();
    scroller.dataset.generation = String(gen);
  }

  async function fetchPage(gen) {
    const q = query();
    if (cursor) q.set("cursor", cursor);
    const data = await api.get(`/api/photos?${q}`);
    if (gen !== generation) return;
    const seen = new Set(loaded);
    for (const raw of listOf(data, "photos")) {
      const photo = mergePhoto(photos, normalizePhoto(raw));
      if (!seen.has(photo.id)) loaded.push(photo.id);
    }
    cursor = (data && data.next_cursor) || null;
    total = typeof data.total === "number" ? data.total : loaded.length;
    refreshVisible();
  }

  /** Load the next page (one at a time); resolves when it is in. */
  function more() {
    if (!cursor) return Promise.resolve(false);
    if (!paging) {
      const gen = generation;
      paging = fetchPage(gen).then(() => true)
        .catch((err) => { ctx.notify("error", t("error.gallery", { error: err.message })); return false; })
        .finally(() => { if (gen === generation) paging = null; schedule(); });
    }
    return paging;
  }

  function grouping() {
    return filterValue("sort") === "captured";
  }

  function refreshVisible() {
    const group = grouping();
    visible = loaded.filter((id) => {
      const b = (photos.get(id) || {}).burst;
      return !group || !b || b.size < 2 || b.index === 0 || expanded.has(b.id);
    });
  }

  /** Add a photo announced by an event, if the list is complete and it matches. */
  function arrive(photo) {
    if (loaded.includes(photo.id) || cursor || !matches(photo)) return;
    if (filterValue("order") === "desc") loaded.unshift(photo.id);
    else loaded.push(photo.id);
    total += 1;
    refreshVisible();
    if (ctx.current === undefined) ctx.select(photo.id);
    schedule();
  }

  // --- the window -------------------------------------------------------
  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      paint();
    });
  }

  function layout() {
    const width = scroller.clientWidth || TILE_MIN;
    cols = Math.max(1, Math.floor((width + GAP) / (TILE_MIN + GAP)));
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  }

  function paint() {
    layout();
    const rows = Math.ceil(visible.length / cols);
    sizer.style.height = `${rows * ROW_H}px`;
    const viewRows = Math.ceil((scroller.clientHeight || ROW_H * 4) / ROW_H) + 1;
    const buffer = Math.max(0, Math.min(BUFFER_ROWS, Math.floor((MAX_TILES / cols - viewRows) / 2)));
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - buffer);
    const last = Math.min(rows, first + Math.min(viewRows + 2 * buffer, Math.floor(MAX_TILES / cols)));
    grid.style.transform = `translateY(${first * ROW_H}px)`;
    const ids = visible.slice(first * cols, last * cols);
    const keep = new Set(ids);
    for (const [id, node] of rendered) {
      if (!keep.has(id)) {
        node.remove();
        rendered.delete(id);
      }
    }
    const nodes = ids.map((id) => {
      let node = rendered.get(id);
      if (!node) {
        node = tile(id);
        rendered.set(id, node);
        fill(node, photos.get(id) || { id });
      }
      return node;
    });
    if (nodes.some((node, i) => grid.children[i] !== node) || grid.children.length !== nodes.length) {
      grid.replaceChildren(...nodes);
    }
    setText($("#gallery-count"), number(total));
    $("#gallery-empty").hidden = visible.length > 0;
    if (cursor && last * cols >= visible.length - cols * BUFFER_ROWS) more();
  }

  scroller.addEventListener("scroll", schedule, { passive: true });
  new ResizeObserver(schedule).observe(scroller);

  function tile(id) {
    const img = h("img", { alt: "", decoding: "async" });
    img.addEventListener("error", () => { img.hidden = true; });
    img.addEventListener("load", () => { img.hidden = false; });
    const badge = h("button", { type: "button", class: "burst-badge", hidden: true,
      onclick: (ev) => { ev.stopPropagation(); toggleBurst(id); } });
    return h("li", { class: "thumb", dataset: { photo: id } },
      h("button", { type: "button", class: "thumb-btn",
        onclick: () => ctx.select(id), ondblclick: () => ctx.loupe.open(id) },
      h("div", { class: "thumb-img" }, img, h("span", { class: "thumb-placeholder", text: "\u25A1" })),
      h("span", { class: "thumb-name", translate: false }),
      h("span", { class: "thumb-meta" },
        h("span", { class: "score" }), marksBox(), h("span", { class: "tag ctx" }),
        h("span", { class: "tag preset", translate: false }))),
      badge);
  }

  function fill(node, photo, reloadImage = false) {
    const name = photo.file_name || t("photo.unnamed", { id: photo.id });
    setText(node.querySelector(".thumb-name"), name);
    node.querySelector(".thumb-name").title = name;
    const score = node.querySelector(".score");
    setText(score, scoreText(photo.ai_score));
    score.title = photo.ai_score === undefined ? "" : t("score.title", { score: scoreText(photo.ai_score) });
    for (const [cls, value] of [["ctx", photo.context_tag], ["preset", photo.preset]]) {
      const el = node.querySelector(`.${cls}`);
      setText(el, cls === "ctx" ? tagText(value) : value || "");
      el.hidden = !value;
    }
    node.dataset.status = photo.status || "";
    showMarks(node, photo);
    node.classList.toggle("current", photo.id === ctx.current);
    const b = photo.burst;
    const badge = node.querySelector(".burst-badge");
    const head = grouping() && b && b.size > 1 && b.index === 0;
    badge.hidden = !head;
    if (head) {
      setText(badge, number(b.size));
      badge.title = t(expanded.has(b.id) ? "burst.fold" : "burst.unfold", { n: b.size });
      badge.setAttribute("aria-expanded", String(expanded.has(b.id)));
    }
    node.dataset.burst = b && b.size > 1 ? String(b.id) : "";
    const img = node.querySelector("img");
    if (reloadImage || !img.getAttribute("src")) img.src = imageUrl(photo, "thumbnail");
  }

  function toggleBurst(id) {
    const b = (photos.get(id) || {}).burst;
    if (!b) return;
    if (expanded.has(b.id)) expanded.delete(b.id);
    else expanded.add(b.id);
    refreshVisible();
    const node = rendered.get(id);
    if (node) fill(node, photos.get(id));
    schedule();
  }

  function update(patch, reloadImage = false) {
    const photo = mergePhoto(photos, patch);
    const node = rendered.get(photo.id);
    if (node) fill(node, photo, reloadImage);
    ctx.emit("photo", photo);
    return photo;
  }

  // --- moving -------------------------------------------------------------
  /** Scroll so that `id` is in view (if it is in the loaded list). */
  function reveal(id) {
    const index = visible.indexOf(id);
    if (index < 0) return;
    const top = Math.floor(index / cols) * ROW_H;
    if (top < scroller.scrollTop) scroller.scrollTop = top;
    else if (top + ROW_H > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = top + ROW_H - scroller.clientHeight;
    }
    schedule();
  }

  async function move(delta) {
    if (!visible.length) return;
    let index = visible.indexOf(ctx.current);
    if (index < 0) index = delta > 0 ? -1 : visible.length;
    let next = index + delta;
    if (next >= visible.length && cursor) {
      await more();
      next = Math.min(next, visible.length - 1);
    }
    next = Math.max(0, Math.min(visible.length - 1, next));
    ctx.select(visible[next]);
    reveal(visible[next]);
  }

  ctx.on("current", (id) => {
    for (const [key, node] of rendered) node.classList.toggle("current", key === id);
  });
  ctx.on("photo", (photo) => {
    const node = rendered.get(photo.id);
    if (node) fill(node, photo);
  });
  ctx.on("sessions-changed", fillSessions);
  ctx.on("language", () => {
    fillFilters();
    for (const [id, node] of rendered) fill(node, photos.get(id) || { id });
  });
  fillFilters();

  const rated = (m) => update({ id: m.photo_id, session_id: m.session_id,
    rating: m.rating, flag: m.flag ?? null, color_label: m.color_label ?? null });

  return {
    update,
    move,
    reveal,
    columns: () => cols,
    /**
     * The photo `delta` places from `id` in the gallery's order: among the tiles shown, or
     * with `frames`, among every frame loaded (a folded burst's frames too, for compare).
     */
    neighbour(id, delta, frames = false) {
      const list = frames ? loaded : visible;
      const index = list.indexOf(id);
      return index < 0 ? undefined : list[index + delta];
    },
    load: reload,
    handlers: {
      photo_imported: (m) => arrive(update({ id: m.photo_id, session_id: m.session_id,
        file_name: m.file_name, thumbnail_url: m.thumbnail_url, status: "imported" })),
      photo_analyzed: (m) => update({ id: m.photo_id, ai_score: m.ai_score,
        analysis: m.analysis_results, status: "analyzed" }),
      photo_selected: (m) => update({ id: m.photo_id, context_tag: m.context_tag,
        preset: m.selected_preset }),
      job_completed: (m) => {
        const photo = photos.get(m.photo_id) || { id: m.photo_id };
        update({ id: m.photo_id, status: "developed", developed: true,
          version: (photo.version || 0) + 1 }, true);
      },
      photo_approved: (m) => update({ id: m.photo_id, decision: "approved" }),
      photo_rejected: (m) => update({ id: m.photo_id, decision: "rejected" }),
      photo_decision_reverted: (m) => update({ id: m.photo_id, decision: null }),
      photo_rated: rated,
    },
  };
}
