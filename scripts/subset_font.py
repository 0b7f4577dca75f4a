"""Rebuild the pages' bundled CJK font: services/tracker/pages/static/fonts/rugao-sans-sc.woff2.

A machine without a CJK font (a fresh Linux box, a kiosk) showed □□ for every Chinese character.  The
pages therefore ship a subset of Noto Sans CJK SC Regular (SIL Open Font License 1.1, OFL.txt beside it):
GB2312's symbol rows and its level 1 (the 3,755 commonest hanzi), printable ASCII and the typographic
punctuation, plus every character the pages, their scripts, the Python that renders them and the city's
configuration hold (place names beyond level 1 among them).  ``--level2`` adds GB2312's 3,008 rarer
hanzi too (about 2 MB instead of 1.1 MB); a character outside the font falls back to the system's fonts.

Run it again after adding text whose characters GB2312 lacks (tests/unit/test_font_coverage.py fails
then, naming them).  Source: Debian's ``fonts-noto-cjk`` (``apt-get download fonts-noto-cjk`` and
``dpkg-deb -x``); needs fontTools with brotli (``pip install 'fonttools[woff]'``, a test dependency)::

    python scripts/subset_font.py /path/to/NotoSansCJK-Regular.ttc
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "services" / "tracker" / "pages" / "static" / "fonts" / "rugao-sans-sc.woff2"
# text the pages can show: their templates, scripts and styles, the Python that renders them, the city's config
TEXT_SOURCES = [("services/tracker/pages", ("*.html", "*.js", "*.css", "*.py")),
                ("services/tracker", ("*.py",)),
                ("config/cities", ("*.yaml", "*.json"))]
EXTRA_RANGES = [(0x20, 0x7E),      # printable ASCII
                (0xA0, 0xFF),      # Latin-1 supplement (× · ° ±)
                (0x2010, 0x2027),  # dashes, quotes, ellipsis
                (0x2030, 0x203B),  # per mille, primes, reference mark
                (0x2190, 0x2199),  # arrows
                (0x2460, 0x2473),  # circled numbers
                (0x25A0, 0x25CF),  # squares, triangles, circles
                (0x3000, 0x303F),  # CJK symbols and punctuation
                (0xFF01, 0xFF5E)]  # full-width forms
SC_FACE = "Noto Sans CJK SC"


def gb2312(level2: bool = False) -> set[str]:
    """GB2312's symbol rows 1-9 and level 1 hanzi (rows 16-55); with ``level2`` rows 56-87 too."""
    found: set[str] = set()
    for high in range(0xA1, 0xF8 if level2 else 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                found.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return found


def product_text(repo: Path = REPO) -> set[str]:
    found: set[str] = set()
    for folder, patterns in TEXT_SOURCES:
        for pattern in patterns:
            for path in (repo / folder).rglob(pattern):
                found.update(c for c in path.read_text(encoding="utf-8") if ord(c) > 0x7E)
    return found


def wanted(level2: bool = False) -> set[int]:
    points = {ord(c) for c in gb2312(level2) | product_text()}
    for first, last in EXTRA_RANGES:
        points.update(range(first, last + 1))
    return points


def main(argv: list[str] | None = None) -> int:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="NotoSansCJK-Regular.ttc (or NotoSansCJKsc-Regular.otf)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--level2", action="store_true", help="all of GB2312 (about 2 MB instead of 1.1 MB)")
    args = parser.parse_args(argv)
    if args.source.suffix.lower() == ".ttc":
        names = [f["name"].getDebugName(4) for f in TTCollection(args.source).fonts]
        number = names.index(SC_FACE)
    else:
        number = 0
    options = subset.Options()
    options.flavor = "woff2"
    options.font_number = number
    options.name_IDs = ["*"]          # keep the copyright and licence records (OFL condition 2)
    options.name_languages = ["*"]
    options.hinting = False           # screens render CJK unhinted anyway; a third smaller
    options.layout_features = ["*"]   # vertical forms, locl, kerning of the kept glyphs
    options.notdef_outline = True
    font = subset.load_font(str(args.source), options)
    cmap = font.getBestCmap()
    points = wanted(args.level2)
    # the extra ranges are best effort; a required character the source lacks is named
    missing = sorted(c for c in gb2312(args.level2) | product_text() if ord(c) not in cmap)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[p for p in points if p in cmap])
    subsetter.subset(font)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(args.out), options)
    print(f"{args.out}: {len(font.getBestCmap())} code points, {args.out.stat().st_size / 1024:.0f} KiB")
    if missing:
        print("not in the source font (left to the system's fonts): " + " ".join(missing), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
