/**
 * Stars, flags and colour labels on screen: the compact badge a tile and the
 * loupe show, and the bar of buttons that sets them with the mouse (the only
 * way to a purple label, which Lightroom gives no key either).
 */
import { h, setText } from "../dom.js";
import { t } from "../i18n.js";
import { LABELS } from "../photos.js";

const STAR = "\u2605";
const NO_STAR = "\u2606";

/** Put the photo's marks on `node` (data attributes for CSS and tests) and in its `.marks` child. */
export function showMarks(node, photo) {
  node.dataset.rating = String(photo.rating || 0);
  node.dataset.flag = photo.flag || "";
  node.dataset.label = photo.color_label || "";
  node.dataset.decision = photo.decision || "";
  const box = node.querySelector(".marks");
  if (!box) return;
  const rating = photo.rating || 0;
  setText(box.querySelector(".stars"), rating ? STAR.repeat(rating) : "");
  const flag = box.querySelector(".flag");
  setText(flag, photo.flag ? t(`flag.${photo.flag}`) : "");
  flag.hidden = !photo.flag;
  const label = box.querySelector(".label");
  label.hidden = !photo.color_label;
  label.title = photo.color_label ? t(`label.${photo.color_label}`) : "";
  const decision = box.querySelector(".decision");
  setText(decision, photo.decision ? t(`decision.${photo.decision}`) : "");
  decision.hidden = !photo.decision;
}

export function marksBox() {
  return h("span", { class: "marks" },
    h("span", { class: "flag" }), h("span", { class: "stars" }),
    h("span", { class: "label" }), h("span", { class: "decision" }));
}

/** The bar of mark buttons in `container`, acting through `ctx.mark` on the current photo. */
export function createMarksBar(container, ctx) {
  const stars = [1, 2, 3, 4, 5].map((n) => h("button", { type: "button", class: "star-btn",
    dataset: { rating: n }, onclick: () => ctx.mark({ rating: ctx.photoMarks().rating === n ? 0 : n }) }));
  const flags = ["pick", "reject", "none"].map((f) => h("button", { type: "button", class: "flag-btn",
    dataset: { flag: f }, onclick: () => ctx.mark({ flag: f === "none" ? null : f }) }));
  const labels = [...LABELS, "none"].map((c) => h("button", { type: "button", class: "label-btn",
    dataset: { label: c }, onclick: () => ctx.mark({ color_label: c === "none" ? null : c }) }));
  const undo = h("button", { type: "button", class: "undo-btn", onclick: () => ctx.undo() });
  const advance = h("input", { type: "checkbox", class: "advance" });
  advance.addEventListener("change", () => { ctx.autoAdvance = advance.checked; ctx.emit("advance"); });
  const advanceLabel = h("label", { class: "check" }, advance, h("span", { class: "advance-text" }));
  container.replaceChildren(h("span", { class: "group" }, ...flags), h("span", { class: "group" }, ...stars),
    h("span", { class: "group" }, ...labels), undo, advanceLabel);

  function render() {
    const m = ctx.photoMarks();
    for (const b of stars) {
      const n = Number(b.dataset.rating);
      setText(b, n <= (m.rating || 0) ? STAR : NO_STAR);
      b.title = t("marks.stars", { n });
      b.setAttribute("aria-pressed", String(n <= (m.rating || 0)));
    }
    for (const b of flags) {
      setText(b, t(`flag.${b.dataset.flag}`));
      b.setAttribute("aria-pressed", String((m.flag || "none") === b.dataset.flag));
    }
    for (const b of labels) {
      b.title = t(`label.${b.dataset.label}`);
      b.setAttribute("aria-label", t(`label.${b.dataset.label}`));
      b.setAttribute("aria-pressed", String((m.color_label || "none") === b.dataset.label));
    }
    setText(undo, t("marks.undo"));
    undo.title = t("marks.undo_title");
    undo.disabled = !ctx.canUndo();
    advance.checked = Boolean(ctx.autoAdvance);
    setText(advanceLabel.querySelector(".advance-text"), t("marks.auto_advance"));
    advanceLabel.title = t("marks.auto_advance_title");
    const none = ctx.current === undefined;
    for (const b of [...stars, ...flags, ...labels]) b.disabled = none;
  }
  return { render };
}
