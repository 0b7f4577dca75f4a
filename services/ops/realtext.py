"""The real-text development set: re-fetch the public source file, check it, join our labels.

The texts (2020 TipDM 智慧政务 corpus, 附件4) have no licence, so the repository keeps only the
message ids and our labels (``data/realtext/labels.jsonl``, guide: docs/realtext-labelling.md);
this module brings the source file back, checks that it is byte for byte the one we labelled
and writes the joined file (texts + labels) under ``var/`` (never committed)::

    complaints realtext join [--source GIT_DIR_OR_XLSX] [--out var/realtext/realtext.jsonl]
    complaints eval var/realtext/realtext.jsonl [--json]

The texts are only ever used to measure the router, never to train the shipped model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from services.core.loader import REPO_ROOT

REPOSITORY = "Rollbear-bot/HelloNLP-TopicC-in-TipDMCup2020"
COMMIT = "505edf120966fe65039395e3a7f5fa9848359274"
PATH = "resources/full_dataset/full_dataset_sheet_4.xlsx"
SHA256 = "4293f992d58d00ecc5d1b8a9cbc49549faebc5cd6895ea0da6d6a6ec5a628439"
LABELS = REPO_ROOT / "data" / "realtext" / "labels.jsonl"
DEFAULT_OUT = REPO_ROOT / "var" / "realtext" / "realtext.jsonl"
CLONE_DIR = REPO_ROOT / "var" / "realtext" / "source.git"
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_SPACE = re.compile(r"\s+")


class RealTextError(Exception):
    """The source file cannot be had or is not the one the labels were made on."""


def _git_show(git_dir: Path) -> bytes:
    try:
        out = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{COMMIT}:{PATH}"],
                             capture_output=True, check=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        msg = exc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise RealTextError(f"{git_dir}: no {PATH} at commit {COMMIT[:12]} ({msg[0]})") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RealTextError(f"{git_dir}: git failed: {exc}") from exc
    return out.stdout


def _clone() -> Path:
    if not (CLONE_DIR / "HEAD").exists():
        CLONE_DIR.parent.mkdir(parents=True, exist_ok=True)
        url = f"https://github.com/{REPOSITORY}.git"
        try:
            subprocess.run(["git", "clone", "--bare", "--quiet", url, str(CLONE_DIR)], check=True,
                           capture_output=True, timeout=600)
        except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise RealTextError(f"cannot clone {url} (no network?); pass --source with a local clone "
                                f"(git dir) or the .xlsx file") from exc
    return CLONE_DIR


def source_bytes(source: str | None = None) -> bytes:
    """The bytes of the source file: from ``source`` (an .xlsx file, or a git dir / clone of the
    repository), else ``COMPLAINTS_REALTEXT_SOURCE``, else a clone under var/.  Checked against
    the SHA-256 the labels were made on."""
    source = source or os.environ.get("COMPLAINTS_REALTEXT_SOURCE")
    if source:
        p = Path(source)
        if not p.exists():
            raise RealTextError(f"{p}: no such file or directory")
        if p.is_file():
            data = p.read_bytes()
        else:
            git_dir = p / ".git" if (p / ".git").exists() else p
            data = _git_show(git_dir)
    else:
        data = _git_show(_clone())
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise RealTextError(f"the source file changed: sha256 {digest[:16]}…, the labels were made on "
                            f"{SHA256[:16]}… ({REPOSITORY}@{COMMIT[:12]}:{PATH})")
    return data


def read_sheet(data: bytes) -> list[dict[str, str]]:
    """The rows of the workbook's first sheet as {header: text} (stdlib only: zip + XML)."""
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        shared = [_text(si) for si in ElementTree.fromstring(zf.read("xl/sharedStrings.xml")).iterfind("m:si", _NS)]
        sheet = ElementTree.fromstring(zf.read("xl/worksheets/sheet1.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
        raise RealTextError(f"not the expected workbook: {exc}") from exc
    rows = [list(_cells(row, shared)) for row in sheet.iterfind("m:sheetData/m:row", _NS)]
    if not rows:
        raise RealTextError("the workbook's first sheet is empty")
    header = rows[0]
    return [dict(zip(header, r + [""] * (len(header) - len(r)), strict=False)) for r in rows[1:]]


def _text(node: ElementTree.Element) -> str:
    return "".join(t.text or "" for t in node.iter(f"{{{_NS['m']}}}t"))


def _column(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


def _cells(row: ElementTree.Element, shared: list[str]) -> Iterator[str]:
    col = 0
    for c in row.iterfind("m:c", _NS):
        target = _column(c.get("r", "")) if c.get("r") else col
        while col < target:
            yield ""
            col += 1
        v = c.find("m:v", _NS)
        if c.get("t") == "s" and v is not None and v.text is not None:
            yield shared[int(v.text)]
        elif c.get("t") == "inlineStr":
            yield _text(c)
        else:
            yield v.text or "" if v is not None else ""
        col += 1


def read_labels(path: Path = LABELS) -> list[dict[str, object]]:
    if not path.exists():
        raise RealTextError(f"{path}: no labels file")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RealTextError(f"{path}:{n}: not JSON ({exc.msg})") from exc
    return out


def join(rows: list[dict[str, str]], labels: list[dict[str, object]]) -> list[dict[str, object]]:
    """Each label with its post's text (title, then the message); every labelled id must exist."""
    by_id = {r.get("留言编号", "").strip(): r for r in rows}
    out = []
    for lab in labels:
        row = by_id.get(str(lab["id"]))
        if row is None:
            raise RealTextError(f"message {lab['id']} is not in the source file")
        title = _SPACE.sub(" ", row.get("留言主题", "")).strip()
        body = _SPACE.sub(" ", row.get("留言详情", "")).strip()
        out.append({**lab, "id": f"tipdm-{lab['id']}", "text": f"{title}。{body}" if title else body,
                    "territory": None, "village": None, "unit": None})
    return out


def cmd_join(args: argparse.Namespace) -> int:
    try:
        rows = read_sheet(source_bytes(args.source))
        joined = join(rows, read_labels(Path(args.labels)))
    except RealTextError as exc:
        print(f"complaints realtext: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in joined), encoding="utf-8")
    print(f"joined {len(joined)} labelled posts of {len(rows)} -> {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("realtext", help="the real-text development set (labels + re-fetched texts)")
    sub = p.add_subparsers(dest="realtext_command", required=True)
    j = sub.add_parser("join", help="re-fetch the source file, check it and join the labels")
    j.add_argument("--source", default=None,
                   help="the .xlsx file or a git dir of the repository (default: $COMPLAINTS_REALTEXT_SOURCE, "
                        "else a clone under var/)")
    j.add_argument("--labels", default=str(LABELS))
    j.add_argument("--out", default=str(DEFAULT_OUT))
    j.set_defaults(func=cmd_join)
    from services.ops import realtext_curve  # imports this module

    realtext_curve.register(sub)
