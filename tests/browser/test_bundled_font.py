"""A machine without any CJK font: Chromium run with a fontconfig that hides every CJK system font shows
boxes for Chinese on a plain page, and real characters on ours (the bundled Rugao Sans SC subset)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser.conftest import CHROMIUM_ARGS, chromium_path
from tests.integration.pages.conftest import LiveApi, api_factory  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
CJK_FONT_DIR = re.compile(r"wqy|cjk|arphic|droid|noto|han|ukai|uming", re.I)
# every hanzi has a full-em advance in a CJK font; a missing glyph is the narrower .notdef box of a Latin font
MEASURE = """([text, font]) => {
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = font;
    return ctx.measureText(text).width;
}"""


@pytest.fixture(scope="module")
def no_cjk_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    root = tmp_path_factory.mktemp("fontconfig")
    dirs = [d for d in sorted(Path("/usr/share/fonts").glob("*/*")) if d.is_dir() and not CJK_FONT_DIR.search(d.name)]
    conf = root / "fonts.conf"
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                    + "".join(f"  <dir>{d}</dir>\n" for d in dirs)
                    + f"  <cachedir>{root / 'cache'}</cachedir>\n</fontconfig>\n", encoding="utf-8")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS,
                              env={"FONTCONFIG_FILE": str(conf), "HOME": str(root)})
        yield b
        b.close()


def width(page: Page, text: str, font: str) -> float:
    return float(page.evaluate(MEASURE, [text, font]))


def test_without_a_system_cjk_font_the_pages_still_show_chinese(no_cjk_browser: Browser,
                                                                 api_factory: Callable[..., LiveApi],  # noqa: F811
                                                                 tmp_path: Path) -> None:
    live = api_factory()
    page = no_cjk_browser.new_page(base_url=live.url)
    text = "如皋市城市管理投诉受理"
    # the control: this browser really has no CJK font (a plain page draws boxes, not 1 em per character)
    page.set_content("<p>x</p>")
    assert width(page, text, "20px sans-serif") < 0.8 * 20 * len(text)
    page.goto("/login")
    faces = page.evaluate("""async (text) => {
        const loaded = await document.fonts.load('20px "Rugao Sans SC"', text);
        return loaded.map((f) => [f.family, f.status]);
    }""", text)
    assert faces == [['"Rugao Sans SC"', "loaded"]] or faces == [["Rugao Sans SC", "loaded"]], faces
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Rugao Sans SC" in body_font
    # the page's own font stack now draws every character a full em wide: real glyphs, no boxes
    assert width(page, text, f"20px {body_font}") == pytest.approx(20 * len(text), rel=0.02)
    heading = page.locator("h1").inner_text()
    assert width(page, heading, f"20px {body_font}") == pytest.approx(20 * len(heading), rel=0.02)
    page.screenshot(path=str(tmp_path / "login_without_cjk_font.png"))
