"""English and Japanese: both catalogues hold the same keys, and in Chromium every page shows
only words of its language's catalogue.

The browser check reads every text node of the page (hidden ones too: they are shown later)
and its placeholder, title, aria-label and alt attributes and the document title. Each must be
a value of the catalogue (a value with ``{placeholders}`` matches with anything in their
place, as long as its own words are there), or data: text without letters (numbers, ids,
symbols), the product name, or inside an element that holds data by nature (``<code>``,
``<pre>``, ``<kbd>``: keys are written alike in both languages) or is marked ``data-i18n-skip``
or HTML's ``translate="no"`` (file names, session and preset names, the examples' console).
No key may be missing (i18n.js warns "i18n: no ..." on the console), and the header's switch
changes the language in place, without a reload.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser_support import PHONE, wait_connected, wait_js
from harness import ROOT
from imagegen import write_image

from darkroom.web import auth

I18N = Path(ROOT) / "darkroom" / "web" / "static" / "i18n"
LANGUAGES = ("en", "ja")
LOCALES = {"en": "en-US", "ja": "ja-JP"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
PRODUCT = "Darkroom"


def namespaces(lang: str) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((I18N / lang).glob("*.json"))}


def words(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for part in namespaces(lang).values():
        merged.update(part)
    return merged


# --- the catalogues themselves --------------------------------------------------------

def test_both_languages_have_the_same_namespaces_keys_and_placeholders():
    en, ja = namespaces("en"), namespaces("ja")
    assert {"common", "mobile", "examples", "pair", "dashboard"} <= set(en)
    assert set(en) == set(ja)
    for ns in en:
        assert sorted(set(en[ns]) - set(ja[ns])) == [], f"{ns}: only in English"
        assert sorted(set(ja[ns]) - set(en[ns])) == [], f"{ns}: only in Japanese"
        for key, text in en[ns].items():
            other = ja[ns][key]
            assert isinstance(text, str) and text.strip(), f"en {ns} {key}"
            assert isinstance(other, str) and other.strip(), f"ja {ns} {key}"
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(other)), key


def test_a_key_shared_by_two_namespaces_says_the_same_thing():
    """Pages merge common with their own namespace (and the server merges them all): a key
    defined twice with two meanings would show one page's word on another."""
    for lang in LANGUAGES:
        seen: dict[str, tuple[str, str]] = {}
        for ns, part in namespaces(lang).items():
            for key, text in part.items():
                if key in seen:
                    assert seen[key][1] == text, f"{lang}: {key} in {seen[key][0]} and {ns} differ"
                seen[key] = (ns, text)


@pytest.mark.parametrize("ns", ["common", "mobile", "examples", "pair"])
def test_the_japanese_is_japanese(ns):
    """Every Japanese value with words has Japanese script (kana or kanji): nothing was left
    in English but the language switch's own name for English."""
    japanese = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
    for key, text in namespaces("ja")[ns].items():
        if key == "lang.en" or not any(c.isalpha() for c in PLACEHOLDER.sub("", text)):
            continue
        assert japanese.search(text), f"ja {key}: {text!r}"


def test_the_server_renders_pages_in_the_language_i18n_js_would_pick(live_server):
    """?lang= first, then the switch's cookie, then Accept-Language; anything else is English."""
    def served(path="/mobile", **headers):
        res = live_server.get(path, headers=headers)
        assert res.status_code == 200
        return re.search(r'<html lang="(\w+)">', res.text).group(1), res.text

    assert served()[0] == "en"
    lang, html = served(**{"Accept-Language": "fr-CH, ja;q=0.8, en;q=0.5"})
    assert lang == "ja" and words("ja")["mobile.empty"] in html
    assert served(**{"Accept-Language": "ja", "Cookie": "darkroom_lang=en"})[0] == "en"
    assert served("/mobile?lang=ja", **{"Cookie": "darkroom_lang=en"})[0] == "ja"
    lang, html = served("/examples?lang=%3Cscript%3E", **{"Cookie": "darkroom_lang=../../x"})
    assert lang == "en" and "<script>" not in html


# --- the pages --------------------------------------------------------------------------

class Catalogue:
    """Tells UI text of one language from text that is not its."""

    def __init__(self, lang: str):
        values = {" ".join(v.split()) for v in words(lang).values()}
        self.exact = values
        self.patterns = []
        for value in values:
            literal = PLACEHOLDER.sub("", value)
            if value != literal and any(c.isalpha() for c in literal):
                parts = PLACEHOLDER.split(value)[::2]
                self.patterns.append(re.compile("".join(
                    re.escape(p) + ("(.+?)" if i < len(parts) - 1 else "")
                    for i, p in enumerate(parts)) + r"\Z", re.S))

    def accepts(self, text: str) -> bool:
        text = " ".join(text.split())
        if not any(c.isalpha() for c in text) or text == PRODUCT or text in self.exact:
            return True
        return any(p.match(text) for p in self.patterns)


