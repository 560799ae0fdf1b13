/**
 * The event catalogue as the server declares it (GET /websocket/catalog):
 * `{channels: [...], events: {name: {channel, schema}}}`. Pages take their
 * channel lists and event names from here, never from copies; realtime.js
 * re-exports both functions:
 *
 *     import { channelsOf, connect, loadCatalog } from "/static/js/realtime.js";
 *
 *     const catalog = await loadCatalog();
 *     connect({ channels: catalog.channels });                      // every channel
 *     connect({ channels: channelsOf(catalog, ["job_progress"]) }); // what a page handles
 */
import { api } from "./api.js";

const PATH = "/websocket/catalog";

let pending = null;

/** The catalogue, fetched once per page (an ApiError rejects; the next call tries again). */
export function loadCatalog() {
  pending = pending || api.get(PATH).then(
    ({ channels, events }) => Object.freeze({ channels: Object.freeze([...channels]), events }),
    (err) => {
      pending = null;
      throw err;
    });
  return pending;
}

/** The channels that carry `eventNames`, in catalogue order; an unknown name is an error. */
export function channelsOf(catalog, eventNames) {
  const wanted = new Set([].concat(eventNames).map((name) => {
    if (!catalog.events[name]) throw new Error(`catalog.js: ${PATH} has no event "${name}"`);
    return catalog.events[name].channel;
  }));
  return catalog.channels.filter((c) => wanted.has(c));
}
