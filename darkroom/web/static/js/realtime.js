/**
 * realtime.js: the Darkroom browser client for /ws.
 *
 * A small ES module any page can import (no build step, no third-party dependency):
 *
 *     import { connect, loadCatalog } from "/static/js/realtime.js";
 *
 *     const rt = connect({ clientType: "gui", clientName: "My page",
 *                          channels: ["jobs", "photos"] });
 *     // or every channel the server declares:
 *     //   connect({ channels: (await loadCatalog()).channels })
 *     rt.on("state", ({ state }) => console.log("link is", state));
 *     rt.on("resync", () => loadStateOverHttp());   // first load, and after a gap
 *     rt.on("job_progress", (msg) => bar(msg.job_id).value = msg.progress);
 *     rt.on("*", (msg) => console.log(msg.type, msg));
 *
 * What it does for the page:
 * - reconnects by itself with exponential backoff and full jitter
 *   (a random wait in [0, min(30 s, 1 s * 2^attempt)]), then registers and
 *   subscribes again;
 * - keeps the link alive with application-level `ping`s and treats a link
 *   that carried no traffic for two `heartbeat_interval`s as dead;
 * - remembers the `epoch` and the last `seq` it saw and asks the server to
 *   replay what it missed (`subscribe` with `since`); when the server says
 *   `recovered: true` nothing else is needed, otherwise it emits `resync` so
 *   the page reloads its state over HTTP;
 * - never buffers unboundedly while offline: `send()` keeps at most
 *   `maxQueue` messages and drops the oldest.
 *
 * Events a page can listen to with `on(name, handler)`:
 * - any server message type (`job_progress`, `pong`, `error`, ...), and `*`
 *   for every server message;
 * - `state` ({state, previous}) and one event per state: `connecting`,
 *   `open`, `reconnecting` ({attempt, delay}), `closed`;
 * - `resync` ({reason: "initial" | "not_recovered"}): reload state over
 *   HTTP now (also fired once after the first connection, so one handler
 *   loads the page's state both at start and after a gap);
 * - `recovered` ({from, to}): missed events were replayed, no reload needed;
 * - `dropped` ({message}): an offline send was dropped to bound the queue.
 *
 * `loadCatalog()` and `channelsOf(catalog, eventNames)` come from catalog.js:
 * the server's event catalogue, so a page needs no copy of the channel list.
 */

export { channelsOf, loadCatalog } from "./catalog.js";