COLLECT = """() => {
  const skip = "script, style, template, code, pre, kbd, [data-i18n-skip], [translate=no]";
  const where = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const out = [{ text: document.title, where: "title" }];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && !node.parentElement.closest(skip)) out.push({ text, where: where(node.parentElement) });
  }
  for (const el of document.querySelectorAll("[placeholder], [title], [aria-label], img[alt]")) {
    if (el.closest(skip)) continue;
    for (const attr of ["placeholder", "title", "aria-label", "alt"]) {
      const value = (el.getAttribute(attr) || "").trim();
      if (value) out.push({ text: value, where: where(el) + "@" + attr });
    }
  }
  return out;
}"""


def assert_speaks(page, lang: str) -> None:
    """Every text of ``page`` is a word of ``lang``'s catalogue or data."""
    catalogue = Catalogue(lang)
    foreign = [f"{item['where']}: {item['text']!r}" for item in page.evaluate(COLLECT)
               if not catalogue.accepts(item["text"])]
    assert not foreign, f"not in the {lang} catalogue:\n" + "\n".join(foreign)


def missing_keys(page) -> list[str]:
    return [m for m in page.console if m.startswith("i18n: no")]


def translated(page, lang: str) -> None:
    page.wait_for_selector(f"html[data-lang={lang}][lang={lang}]", state="attached", timeout=15_000)


def switch_to(page, lang: str) -> None:
    page.select_option("select[data-lang-switch], select#lang-switch", lang)
    translated(page, lang)


@pytest.fixture
def busy_server(live_server, tmp_path):
    """A server with a session of two developed photos, so pages show cards, tiles and jobs."""
    folder = tmp_path / "words"
    folder.mkdir()
    for i in range(2):
        write_image(folder / f"IMG_{i:04d}.jpg", width=240, height=160, seed=i + 1)
    res = live_server.post("/api/sessions", {"name": "Words", "import_folder": str(folder)})
    session_id = res.json()["session"]["id"]
    live_server.post(f"/api/sessions/{session_id}/import", {})
    live_server.wait_for(lambda: live_server.get("/api/approval/queue").json()["count"] == 2,
                         timeout=40)
    return live_server


def other(lang: str) -> str:
    return "en" if lang == "ja" else "ja"


def check_page(page, lang: str) -> None:
    translated(page, lang)
    assert_speaks(page, lang)
    page.evaluate("window.__noReload = true")
    switch_to(page, other(lang))
    assert_speaks(page, other(lang))
    assert page.evaluate("window.__noReload") is True
    switch_to(page, lang)
    assert_speaks(page, lang)
    assert missing_keys(page) == []
    assert page.errors == []


@pytest.mark.browser
@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_phone_view_speaks_one_language_and_switches_in_place(busy_server, open_page, lang):
    page = open_page(busy_server.url + "/mobile", locale=LOCALES[lang], **PHONE)
    wait_connected(page)
    page.wait_for_selector("#m-card:not([hidden])")
    wait_js(page, "document.querySelector('#m-score').textContent !== ''", timeout=15)
    check_page(page, lang)
    # The switch is remembered: a reload comes back in the language chosen last.
    switch_to(page, other(lang))
    page.reload()
    translated(page, other(lang))
    assert page.evaluate("document.documentElement.lang") == other(lang)
    assert_speaks(page, other(lang))


@pytest.mark.browser
@pytest.mark.timeout(90)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_dashboard_speaks_one_language_and_switches_in_place(busy_server, open_page, lang):
    page = open_page(busy_server.url + "/", locale=LOCALES[lang])
    wait_connected(page)
    wait_js(page, "document.querySelectorAll('#approval-list li').length === 2", timeout=20)
    check_page(page, lang)


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_examples_page_speaks_one_language_and_switches_in_place(live_server, open_page, lang):
    page = open_page(live_server.url + "/examples", locale=LOCALES[lang])
    translated(page, lang)
    # What the quick reference's handlers show, called as the examples call them.
    page.evaluate("""() => {
        updateProgressBar(7, 45);
        showMessage('Rendering');
        addPhotoToGallery({ id: 3, name: 'IMG_0003.jpg', sessionId: 2 });
        updateSessionCard(2, { progress: 50, processed: 1, total: 2 });
    }""")
    wait_js(page, "document.querySelector('#ex-sessions li').textContent.includes('2')")
    check_page(page, lang)
    rows = page.locator("#ex-gallery li").inner_text()
    assert "IMG_0003.jpg" in rows


@pytest.mark.browser
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_pairing_page_speaks_the_browsers_language_without_scripts(make_server, open_page,
                                                                         lang):
    """An unpaired device may not fetch /static: the server renders its words, and the
    switch is a pair of links."""
    server = make_server(lan=True, host="127.0.0.1")
    assert server.app.extensions[auth.EXTENSION].lan
    page = open_page(f"{server.url}/pair?code=bad", locale=LOCALES[lang])
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.get_attribute("#pair-result", "data-paired") == "no"
    assert_speaks(page, lang)
    page.click(f".lang-links a[lang={other(lang)}]")
    page.wait_for_selector(f"html[lang={other(lang)}]", state="attached")
    assert_speaks(page, other(lang))
    # The page an unpaired device gets anywhere else (401) speaks its language too.
    page.goto(f"{server.url}/mobile")
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.get_attribute("#pair-result", "data-paired") == "no"
    assert_speaks(page, lang)
    assert page.errors == []
