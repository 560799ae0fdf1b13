/**
 * Culling with Lightroom's keys, on the current photo: P pick, X reject,
 * U unflag, 0-5 stars, 6-9 colour labels (red, yellow, green, blue), A/R
 * approve/reject, arrows to move, E (or Enter) the loupe, Ctrl+Z / Cmd+Z
 * undo of the last action. Auto-advance (the toggle, or Caps Lock on) moves
 * to the next photo after a mark or a decision.
 *
 * A mark is shown at once and sent with PATCH /api/photos/<id>; a refusal
 * puts the old marks back. The undo stack is this page's own: a mark is
 * undone by sending the marks it replaced, a decision by POST .../undo.
 */
import { api } from "../api.js";
import { $ } from "../dom.js";
import { t } from "../i18n.js";
import { mergePhoto, normalizePhoto } from "../photos.js";
import { createMarksBar } from "./marks.js";

const UNDO_LIMIT = 200;
const LABEL_KEYS = { 6: "red", 7: "yellow", 8: "green", 9: "blue" };

export function createCulling(ctx) {
  const stack = [];
  ctx.autoAdvance = false;

  function marksOf(id) {
    const photo = ctx.photos.get(id) || {};
    return { rating: photo.rating || 0, flag: photo.flag || null, color_label: photo.color_label || null };
  }

  function changed(id, patch) {
    const photo = mergePhoto(ctx.photos, { id, ...patch });
    ctx.emit("photo", photo);
    return photo;
  }

  // Marks and decisions go to the server one request at a time, in the order they were made
  // (two quick keys on separate connections could otherwise arrive the other way round, and
  // an undo could overtake what it takes back); a mark's answer is shown only when no newer
  // mark of the same photo is still on its way.
  let line = Promise.resolve();
  const inFlight = new Map();

  function inTurn(task) {
    const done = line.then(task);
    line = done;
    return done;
  }

  function send(id, body, before) {
    changed(id, body);
    inFlight.set(id, (inFlight.get(id) || 0) + 1);
    return inTurn(async () => {
      try {
        const res = await api.patch(`/api/photos/${encodeURIComponent(id)}`, body);
        if (res.photo && inFlight.get(id) === 1) changed(id, normalizePhoto(res.photo));
        return true;
      } catch (err) {
        if (inFlight.get(id) === 1) changed(id, before);
        ctx.notify("error", t("error.mark", { id, error: err.message }));
        return false;
      } finally {
        inFlight.set(id, inFlight.get(id) - 1);
      }
    });
  }

  function push(entry) {
    stack.push(entry);
    if (stack.length > UNDO_LIMIT) stack.shift();
    ctx.emit("undo-stack");
  }

  function drop(entry) {
    const index = stack.indexOf(entry);
    if (index >= 0) stack.splice(index, 1);
    ctx.emit("undo-stack");
  }

  /** Set marks ({rating?, flag?, color_label?}) on the current photo. */
  async function mark(patch, advance = ctx.autoAdvance) {
    const id = ctx.current;
    if (id === undefined) return;
    const before = marksOf(id);
    push({ kind: "marks", id, before });
    if (advance) ctx.gallery.move(1);
    await send(id, patch, before);
  }

  /** Approve or reject a photo (the current one by default); undoable at once (the undo
   * waits its turn). */
  function decide(action, advance = ctx.autoAdvance, id = ctx.current) {
    if (id === undefined) return undefined;
    const reason = action === "reject" ? $("#reject-reason").value.trim() : "";
    const entry = { kind: "decision", id };
    push(entry);
    if (advance) ctx.gallery.move(1);
    return inTurn(async () => {
      if (await ctx.queue.decide(id, action, reason)) {
        if (action === "reject") $("#reject-reason").value = "";
        changed(id, { decision: action === "approve" ? "approved" : "rejected" });
      } else {
        entry.refused = true;
        drop(entry);
      }
    });
  }

  async function undo() {
    const entry = stack.pop();
    ctx.emit("undo-stack");
    if (!entry) return;
    ctx.select(entry.id);
    ctx.gallery.reveal(entry.id);
    if (entry.kind === "marks") {
      await send(entry.id, entry.before, marksOf(entry.id));
    } else {
      await inTurn(async () => {
        if (entry.refused) return;
        const res = await ctx.queue.undo(entry.id);
        if (res) changed(entry.id, res.photo ? normalizePhoto(res.photo) : { decision: null });
      });
    }
  }

  ctx.mark = (patch) => mark(patch, false);
  ctx.decide = (id, action) => decide(action, false, id);
  ctx.undo = undo;
  ctx.canUndo = () => stack.length > 0;
  ctx.photoMarks = () => marksOf(ctx.current);

  const bars = [createMarksBar($("#marks-bar"), ctx), createMarksBar($("#detail-marks"), ctx)];
  const renderBars = () => bars.forEach((b) => b.render());
  for (const name of ["current", "photo", "undo-stack", "advance", "language", "loaded"]) ctx.on(name, renderBars);
  renderBars();

  function typing(target) {
    return target.closest && target.closest("input:not([type=checkbox]), select, textarea");
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.altKey || typing(ev.target)) return;
    const key = ev.key;
    if ((ev.ctrlKey || ev.metaKey) && (key === "z" || key === "Z") && !ev.shiftKey) {
      ev.preventDefault();
      undo();
      return;
    }
    if (ev.ctrlKey || ev.metaKey) return;
    const advance = ctx.autoAdvance || ev.getModifierState("CapsLock");
    const lower = key.length === 1 ? key.toLowerCase() : key;
    if (lower === "p") mark({ flag: "pick" }, advance);
    else if (lower === "x") mark({ flag: "reject" }, advance);
    else if (lower === "u") mark({ flag: null }, advance);
    else if (/^[0-5]$/.test(key)) mark({ rating: Number(key) }, advance);
    else if (key in LABEL_KEYS) {
      const label = LABEL_KEYS[key];
      mark({ color_label: marksOf(ctx.current).color_label === label ? null : label }, advance);
    } else if (lower === "a") decide("approve", advance);
    else if (lower === "r") decide("reject", advance);
    else if (key === "ArrowRight") ctx.gallery.move(1);
    else if (key === "ArrowLeft") ctx.gallery.move(-1);
    else if (key === "ArrowDown") ctx.gallery.move(ctx.loupe.isOpen() ? 1 : ctx.gallery.columns());
    else if (key === "ArrowUp") ctx.gallery.move(ctx.loupe.isOpen() ? -1 : -ctx.gallery.columns());
    else if ((lower === "e" || key === "Enter") && ctx.current !== undefined && !ctx.loupe.isOpen()) {
      ctx.loupe.open(ctx.current);
    } else return;
    ev.preventDefault();
  });

  return { mark, decide, undo };
}
