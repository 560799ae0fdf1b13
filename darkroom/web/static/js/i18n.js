/**
 * The UI's words in English and Japanese: one small JSON dictionary per page
 * and language under /static/i18n/<lang>/<namespace>.json, numbers and dates
 * through Intl.
 *
 * The language is the one picked with the header's switch (kept in
 * localStorage), else the first of the browser's languages we have, else
 * English. Markup names its words with `data-i18n="key"` (the text) and
 * `data-i18n-attr="placeholder:key;title:key"` (attributes); code calls
 * `t("key", {name: value})`. A key missing from the dictionary shows as the
 * key itself and is reported once on the console, so a test can find it.
 */
export const LANGUAGES = { en: "English", ja: "日本語" };
const STORE = "darkroom.lang";
const dict = {};
const namespaces = new Set(["common"]);
const changeListeners = [];
const reported = new Set();

function pick() {
  const saved = localStorage.getItem(STORE);
  if (saved && saved in LANGUAGES) return saved;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

export let lang = pick();

async function fetchAll() {
  const loaded = await Promise.all([...namespaces].map(async (ns) => {
    const res = await fetch(`/static/i18n/${lang}/${ns}.json`, { cache: "no-cache" });
    if (!res.ok) throw new Error(`i18n: ${lang}/${ns}.json: HTTP ${res.status}`);
    return res.json();
  }));
  for (const key of Object.keys(dict)) delete dict[key];
  for (const part of loaded) Object.assign(dict, part);
  document.documentElement.lang = lang;
}

/** Load the dictionaries of `names` (plus "common") and translate the page. */
export async function load(...names) {
  for (const name of names) namespaces.add(name);
  await fetchAll();
  apply(document);
}

/** The word for `key`, with `{name}` placeholders filled from `params`. */
export function t(key, params) {
  let text = dict[key];
  if (text === undefined) {
    if (!reported.has(key)) {
      reported.add(key);
      console.warn(`i18n: no "${key}" in ${lang}`);
    }
    text = key;
  }
  if (params) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  return text;
}

/** Whether the dictionary has `key` (for text that is data, not UI, such as file names). */
export function has(key) {
  return key in dict;
}

/** Translate every marked element under `root`. */
export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

export function number(value, options) {
  return new Intl.NumberFormat(lang, options).format(value);
}

export function date(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(lang, options).format(value instanceof Date ? value : new Date(value));
}

/** Call `fn()` after the language changes (to re-render what code wrote). */
export function onChange(fn) {
  changeListeners.push(fn);
}

export async function setLanguage(next) {
  if (!(next in LANGUAGES) || next === lang) return;
  lang = next;
  localStorage.setItem(STORE, next);
  await fetchAll();
  apply(document);
  for (const fn of changeListeners) fn(lang);
}

/** Fill `select` with the languages and switch on change. */
export function mountSwitch(select) {
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => {
    const option = document.createElement("option");
    option.value = code;
    option.textContent = name;
    option.selected = code === lang;
    return option;
  }));
  select.addEventListener("change", () => setLanguage(select.value));
}
