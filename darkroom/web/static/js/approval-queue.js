/**
 * The approval queue as a client keeps it: the ids of developed photos that
 * wait for a decision, in the server's order (capture order). Loaded from
 * GET /api/approval/queue page by page (cursor), reloaded (one request at a
 * time) when an event says it changed, trimmed at once when a decision
 * arrives from any client, and refilled when one is undone.
 */
import { api, listOf } from "./api.js";
import { mergePhoto, normalizePhoto } from "./photos.js";

const PAGE = 500;
const MAX_PAGES = 20;

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
    this.total = 0;
    this._inflight = null;
    this._again = false;
  }

  async load() {
    const ids = [];
    let cursor = "";
    let data;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) query.set("cursor", cursor);
      data = await api.get(`/api/approval/queue?${query}`);
      for (const raw of listOf(data, "photos")) ids.push(mergePhoto(this.photos, normalizePhoto(raw)).id);
      cursor = data && data.next_cursor;
      if (!cursor) break;
    }
    this.ids = ids;
    this.total = typeof data.total === "number" ? data.total : ids.length;
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
    this.total = Math.max(0, this.total - 1);
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

  /** Undo the decision on `id`: it returns to the queue. The answer, or null on failure. */
  async undo(id) {
    try {
      const res = await api.post(`/api/approval/${encodeURIComponent(id)}/undo`, {});
      if (res.photo) mergePhoto(this.photos, normalizePhoto(res.photo));
      this.refresh();
      return res;
    } catch (err) {
      this.onError(err);
      return null;
    }
  }

  /** The handlers that keep the queue true to the server's events. */
  handlers() {
    return {
      photo_approved: (m) => this.remove(m.photo_id),
      photo_rejected: (m) => this.remove(m.photo_id),
      photo_decision_reverted: () => this.refresh(),
      approval_queue_updated: (m) => {
        if (m.session_id !== undefined || m.queue_count !== this.total) this.refresh();
      },
      job_completed: () => this.refresh(),
    };
  }
}
