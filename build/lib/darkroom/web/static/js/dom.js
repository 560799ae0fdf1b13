/**
 * Tiny DOM helpers. Everything that comes from the server is set with
 * textContent or as a property, never parsed as HTML.
 */

/** Create an element: h("li", {class: "x", text: "y", dataset: {id: 1}}, child, ...). */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Set text only when it changed (keeps layout and selection stable). */
export function setText(node, value) {
  const text = value === undefined || value === null ? "" : String(value);
  if (node.textContent !== text) node.textContent = text;
}

/** A number with at most `digits` decimals, or an em dash. */
export function num(value, digits = 1) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "\u2014";
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

/** 1536 -> "1.5 KB". */
export function bytes(n) {
  if (typeof n !== "number") return "\u2014";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/** "12:34:56" from an ISO timestamp. */
export function clock(iso) {
  const d = iso ? new Date(iso) : new Date();
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString([], { hour12: false });
}
