/**
 * The public HTTP API, as any client sees it: JSON in, JSON out, errors as
 * ApiError with the server's `code` and `error` text.
 *
 * Every write says `Content-Type: application/json` (the server answers 415
 * otherwise, body or not) and `X-Darkroom-Request: 1`, which a LAN server
 * wants beside the session cookie (a foreign page cannot send that header).
 */

export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-Darkroom-Request"] = "1";
    init.body = JSON.stringify(body === undefined ? {} : body);
  }
  const res = await fetch(path, init);
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    data = null;
  }
  if (!res.ok || (data && data.success === false)) {
    throw new ApiError(res.status, data && data.code,
      (data && (data.error || data.message)) || `HTTP ${res.status}`, `${method} ${path}`);
  }
  return data;
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, body = {}) => request("POST", path, body),
  patch: (path, body = {}) => request("PATCH", path, body),
};

/** The list in a response: `data[key]` when present, the response itself when it is a list. */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

/** The object in a response: `data[key]` when present, else the response. */
export function itemOf(data, key) {
  if (data && data[key] && typeof data[key] === "object" && !Array.isArray(data[key])) return data[key];
  return data || {};
}
