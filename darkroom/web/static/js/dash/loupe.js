/**
 * The loupe (the detail view): the current photo fitted to the window (its
 * developed render once there is one, else the import preview); a click
 * zooms to 100 % (GET /api/photos/<id>/full) with the clicked point kept
 * under the pointer, a drag pans, another click fits again. Compare shows
 * the next photo beside it with the same zoom and pan (positions are kept
 * as fractions of the image, so both panes look at the same spot). Beside
 * it: the RGB + luminance histogram, the photographer's EXIF line, the
 * preset picker (re-develop) and every metadata field one click away.
 */
import { api, itemOf, listOf } from "../api.js";
import { drawHistogram } from "../chart.js";
import { $, h, setText } from "../dom.js";
import { number, t } from "../i18n.js";
import { imageUrl, mergePhoto, normalizePhoto, scoreText } from "../photos.js";
import { showMarks } from "./marks.js";
import { tagText } from "./text.js";

const DRAG = 4;

export function createLoupe(ctx) {
  const dialog = $("#detail");
  const panes = [$("#pane-a"), $("#pane-b")];
  const presetSelect = $("#detail-preset");
  const view = { zoomed: false, fx: 0.5, fy: 0.5 };
  let ids = [undefined, undefined];
  let compare = false;
  let original = false;
  let presets = null;

  const isOpen = () => dialog.open;

  function photoOf(id) {
    return ctx.photos.get(id) || { id };
  }

  // --- panes --------------------------------------------------------------
  function fitSource(photo) {
    return imageUrl(photo, photo.developed && !original ? "developed" : "preview");
  }

  function naturalSize(pane, photo) {
    const full = pane.querySelector(".full");
    if (full.naturalWidth) return [full.naturalWidth, full.naturalHeight];
    if (photo.width && photo.height) return [photo.width, photo.height];
    const fit = pane.querySelector(".fit");
    return [fit.naturalWidth || 1, fit.naturalHeight || 1];
  }

  function showPane(pane, id) {
    pane.hidden = id === undefined;
    if (id === undefined) return;
    const photo = photoOf(id);
    const fit = pane.querySelector(".fit");
    const full = pane.querySelector(".full");
    const src = fitSource(photo);
    if (pane.dataset.photo !== String(id) || fit.dataset.src !== src) {
      pane.dataset.photo = String(id);
      delete pane.dataset.shown;
      fit.dataset.src = src;
      fit.src = src;
      fit.alt = photo.file_name || "";
      full.hidden = true;
      full.removeAttribute("src");
      delete full.dataset.src;
    }
    const fullSrc = imageUrl(photo, "full");
    if (view.zoomed && full.dataset.src !== fullSrc) {
      full.dataset.src = fullSrc;
      full.src = fullSrc;
    }
    const name = pane.querySelector(".pane-name");
    if (name) setText(name, photo.file_name || "");
    place(pane, photo);
  }

  /** Size and position both images of a pane from the view (fit, or 100 % around fx, fy). */
  function place(pane, photo) {
    const [w, hgt] = naturalSize(pane, photo);
    const pw = pane.clientWidth || 1;
    const ph = pane.clientHeight || 1;
    const scale = view.zoomed ? 1 / (window.devicePixelRatio || 1) : Math.min(pw / w, ph / hgt);
    const dw = w * scale;
    const dh = hgt * scale;
    const left = view.zoomed ? pw / 2 - view.fx * dw : (pw - dw) / 2;
    const top = view.zoomed ? ph / 2 - view.fy * dh : (ph - dh) / 2;
    for (const img of pane.querySelectorAll("img")) {
      img.style.width = `${dw}px`;
      img.style.height = `${dh}px`;
      img.style.transform = `translate(${left}px, ${top}px)`;
    }
    pane.dataset.zoom = view.zoomed ? "100" : "fit";
    const full = pane.querySelector(".full");
    full.hidden = !view.zoomed || !(full.complete && full.naturalWidth > 0);
  }

  function renderPanes() {
    ids = [ctx.current, compare ? ctx.gallery.neighbour(ctx.current, 1, true) : undefined];
    panes.forEach((pane, i) => showPane(pane, ids[i]));
    setText($("#detail-zoom"), view.zoomed ? t("detail.zoom_100") : t("detail.zoom_fit"));
    prefetch();
  }

  function prefetch() {
    for (const delta of [1, -1]) {
      const next = ctx.gallery.neighbour(ctx.current, delta);
      if (next !== undefined) new Image().src = fitSource(photoOf(next));
    }
  }

  for (const pane of panes) {
    const fit = pane.querySelector(".fit");
    const full = pane.querySelector(".full");
    fit.addEventListener("load", () => {
      place(pane, photoOf(Number(pane.dataset.photo)));
      pane.dataset.shown = pane.dataset.photo;
    });
    full.addEventListener("load", () => place(pane, photoOf(Number(pane.dataset.photo))));
    let start = null;
    pane.addEventListener("pointerdown", (ev) => {
      start = { x: ev.clientX, y: ev.clientY, fx: view.fx, fy: view.fy, moved: false };
      pane.setPointerCapture(ev.pointerId);
    });
    pane.addEventListener("pointermove", (ev) => {
      if (!start || !view.zoomed) return;
      const dx = ev.clientX - start.x;
      const dy = ev.clientY - start.y;
      if (!start.moved && Math.hypot(dx, dy) < DRAG) return;
      start.moved = true;
      const [w, hgt] = naturalSize(pane, photoOf(Number(pane.dataset.photo)));
      const scale = 1 / (window.devicePixelRatio || 1);
      view.fx = clamp(start.fx - dx / (w * scale));
      view.fy = clamp(start.fy - dy / (hgt * scale));
      renderPanes();
    });
    pane.addEventListener("pointerup", (ev) => {
      const s = start;
      start = null;
      if (!s || s.moved) return;
      if (view.zoomed) {
        view.zoomed = false;
      } else {
        zoomAt(pane, ev.clientX, ev.clientY);
      }
      renderPanes();
    });
    pane.addEventListener("pointercancel", () => { start = null; });
  }

  /** Zoom to 100 % so that the image point under (x, y) stays under it. */
  function zoomAt(pane, x, y) {
    const img = pane.querySelector(".fit");
    const box = img.getBoundingClientRect();
    const rect = pane.getBoundingClientRect();
    const px = clamp((x - box.left) / (box.width || 1));
    const py = clamp((y - box.top) / (box.height || 1));
    const [w, hgt] = naturalSize(pane, photoOf(Number(pane.dataset.photo)));
    const scale = 1 / (window.devicePixelRatio || 1);
    view.fx = px + (rect.width / 2 - (x - rect.left)) / (w * scale);
    view.fy = py + (rect.height / 2 - (y - rect.top)) / (hgt * scale);
    view.zoomed = true;
  }

  function clamp(v) {
    return Math.max(0, Math.min(1, v));
  }

  // --- the side ---------------------------------------------------------------
  function fillSide(photo) {
    setText($("#detail-name"), photo.file_name || t("photo.unnamed", { id: photo.id }));
    const score = $("#detail-score");
    setText(score, photo.ai_score === undefined ? "" : t("score.short", { score: scoreText(photo.ai_score) }));
    score.title = t("score.formula");
    score.hidden = photo.ai_score === undefined;
    $("#detail-tags").replaceChildren(
      ...[[tagText(photo.context_tag), true], [photo.preset, false],
        [photo.decision ? t(`decision.${photo.decision}`) : "", true]]
        .filter(([text]) => text).map(([text, words]) => h("span", { class: "tag", text, translate: words })));
    showMarks(dialog, photo);
    drawHistogram($("#histogram"), photo.histogram);
    const summary = photo.exif_summary || {};
    setText($("#detail-exif-line"), summary.line || (photo.exif ? "" : t("detail.no_exif")));
    fillPresets(photo);
    const body = $("#detail-metrics tbody");
    const rows = [];
    if (photo.exif) flatten("exif.", photo.exif, rows);
    flatten("", photo.analysis || {}, rows);
    body.replaceChildren(...rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v }))));
    if (!rows.length) body.append(h("tr", {}, h("td", { class: "muted", text: t("detail.not_analysed") })));
  }

  function flatten(prefix, value, rows) {
    for (const [key, v] of Object.entries(value)) {
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(`${prefix}${key}.`, v, rows);
      else rows.push([`${prefix}${key}`, typeof v === "number" ? number(v, { maximumFractionDigits: 3 }) : JSON.stringify(v)]);
    }
  }

  function fillPresets(photo) {
    const names = presets || [];
    if (presetSelect.options.length !== names.length) {
      presetSelect.replaceChildren(...names.map((p) => h("option", { value: p.name, text: p.name, title: p.description || "" })));
    }
    if (photo.preset && document.activeElement !== presetSelect) presetSelect.value = photo.preset;
    $("#detail-redevelop").disabled = !names.length;
  }

  async function loadPresets() {
    presets = listOf(await api.get("/api/presets"), "presets");
    if (isOpen()) fillSide(photoOf(ctx.current));
  }

  async function fetchFull(id) {
    try {
      const full = normalizePhoto(itemOf(await api.get(`/api/photos/${encodeURIComponent(id)}`), "photo"));
      const merged = mergePhoto(ctx.photos, full);
      if (isOpen() && ctx.current === id) {
        fillSide(merged);
        renderPanes();
      }
    } catch (err) {
      ctx.notify("error", t("error.photo", { id, error: err.message }));
    }
  }

  // --- actions ----------------------------------------------------------------
  function open(id) {
    ctx.select(id);
    view.zoomed = false;
    if (!dialog.open) dialog.showModal();
    show();
  }

  /** The photo at once; with `side`, its histogram, metadata and details too (then fetched). */
  function show(side = true) {
    const photo = photoOf(ctx.current);
    dialog.dataset.photo = String(ctx.current);
    setText($("#detail-name"), photo.file_name || t("photo.unnamed", { id: photo.id }));
    renderPanes();
    if (!side) return;
    fillSide(photo);
    fetchFull(ctx.current);
  }

  $("#detail-compare").addEventListener("click", () => {
    compare = !compare;
    $("#detail-compare").setAttribute("aria-pressed", String(compare));
    dialog.classList.toggle("comparing", compare);
    renderPanes();
  });
  $("#detail-before").addEventListener("click", () => {
    original = !original;
    $("#detail-before").setAttribute("aria-pressed", String(original));
    renderPanes();
  });
  $("#detail-redevelop").addEventListener("click", async () => {
    const id = ctx.current;
    try {
      await api.post("/api/jobs", { photo_id: id, preset: presetSelect.value });
      ctx.notify("info", t("detail.redevelop_queued", { name: photoOf(id).file_name || id, preset: presetSelect.value }));
    } catch (err) {
      ctx.notify("error", t("error.redevelop", { id, error: err.message }));
    }
  });
  dialog.addEventListener("close", () => { delete dialog.dataset.photo; view.zoomed = false; });
  dialog.addEventListener("click", (ev) => { if (ev.target === dialog) dialog.close(); });
  const resized = new ResizeObserver(() => { if (isOpen()) renderPanes(); });
  panes.forEach((pane) => resized.observe(pane));

  ctx.on("current", () => { if (isOpen()) show(false); });
  ctx.on("current-idle", () => { if (isOpen()) show(); });
  ctx.on("photo", (photo) => {
    if (!isOpen() || !ids.includes(photo.id)) return;
    if (photo.id === ctx.current) fillSide(photo);
    renderPanes();
  });
  ctx.on("language", () => { if (isOpen()) show(); });

  return {
    open,
    isOpen,
    load: () => (presets ? Promise.resolve() : loadPresets()),
    handlers: {},
  };
}
