/**
 * What this phone did, newest last, so the undo button can take it back:
 * `{kind: "marks", photo_id, name, before: {rating?, flag?, color_label?}}`
 * (undone by PATCHing `before` back) or `{kind: "decision", photo_id, name,
 * decision}` (undone by POST /api/approval/<id>/undo). Kept in
 * sessionStorage, so a reload of the page can still undo.
 */
const KEY = "darkroom.phone.undo";
const LIMIT = 100;

export class UndoStack {
  constructor(onChange) {
    this.onChange = onChange;
    this.items = [];
    try {
      const saved = JSON.parse(sessionStorage.getItem(KEY) || "[]");
      if (Array.isArray(saved)) this.items = saved.filter((a) => a && a.photo_id !== undefined);
    } catch (err) {
      this.items = [];
    }
  }

  _save() {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(this.items));
    } catch (err) {
      // Private mode or a full store: undo still works until the page goes.
    }
    this.onChange();
  }

  push(action) {
    this.items.push(action);
    if (this.items.length > LIMIT) this.items.splice(0, this.items.length - LIMIT);
    this._save();
  }

  last() {
    return this.items[this.items.length - 1];
  }

  /** Forget `action` (one the server refused). */
  remove(action) {
    this.items = this.items.filter((a) => a !== action);
    this._save();
  }

  /** Take the last action off (to undo it). */
  pop() {
    const action = this.items.pop();
    this._save();
    return action;
  }
}
