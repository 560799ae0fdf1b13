/**
 * The approval queue as a client keeps it: the ids of developed photos that
 * wait for a decision, in the server's order. Loaded from
 * GET /api/approval/queue, reloaded (one request at a time) when an event
 * says it changed, trimmed at once when a decision arrives from any client.
 */
import { api, listOf } from "./api.js";
import { mergePhoto, normalizePhoto } from "./photos.js";

export class ApprovalQueue {
  /**
   * @param {Map} photos shared photo store (filled from the queue's items)
   * @param {() => void} onChange called after every change
   * @param {(err: Error) => void} onError
   */
  constructor(photos, onChange, onError) {
    this.photos = photos;
    this.onChange = onChange;
    this.onError = onError;
    this.ids = [];
    this._inflight = null;
    this._again = false;
  }

  async load() {
    const data = await api.get("/api/approval/queue");
    const items = ["photos", "queue", "items"].map((k) => listOf(data, k)).find((l) => l.length) || [];
    this.ids = items.map((raw) => mergePhoto(this.photos, normalizePhoto(raw)).id);
    this.onChange();
  }

  /** Reload after a change event; at most one request in flight, one queued. */
  refresh() {
    if (this._inflight) {
      this._again = true;
      return;
    }
    this._inflight = this.load().catch(this.onError).finally(() => {
      this._inflight = null;
      if (this._again) {
        this._again = false;
        this.refresh();
      }
    });
  }

  remove(id) {
    const index = this.ids.indexOf(id);
    if (index < 0) return -1;
    this.ids.splice(index, 1);
    this.onChange();
    return index;
  }

  /** Approve or reject `id`; the photo leaves the queue when the server agrees. */
  async decide(id, action, reason = "") {
    const body = action === "reject" ? { reason } : { auto_export: false };
    try {
      await api.post(`/api/approval/${encodeURIComponent(id)}/${action}`, body);
      this.remove(id);
      return true;
    } catch (err) {
      this.onError(err);
      if (err.status === 409) this.refresh();
      return false;
    }
  }

  /** The handlers that keep the queue true to the server's events. */
  handlers() {
    return {
      photo_approved: (m) => this.remove(m.photo_id),
      photo_rejected: (m) => this.remove(m.photo_id),
      approval_queue_updated: (m) => {
        if (m.session_id !== undefined || m.queue_count !== this.ids.length) this.refresh();
      },
      job_completed: () => this.refresh(),
    };
  }
}
