"""The bundled CJK font covers every character the pages can show (no □□ on a machine without a CJK font).

The requirement is derived here on its own (not from scripts/subset_font.py): GB2312 level 1 plus every
character of the page templates, scripts and styles, the Python that renders page text, and the city's
taxonomy, routing, places and divisions configuration.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from tests.conftest import REPO

PAGES = REPO / "services" / "tracker" / "pages"
FONT = PAGES / "static" / "fonts" / "rugao-sans-sc.woff2"
LICENCE = PAGES / "static" / "fonts" / "OFL.txt"
CITY = REPO / "config" / "cities" / "rugao"
SHOWN = [*PAGES.glob("templates/*.html"), *PAGES.glob("static/*.js"), *PAGES.glob("static/*.css"),
         *PAGES.glob("*.py"), REPO / "services" / "tracker" / "auth.py",
         *(CITY / name for name in ("taxonomy.yaml", "routing.yaml", "places.yaml", "city.yaml", "divisions.json"))]


@pytest.fixture(scope="module")
def cmap() -> set[int]:
    return set(TTFont(FONT).getBestCmap())


def level1() -> set[str]:
    """GB2312 level 1: rows 16-55 (0xB0A1-0xD7F9), 3,755 hanzi."""
    found = set()
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                found.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def test_gb2312_level1_is_covered(cmap: set[int]) -> None:
    chars = level1()
    assert len(chars) == 3755
    missing = sorted(c for c in chars if ord(c) not in cmap)
    assert not missing, f"GB2312 level 1 characters not in the font: {''.join(missing)}"


@pytest.mark.parametrize("path", SHOWN, ids=lambda p: str(p.relative_to(REPO)))
def test_every_character_the_pages_show_is_covered(cmap: set[int], path: Path) -> None:
    assert path.is_file(), path
    text = path.read_text(encoding="utf-8")
    missing = sorted({c for c in text if not c.isspace() and ord(c) not in cmap})
    assert not missing, (f"{path.relative_to(REPO)} has characters the bundled font lacks: {''.join(missing)} "
                         "- run scripts/subset_font.py again (or avoid a glyph Noto Sans CJK SC does not have)")


def test_printable_ascii_and_chinese_punctuation_are_covered(cmap: set[int]) -> None:
    needed = [*range(0x20, 0x7F), *map(ord, "，。、；：？！“”‘’（）《》【】…—·×％～")]
    assert not [chr(c) for c in needed if c not in cmap]


def test_font_is_small_licensed_and_its_url_is_versioned() -> None:
    assert FONT.stat().st_size <= 2_000_000
    font = TTFont(FONT)
    assert font.flavor == "woff2"
    names = font["name"]
    assert "Open Font License" in (names.getDebugName(13) or "")
    assert "Adobe" in (names.getDebugName(0) or "")
    licence = LICENCE.read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Reserved Font Name 'Source'" in licence
    # the stylesheet asks for this very file (a cache-busting ?v= of its content: immutable caching is safe)
    css = (PAGES / "static" / "style.css").read_text(encoding="utf-8")
    face = re.search(r"@font-face\s*{([^}]*)}", css)
    assert face, "no @font-face in style.css"
    assert "font-display: swap" in face.group(1)
    url = re.search(r'url\("/static/fonts/rugao-sans-sc\.woff2\?v=([0-9a-f]+)"\)', face.group(1))
    assert url, face.group(1)
    assert url.group(1) == hashlib.sha256(FONT.read_bytes()).hexdigest()[:10]
    # a page with a stylesheet of its own (citizen.css) that names the font asks for the same version
    for sheet in (PAGES / "static").glob("*.css"):
        for version in re.findall(r"rugao-sans-sc\.woff2\?v=([0-9a-f]+)", sheet.read_text(encoding="utf-8")):
            assert version == url.group(1), sheet.name
    family = re.search(r'font-family:\s*"([^"]+)"', face.group(1))
    assert family and f'"{family.group(1)}"' in css.split(":root", 1)[1].split("}", 1)[0], "font not in the stack"
