"""The simulated-corrections curve on real writing: sizes parsed with clear errors, and on a small
set the throw-away models learn from the corrected posts of the other folds (and never write a model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.core.classifier import MODEL_FILE
from services.core.training import Example, read_jsonl
from services.corecli import DEV_SET
from services.ops.realtext_curve import curve, parse_sizes


def test_sizes() -> None:
    assert parse_sizes("0, 150,all") == [0, 150, None]
    for bad in ("", "x", "10,-1"):
        with pytest.raises(ValueError, match="--sizes"):
            parse_sizes(bad)


def test_curve_learns_from_corrections_of_other_folds() -> None:
    dev = read_jsonl(DEV_SET)
    # "posts": a made-up style the shippable data never shows, labelled NOISE_CONSTRUCTION or OUT_OF_SCOPE
    posts = [Example(f"关于第{i}号情况的反映：咕噜呱啦{'嘎嘣嘎嘣' if i % 2 else '哔哩哔哩'}第{i}次",
                     "NOISE_CONSTRUCTION" if i % 2 else "OUT_OF_SCOPE", False) for i in range(40)]
    records = [{"city": p.category != "OUT_OF_SCOPE", "secondary": None} for p in posts]
    before = MODEL_FILE.stat().st_mtime_ns
    rows = curve("rugao", posts, records, dev[:120], [0, None], k=4)
    assert MODEL_FILE.stat().st_mtime_ns == before  # nothing written
    assert [r["corrections"] for r in rows] == [0, 30]
    assert all(r["n"] == 40 for r in rows)
    # with the other folds' corrections the made-up words decide; without them they cannot
    assert rows[1]["category_accuracy"] > rows[0]["category_accuracy"]
    assert rows[1]["category_accuracy"] >= 0.9
    json.dumps(rows)


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from services.corecli import main

    assert main(["realtext", "curve", "--file", str(tmp_path / "none.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    dev_like = tmp_path / "dev.jsonl"
    dev_like.write_text(DEV_SET.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert main(["realtext", "curve", "--file", str(dev_like)]) == 2
    assert "not a joined real-text file" in capsys.readouterr().err
