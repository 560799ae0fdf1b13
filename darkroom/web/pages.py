"""The browser pages: the live dashboard, the phone view and the quick reference's examples.

The pages are static shells (templates + ES modules under ``static/``); they
load their state from the public HTTP API and then follow ``/ws``, exactly as
any other client would, so nothing here needs private access to the pipeline.

Templates get ``t(key, **params)`` and ``lang`` from the same dictionaries the
browser's ``i18n.js`` uses (``static/i18n/<lang>/*.json``), in the language
``i18n.js`` would pick (its cookie, else the browser's Accept-Language): a page
arrives already in its language, and the pairing page, which an unpaired
device sees without access to ``/static``, is translated at all.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, Flask, current_app, render_template, request

log = logging.getLogger("darkroom.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
I18N_DIR = STATIC_DIR / "i18n"
LANGUAGES = ("en", "ja")  # the first is the fallback; i18n.js's LANGUAGES lists the same
LANG_COOKIE = "darkroom_lang"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

bp = Blueprint("web", __name__)


def load_catalogues(root: Path = I18N_DIR) -> dict[str, dict[str, str]]:
    """Every namespace of every language, merged per language.

    ``common`` is merged last: a template's ``t()`` serves every page, and a page's own
    namespace may reuse a common key for its own word (i18n.js loads only common and that
    namespace, so there the page's word wins), which must not change the other pages.
    """
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        words: dict[str, str] = {}
        paths = sorted((root / lang).glob("*.json"), key=lambda p: (p.stem == "common", p.stem))
        for path in paths:
            words.update(json.loads(path.read_text(encoding="utf-8")))
        out[lang] = words
    return out


def request_language() -> str:
    """``?lang=``, else the switch's cookie, else the best of Accept-Language, else English."""
    for chosen in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    for tag, _quality in request.accept_languages:
        base = tag.lower().split("-")[0]
        if base in LANGUAGES:
            return base
    return LANGUAGES[0]


def _translator(words: dict[str, str], lang: str):
    def t(key: str, **params) -> str:
        text = words.get(key)
        if text is None:
            log.warning("i18n: no %r in %s", key, lang)
            return key
        return _PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), m.group(0))), text)
    return t


def lang_url(code: str) -> str:
    """This page in language ``code`` (the switch of pages that run no script). Nothing else of
    the query is kept: a pairing code or a ``next`` is not to be echoed into links."""
    return f"{request.path}?{urlencode({'lang': code})}"


@bp.get("/")
def dashboard():
    # In LAN mode the dashboard shows a pairing QR code for phones (darkroom/web/auth.py).
    lan = current_app.extensions["darkroom"].config.lan
    return render_template("dashboard.html", lan=lan)


@bp.get("/mobile")
def mobile():
    return render_template("mobile.html")


@bp.get("/examples")
def examples():
    return render_template("examples.html")


def init_app(app: Flask) -> None:
    """Serve the pages of ``app`` (templates and static files are package data beside this module)."""
    catalogues = load_catalogues()

    @app.context_processor
    def _words():
        lang = request_language()
        return {"lang": lang, "languages": LANGUAGES, "lang_url": lang_url,
                "t": _translator(catalogues[lang], lang)}

    app.register_blueprint(bp)
    log.debug("web pages registered")