export const STATES = Object.freeze({
  CONNECTING: "connecting",
  OPEN: "open",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

const WELCOME_TIMEOUT = 10000;
const STABLE_AFTER = 5000;

/** The /ws URL of the server that served the current page. */
export function defaultUrl(path = "/ws") {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

/** A random wait in [0, min(max, min * 2^attempt)] milliseconds ("full jitter"). */
export function backoffDelay(attempt, minDelay = 1000, maxDelay = 30000, random = Math.random) {
  const cap = Math.min(maxDelay, minDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

export class RealtimeClient {
  /**
   * @param {object} options
   * @param {string} [options.url] ws:// URL (default: /ws of this page's server)
   * @param {string} [options.clientType] gui, mobile or lightroom
   * @param {string} [options.clientName] up to 100 characters
   * @param {string[]} [options.channels] channels to hold, re-subscribed on every reconnect
   * @param {number} [options.minDelay] first backoff cap in ms (1000)
   * @param {number} [options.maxDelay] largest backoff cap in ms (30000)
   * @param {number} [options.maxQueue] most messages kept while offline (50)
   * @param {boolean} [options.resume] ask for replay on reconnect (true)
   * @param {boolean} [options.snapshot] ask for the current state as events
   *   whenever nothing could be replayed (false; pages that load state over
   *   HTTP on `resync` do not need it)
   */
  constructor(options = {}) {
    this.url = options.url || defaultUrl();
    this.clientType = options.clientType || "gui";
    this.clientName = options.clientName || "Darkroom page";
    this.channels = new Set(options.channels || []);
    this.minDelay = options.minDelay ?? 1000;
    this.maxDelay = options.maxDelay ?? 30000;
    this.maxQueue = options.maxQueue ?? 50;
    this.resume = options.resume ?? true;
    this.snapshot = options.snapshot ?? false;
    this.WebSocket = options.WebSocket || window.WebSocket;

    this.state = STATES.CLOSED;
    this.clientId = null;
    this.epoch = null;
    this.lastSeq = null;
    this.heartbeatMs = 15000;
    this.lastTraffic = 0;

    this._handlers = new Map();
    this._queue = [];
    this._ws = null;
    this._attempt = 0;
    this._openedAt = 0;
    this._retryTimer = null;
    this._welcomeTimer = null;
    this._watchTimer = null;
    this._wanted = false;
    this._everOpened = false;
    this._resumeSent = null;
    this._onOnline = () => { if (this.state === STATES.RECONNECTING) this._retryNow(); };
  }

  /** Listen to a server message type, a client event, or "*"; returns an unsubscribe function. */
  on(type, handler) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(handler);
    return () => this.off(type, handler);
  }

  off(type, handler) {
    const set = this._handlers.get(type);
    if (set) set.delete(handler);
  }

  /** Open the link (and keep it open until close()). */
  connect() {
    if (this._wanted) return this;
    this._wanted = true;
    window.addEventListener("online", this._onOnline);
    this._setState(STATES.CONNECTING);
    this._open();
    return this;
  }

  /** Close for good: no reconnect. */
  close() {
    this._wanted = false;
    window.removeEventListener("online", this._onOnline);
    clearTimeout(this._retryTimer);
    clearTimeout(this._welcomeTimer);
    clearInterval(this._watchTimer);
    this._queue = [];
    if (this._ws) {
      const ws = this._ws;
      this._ws = null;
      ws.close(1000, "client closed");
    }
    this._setState(STATES.CLOSED);
  }

  /** Set the client type and name; sent now if open, and after every reconnect. */
  register(clientType, clientName) {
    this.clientType = clientType;
    if (clientName !== undefined) this.clientName = clientName;
    if (this.state === STATES.OPEN) this._sendNow(this._registerMessage());
  }

  /** Add channels to the held set; sent now if open, and after every reconnect. */
  subscribe(channels) {
    const fresh = [].concat(channels).filter((c) => !this.channels.has(c));
    fresh.forEach((c) => this.channels.add(c));
    if (fresh.length && this.state === STATES.OPEN) {
      this._sendNow({ type: "subscribe", channels: fresh });
    }
  }

  unsubscribe(channels) {
    const gone = [].concat(channels).filter((c) => this.channels.has(c));
    gone.forEach((c) => this.channels.delete(c));
    if (gone.length && this.state === STATES.OPEN) {
      this._sendNow({ type: "unsubscribe", channels: gone });
    }
  }

  /**
   * Send a message object. Sent at once when open; otherwise kept in a queue of
   * at most `maxQueue` messages (oldest dropped, with a `dropped` event) and
   * sent after the next reconnect. Returns true if sent now.
   */
  send(message) {
    if (this.state === STATES.OPEN) return this._sendNow(message);
    this._queue.push(message);
    while (this._queue.length > this.maxQueue) {
      this._emit("dropped", { message: this._queue.shift() });
    }
    return false;
  }

  // --- internals -------------------------------------------------------

  _open() {
    let ws;
    try {
      ws = new this.WebSocket(this.url);
    } catch (err) {
      this._scheduleReconnect();
      return;
    }
    this._ws = ws;
    this.lastTraffic = Date.now();
    // A socket that opens but never says connection_established is no link.
    clearTimeout(this._welcomeTimer);
    this._welcomeTimer = setTimeout(() => {
      if (this._ws === ws && this.state !== STATES.OPEN) this._dropLink();
    }, WELCOME_TIMEOUT);
    ws.onmessage = (ev) => { if (this._ws === ws) this._onMessage(ev); };
    ws.onclose = () => { if (this._ws === ws) this._lost(); };
    ws.onerror = () => { /* onclose follows and decides */ };
  }

  _lost() {
    this._ws = null;
    clearInterval(this._watchTimer);
    clearTimeout(this._welcomeTimer);
    // Only a link that stayed up a while resets the backoff: a server that
    // accepts and drops at once (overloaded, restarting) is not hammered.
    if (this._openedAt && Date.now() - this._openedAt >= STABLE_AFTER) this._attempt = 0;
    this._openedAt = 0;
    if (this._wanted) this._scheduleReconnect();
  }

  _scheduleReconnect() {
    clearTimeout(this._retryTimer);
    const delay = backoffDelay(this._attempt, this.minDelay, this.maxDelay);
    this._attempt += 1;
    this._setState(STATES.RECONNECTING, { attempt: this._attempt, delay });
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _retryNow() {
    clearTimeout(this._retryTimer);
    if (!this._ws) this._open();
  }

  _dropLink() {
    const ws = this._ws;
    if (!ws) return;
    this._ws = null;
    try { ws.close(4000, "no traffic"); } catch (err) { /* already closing */ }
    this._lost();
  }

  _onMessage(ev) {
    this.lastTraffic = Date.now();
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (err) {
      return;
    }
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "connection_established") this._established(msg);
    else if (msg.type === "subscription_confirmed") this._confirmed(msg);
    else if (msg.type === "error" && msg.request_type === "subscribe" && this._resumeSent) {
      // A server without replay refused `since`: subscribe plainly and reload.
      this._resumeSent = null;
      this._sendNow({ type: "subscribe", channels: [...this.channels] });
      this._emit("resync", { reason: "not_recovered" });
    }
    if (typeof msg.seq === "number" && msg.channel && msg.type !== "connection_established") {
      if (this.lastSeq === null || msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    }
    this._emit(msg.type, msg);
    this._emit("*", msg);
  }

  _established(msg) {
    this.clientId = msg.client_id;
    const hb = Number(msg.heartbeat_interval);
    if (hb > 0) this.heartbeatMs = hb > 1000 ? hb : hb * 1000;
    const first = !this._everOpened;
    const epochChanged = this.epoch !== null && msg.epoch !== undefined && msg.epoch !== this.epoch;
    let since = null;
    if (this.resume && msg.epoch !== undefined && msg.epoch !== null) {
      if (first && typeof msg.seq === "number") {
        // Start from the server's latest seq: nothing published between this
        // welcome and our subscription can fall into a gap.
        since = { epoch: msg.epoch, seq: msg.seq };
      } else if (!first && this.lastSeq !== null && this.epoch !== null) {
        since = { epoch: this.epoch, seq: this.lastSeq };
      }
    }
    if (msg.epoch !== undefined) this.epoch = msg.epoch;
    if (first && typeof msg.seq === "number") this.lastSeq = msg.seq;
    if (epochChanged) this.lastSeq = typeof msg.seq === "number" ? msg.seq : null;
    this._everOpened = true;
    this._openedAt = Date.now();
    clearTimeout(this._welcomeTimer);
    this._sendNow(this._registerMessage());
    const channels = [...this.channels];
    this._resumeSent = channels.length ? { first, since } : null;
    if (channels.length) {
      const sub = { type: "subscribe", channels };
      if (since) sub.since = since;
      if (this.snapshot) sub.snapshot = true;
      this._sendNow(sub);
    }
    this._setState(STATES.OPEN);
    this._startWatch();
    const queued = this._queue.splice(0);
    queued.forEach((m) => this._sendNow(m));
    if (!channels.length) this._emit("resync", { reason: first ? "initial" : "not_recovered" });
  }

  _confirmed(msg) {
    const pending = this._resumeSent;
    if (!pending) return;
    this._resumeSent = null;
    if (pending.first) {
      this._emit("resync", { reason: "initial" });
    } else if (msg.recovered === true) {
      this._emit("recovered", { from: pending.since && pending.since.seq, to: this.lastSeq });
    } else {
      this._emit("resync", { reason: "not_recovered" });
    }
  }

  _registerMessage() {
    return { type: "register", client_type: this.clientType,
      client_name: String(this.clientName).slice(0, 100) };
  }

  _startWatch() {
    clearInterval(this._watchTimer);
    const tick = Math.max(250, Math.min(5000, this.heartbeatMs / 4));
    this._watchTimer = setInterval(() => {
      const idle = Date.now() - this.lastTraffic;
      if (idle > 2 * this.heartbeatMs) this._dropLink();
      else if (idle >= this.heartbeatMs / 2) this._sendNow({ type: "ping" });
    }, tick);
  }

  _sendNow(message) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  _setState(state, detail = {}) {
    const previous = this.state;
    this.state = state;
    if (previous === state && state !== STATES.RECONNECTING) return;
    this._emit("state", { state, previous, ...detail });
    this._emit(state, { previous, ...detail });
  }

  _emit(type, payload) {
    const set = this._handlers.get(type);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(payload);
      } catch (err) {
        console.error(`realtime.js: handler for ${type} failed`, err);
      }
    }
  }
}

/** Create a client and connect it: `connect({channels: ["jobs"]})`. */
export function connect(options = {}) {
  return new RealtimeClient(options).connect();
}
