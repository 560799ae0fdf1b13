/**
 * Gallery: a tile per photo that appears on `photo_imported`, gains its
 * score, tag and preset on `photo_analyzed`/`photo_selected`, and its
 * developed thumbnail on `job_completed`. Clicking a tile opens the detail
 * view: before/after and every analysis metric.
 */
import { api, itemOf, listOf } from "../api.js";
import { $, h, num, setText } from "../dom.js";
import { imageUrl, mergePhoto, normalizePhoto, scoreText } from "../photos.js";

const MAX_TILES = 500;

export function createGallery(ctx) {
  const grid = $("#gallery-grid");
  const dialog = $("#detail");
  const photos = ctx.photos;

  function tile(id) {
    let node = grid.querySelector(`[data-photo="${CSS.escape(String(id))}"]`);
    if (node) return node;
    const img = h("img", { alt: "", loading: "lazy", decoding: "async" });
    img.addEventListener("error", () => { img.hidden = true; });
    img.addEventListener("load", () => { img.hidden = false; });
    node = h("li", { class: "thumb", dataset: { photo: id } },
      h("button", { type: "button", class: "thumb-btn", onclick: () => openDetail(id) },
        h("div", { class: "thumb-img" }, img, h("span", { class: "thumb-placeholder", text: "\u25A1" })),
        h("span", { class: "thumb-name" }),
        h("span", { class: "thumb-meta" },
          h("span", { class: "score" }), h("span", { class: "tag ctx" }), h("span", { class: "tag preset" }))));
    grid.prepend(node);
    while (grid.children.length > MAX_TILES) grid.lastElementChild.remove();
    return node;
  }

  function render(photo, reloadImage = false) {
    const node = tile(photo.id);
    setText(node.querySelector(".thumb-name"), photo.file_name || `photo ${photo.id}`);
    setText(node.querySelector(".score"), scoreText(photo.ai_score));
    setText(node.querySelector(".ctx"), photo.context_tag || "");
    setText(node.querySelector(".preset"), photo.preset || "");
    node.querySelector(".ctx").hidden = !photo.context_tag;
    node.querySelector(".preset").hidden = !photo.preset;
    node.dataset.status = photo.status || "";
    const img = node.querySelector("img");
    const url = imageUrl(photo, "thumbnail");
    if (reloadImage || !img.getAttribute("src")) img.src = url;
    setText($("#gallery-count"), grid.children.length);
    $("#gallery-empty").hidden = grid.children.length > 0;
  }

  function update(patch, reloadImage = false) {
    const photo = mergePhoto(photos, patch);
    render(photo, reloadImage);
    if (dialog.open && dialog.dataset.photo === String(photo.id)) fillDetail(photo);
    return photo;
  }

  async function openDetail(id) {
    const photo = photos.get(id) || { id };
    dialog.dataset.photo = String(id);
    fillDetail(photo);
    $("#detail-before").src = imageUrl(photo, "preview");
    $("#detail-after").src = imageUrl(photo, "developed");
    if (!dialog.open) dialog.showModal();
    try {
      const full = normalizePhoto(itemOf(await api.get(`/api/photos/${id}`), "photo"));
      const merged = mergePhoto(photos, full);
      if (dialog.dataset.photo === String(id)) fillDetail(merged);
    } catch (err) {
      ctx.notify("error", `Photo ${id}: ${err.message}`);
    }
  }

  function fillDetail(photo) {
    setText($("#detail-name"), photo.file_name || `photo ${photo.id}`);
    const tags = $("#detail-tags");
    tags.replaceChildren(
      ...[scoreText(photo.ai_score), photo.context_tag, photo.preset, photo.status]
        .filter(Boolean).map((t) => h("span", { class: "tag", text: t })));
    const body = $("#detail-metrics tbody");
    const rows = [];
    flatten("", photo.analysis || {}, rows);
    if (photo.exif) flatten("exif.", photo.exif, rows);
    body.replaceChildren(...rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v }))));
    if (!rows.length) body.append(h("tr", {}, h("td", { class: "muted", text: "Not analysed yet." })));
  }

  function flatten(prefix, value, rows) {
    for (const [key, v] of Object.entries(value)) {
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(`${prefix}${key}.`, v, rows);
      else rows.push([`${prefix}${key}`, typeof v === "number" ? num(v, 3) : JSON.stringify(v)]);
    }
  }

  dialog.addEventListener("close", () => { delete dialog.dataset.photo; });
  dialog.addEventListener("click", (ev) => { if (ev.target === dialog) dialog.close(); });

  return {
    update,
    async load() {
      const data = await api.get("/api/photos");
      grid.replaceChildren();
      const list = listOf(data, "photos").map(normalizePhoto)
        .sort((a, b) => Number(a.id) - Number(b.id));
      for (const raw of list) update(raw);
      $("#gallery-empty").hidden = grid.children.length > 0;
    },
    handlers: {
      photo_imported: (m) => update({ id: m.photo_id, session_id: m.session_id,
        file_name: m.file_name, thumbnail_url: m.thumbnail_url, status: "imported" }),
      photo_analyzed: (m) => update({ id: m.photo_id, ai_score: m.ai_score,
        analysis: m.analysis_results, status: "analyzed" }),
      photo_selected: (m) => update({ id: m.photo_id, context_tag: m.context_tag,
        preset: m.selected_preset }),
      job_completed: (m) => {
        const photo = photos.get(m.photo_id) || { id: m.photo_id };
        update({ id: m.photo_id, status: "developed", version: (photo.version || 0) + 1 }, true);
      },
      photo_approved: (m) => update({ id: m.photo_id, status: "approved", decision: "approved" }),
      photo_rejected: (m) => update({ id: m.photo_id, status: "rejected", decision: "rejected" }),
    },
  };
}
