"""The page language through Flask-Babel: Chinese by default, English on request (``/lang/en``).

Templates and views write English inside ``_()``; the Chinese lives in
``web/translations/zh/LC_MESSAGES/messages.po``. The ``.po`` file is the only
source: it is compiled to ``.mo`` in the instance folder when the app starts
(and again whenever it changes), so there is no build step and no binary in git.
A text missing from the catalogue shows in English, never an error.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import request, session
from flask_babel import Babel, gettext

from engine.db import instance_path

LANGUAGES = ("zh", "en")
SOURCE = Path(__file__).parent / "translations"
BEIJING = ZoneInfo("Asia/Shanghai")
babel = Babel()


def language() -> str:
    lang = session.get("lang") or request.args.get("lang")
    return lang if lang in LANGUAGES else "zh"


def compile_catalogues(target: Path) -> Path:
    """Compile every ``.po`` under ``web/translations`` into ``target`` when it is newer than its ``.mo``."""
    for po in SOURCE.glob("*/LC_MESSAGES/*.po"):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        partial = mo.with_suffix(".mo.part")
        with partial.open("wb") as out:
            write_mo(out, catalog)
        partial.replace(mo)  # several processes may start at once; each sees a whole file
    return target


def local_time(value: str | datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC; people read them in Beijing time."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING).strftime(fmt)


def translate(text: str | None) -> str:
    """The ``tr`` filter for values that are not literals (a status, a card colour, a flash message).

    Unlike ``_()`` in templates it returns a plain string, so the value is
    still escaped: a flash message may quote what a user typed.
    """
    return gettext(text) if text else ""


def init_app(app) -> None:
    target = compile_catalogues(Path(app.config.get("YIMEN_TRANSLATIONS") or instance_path() / "translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    babel.init_app(app, locale_selector=language)
    app.jinja_env.globals.update(language=language)
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["tr"] = translate
