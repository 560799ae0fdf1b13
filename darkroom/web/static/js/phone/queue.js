/**
 * The head of the approval queue, as the phone needs it: the next photos
 * awaiting a decision in capture order (GET /api/approval/queue, first page
 * only: decided photos leave the queue, so the head is always what comes
 * next), the queue's total, and one photo pinned in front (the one an undo
 * brought back, wherever it sits in capture order). Reloaded one request at
 * a time when an event says the queue changed; a photo decided here or
 * anywhere stays out even when a reload that began before its decision
 * answers after it, until an undo brings it back.
 */
import { api, itemOf, listOf } from "../api.js";

const HEAD = 50;

/** The fields of an API photo or event the phone shows. */
export function phonePhoto(raw) {
  const out = {
    id: raw.id ?? raw.photo_id,
    session_id: raw.session_id,
    file_name: raw.file_name,
    ai_score: raw.ai_score,
    context_tag: raw.context_tag,
    preset: raw.preset ?? raw.selected_preset,
    rating: raw.rating,
    flag: raw.flag,
    color_label: raw.color_label,
    decision: raw.decision,
    status: raw.status,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

export class PhoneQueue {
  /**
   * @param {Map} photos the page's photo store, filled from the queue's items
   * @param {() => void} onChange called after every change
   * @param {(err: Error) => void} onError
   */
  constructor(photos, onChange, onError) {
    this.photos = photos;
    this.onChange = onChange;
    this.onError = onError;
    this.sessionId = "";
    this.ids = [];
    this.total = 0;
    this.pinned = undefined;
    this.decided = new Set();
    this._inflight = null;
    this._again = false;
  }

  merge(raw) {
    const patch = phonePhoto(raw);
    const photo = { ...(this.photos.get(patch.id) || {}), ...patch };
    this.photos.set(photo.id, photo);
    return photo;
  }

  /** The photos to show, current first. */
  order() {
    const ids = this.ids.filter((id) => id !== this.pinned);
    return this.pinned === undefined ? ids : [this.pinned, ...ids];
  }

  /** How many photos await a decision (the server's total; the pinned one is among them). */
  left() {
    return Math.max(this.total, this.order().length);
  }

  async load() {
    const query = new URLSearchParams({ limit: String(HEAD) });
    if (this.sessionId) query.set("session_id", this.sessionId);
    const data = await api.get(`/api/approval/queue?${query}`);
    this.ids = listOf(data, "photos").map((raw) => this.merge(raw).id)
      .filter((id) => !this.decided.has(id));
    this.total = Number(data.total ?? data.count ?? this.ids.length);
    this.onChange();
  }

  /** Reload after a change event; at most one request in flight, one queued. */
  refresh() {
    if (this._inflight) {
      this._again = true;
      return this._inflight;
    }
    this._inflight = this.load().catch(this.onError).finally(() => {
      this._inflight = null;
      if (this._again) {
        this._again = false;
        this.refresh();
      }
    });
    return this._inflight;
  }

  /** A photo left the queue (decided here or anywhere). */
  remove(id) {
    this.decided.add(id);
    const had = this.ids.includes(id) || this.pinned === id;
    if (this.ids.includes(id)) this.total = Math.max(0, this.total - 1);
    this.ids = this.ids.filter((x) => x !== id);
    if (this.pinned === id) this.pinned = undefined;
    if (had) this.onChange();
    if (had && this.ids.length < HEAD / 2 && this.total > this.ids.length) this.refresh();
  }

  /** A decision on `id` was undone (anywhere): it may come back with the next reload. */
  reverted(id) {
    this.decided.delete(id);
    return this.refresh();
  }

  /** Show `raw` (a photo an undo brought back) first, then reload the queue around it. */
  pin(raw) {
    const photo = this.merge(itemOf(raw, "photo"));
    this.decided.delete(photo.id);
    this.pinned = photo.id;
    this.onChange();
    return this.refresh();
  }
}
