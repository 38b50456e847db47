"""Every English text a template writes inside _() has its Chinese in the catalogue."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
LITERAL = re.compile(r"""_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\)""")


def template_texts() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((WEB / "templates").glob("*.html")):
        for match in LITERAL.finditer(path.read_text(encoding="utf-8")):
            text = match.group(1) if match.group(1) is not None else match.group(2)
            found.setdefault(text.replace("\\'", "'").replace('\\"', '"'), set()).add(path.name)
    return found


def catalogue():
    with (WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale="zh")


def test_every_template_text_has_chinese():
    translated = {m.id: m.string for m in catalogue() if m.id}
    missing = {text: sorted(files) for text, files in template_texts().items() if not translated.get(text)}
    assert not missing, f"add these to messages.po: {missing}"


def test_the_catalogue_has_no_duplicates():
    source = (WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.+)"$', source, flags=re.M)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
