/**
 * Text that mixes the UI's words with data. Each part is its own element,
 * so every piece is either a whole catalogue entry or marked as data
 * (`translate="no"`): a Japanese page never shows a sentence glued from
 * English data and words, and a test can check each piece.
 */
import { h } from "../dom.js";
import { has, t } from "../i18n.js";

/** A context tag in the page's language (an unknown tag is shown as it came). */
export function tagText(tag) {
  return tag && has(`tag.${tag}`) ? t(`tag.${tag}`) : tag || "";
}

/**
 * Fill `node` with `parts` joined by " · ": each part is a string (words)
 * or [text, false] (data). Empty parts are left out.
 */
export function joinParts(node, parts) {
  const kept = parts.map((p) => (Array.isArray(p) ? p : [p, true])).filter(([text]) => text);
  node.replaceChildren(...kept.flatMap(([text, words], i) =>
    [...(i ? [" \u00b7 "] : []), h("span", { text, translate: words })]));
}
