/**
 * The UI's words in English and Japanese: one small JSON dictionary per page
 * and language under /static/i18n/<lang>/<namespace>.json, numbers and dates
 * through Intl.
 *
 * The language is `?lang=` in the page's URL, else the one picked with the
 * header's switch (kept in the `darkroom_lang` cookie, which the server reads
 * too, so the pages it renders arrive in the same language), else the first
 * of the browser's languages we have, else English (pages.py picks alike). Markup names its words with `data-i18n="key"` (the
 * text, with `data-i18n-params='{"n": 3}'` for placeholders) and
 * `data-i18n-attr="placeholder:key;title:key"` (attributes); code calls
 * `t("key", {name: value})`. A key missing from the dictionary shows as the
 * key itself and is reported once on the console ("i18n: no ..."), so a test
 * can find it. Every `<select data-lang-switch>` becomes the language switch.
 * `<html data-lang="ja">` says the page is translated (tests wait for it).
 */
export const LANGUAGES = { en: "English", ja: "日本語" };
export const COOKIE = "darkroom_lang";
const YEAR = 365 * 24 * 3600;
const dict = {};
const namespaces = new Set(["common"]);
const changeListeners = [];
const reported = new Set();

function saved() {
  const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${COOKIE}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : null;
}

function pick() {
  for (const chosen of [new URLSearchParams(location.search).get("lang"), saved()]) {
    if (chosen && chosen in LANGUAGES) return chosen;
  }
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

export let lang = pick();

async function fetchAll() {
  const want = lang;
  const loaded = await Promise.all([...namespaces].map(async (ns) => {
    const res = await fetch(`/static/i18n/${want}/${ns}.json`, { credentials: "same-origin" });
    if (!res.ok) throw new Error(`i18n: ${want}/${ns}.json: HTTP ${res.status}`);
    return res.json();
  }));
  if (want !== lang) return false; // a newer switch won the race
  for (const key of Object.keys(dict)) delete dict[key];
  for (const part of loaded) Object.assign(dict, part);
  document.documentElement.lang = lang;
  return true;
}

function finish() {
  apply(document);
  for (const select of document.querySelectorAll("select[data-lang-switch]")) mountSwitch(select);
  document.documentElement.dataset.lang = lang;
}

/** Load the dictionaries of `names` (plus "common") and translate the page. */
export async function load(...names) {
  for (const name of names) namespaces.add(name);
  if (await fetchAll()) finish();
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (m, name) => {
    if (!(name in params)) return m;
    const value = params[name];
    return typeof value === "number" ? number(value) : String(value);
  });
}

/** The word for `key`, with `{name}` placeholders filled from `params` (numbers through Intl). */
export function t(key, params) {
  let text = dict[key];
  if (typeof text !== "string") {
    if (!reported.has(key)) {
      reported.add(key);
      console.warn(`i18n: no "${key}" in ${lang}`);
    }
    text = key;
  }
  return params ? fill(text, params) : text;
}

/** Whether the dictionary has `key` (for text that may be data, such as a context tag). */
export function has(key) {
  return typeof dict[key] === "string";
}

function paramsOf(el) {
  if (!el.dataset.i18nParams) return undefined;
  try {
    return JSON.parse(el.dataset.i18nParams);
  } catch (err) {
    return undefined;
  }
}

/** Translate every marked element under `root` (and `root` itself). */
export function apply(root = document) {
  const all = (selector) => {
    const found = [...root.querySelectorAll(selector)];
    if (root.matches && root.matches(selector)) found.unshift(root);
    return found;
  };
  for (const el of all("[data-i18n]")) {
    const text = t(el.dataset.i18n, paramsOf(el));
    if (el.textContent !== text) el.textContent = text;
  }
  for (const el of all("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key, paramsOf(el)));
    }
  }
}

export function number(value, options) {
  return new Intl.NumberFormat(lang, options).format(value);
}

export function date(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(lang, options).format(value instanceof Date ? value : new Date(value));
}

/** Call `fn(lang)` after the language changes (to re-render what code wrote). */
export function onChange(fn) {
  changeListeners.push(fn);
}

/** Switch to `next` without a reload: fetch its dictionaries, translate, tell the listeners. */
export async function setLanguage(next) {
  if (!(next in LANGUAGES) || next === lang) return;
  lang = next;
  document.cookie = `${COOKIE}=${next}; path=/; max-age=${YEAR}; SameSite=Strict`;
  if (!(await fetchAll())) return;
  finish();
  for (const fn of changeListeners) fn(lang);
}

/** Fill `select` with the languages and switch on change (once per element). */
export function mountSwitch(select) {
  if (!select.dataset.langMounted) {
    select.dataset.langMounted = "yes";
    select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => {
      const option = document.createElement("option");
      option.value = code;
      option.lang = code;
      option.textContent = name;
      return option;
    }));
    select.addEventListener("change", () => setLanguage(select.value));
  }
  select.value = lang;
}
