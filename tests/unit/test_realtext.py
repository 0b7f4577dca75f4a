"""The real-text set's join (re-fetched source checked, labels joined) and its evaluation:
clear errors for a missing or changed source, never a crash; the texts never enter the repo."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from services import corecli
from services.ops import realtext
from services.ops.realtext import RealTextError, join, read_labels, read_sheet, source_bytes

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def workbook(rows: list[list[str]]) -> bytes:
    """A minimal .xlsx: shared strings and one sheet, as the corpus file is laid out."""
    strings: list[str] = []
    cells = []
    for r, row in enumerate(rows, start=1):
        cs = []
        for c, value in enumerate(row):
            strings.append(value)
            cs.append(f'<c r="{chr(65 + c)}{r}" t="s"><v>{len(strings) - 1}</v></c>')
        cells.append(f'<row r="{r}">{"".join(cs)}</row>')
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/sharedStrings.xml", f"<sst {NS}>{sst}</sst>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet {NS}><sheetData>{''.join(cells)}</sheetData></worksheet>")
    return buf.getvalue()


HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]
ROWS = [HEADER, ["101", "u1", "投诉夜宵摊扰民", "2019/1/1", "  每天夜里\n吵到两点  ", "已处理", "2019/1/2"],
        ["102", "u2", "咨询社保", "2019/1/1", "怎么补缴", "答复", "2019/1/2"]]


def test_the_sheet_is_read_and_labels_are_joined_with_title_and_text() -> None:
    rows = read_sheet(workbook(ROWS))
    assert [r["留言编号"] for r in rows] == ["101", "102"]
    labels: list[dict[str, object]] = [{"id": "101", "category": "STREET_VENDING", "secondary": None,
                                         "urgent": False, "city": True, "sample": "random"}]
    out = join(rows, labels)
    assert out == [{"id": "tipdm-101", "category": "STREET_VENDING", "secondary": None, "urgent": False,
                    "city": True, "sample": "random", "text": "投诉夜宵摊扰民。每天夜里 吵到两点",
                    "territory": None, "village": None, "unit": None}]


def test_a_label_without_its_message_is_an_error() -> None:
    with pytest.raises(RealTextError, match="999 is not in the source file"):
        join(read_sheet(workbook(ROWS)), [{"id": "999", "category": "GARBAGE"}])


def test_a_changed_or_missing_source_file_is_a_clear_error(tmp_path: Path) -> None:
    changed = tmp_path / "sheet4.xlsx"
    changed.write_bytes(workbook(ROWS))
    with pytest.raises(RealTextError, match="the source file changed"):
        source_bytes(str(changed))
    with pytest.raises(RealTextError, match="no such file"):
        source_bytes(str(tmp_path / "absent.xlsx"))
    not_a_repo = tmp_path / "repo.git"
    not_a_repo.mkdir()
    with pytest.raises(RealTextError, match="full_dataset_sheet_4.xlsx"):
        source_bytes(str(not_a_repo))


def test_the_source_of_the_labels_is_accepted_by_its_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = workbook(ROWS)
    monkeypatch.setattr(realtext, "SHA256", hashlib.sha256(data).hexdigest())
    f = tmp_path / "sheet4.xlsx"
    f.write_bytes(data)
    assert source_bytes(str(f)) == data


def test_join_command_exits_2_with_one_line_on_a_bad_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(source=str(tmp_path / "absent.xlsx"), labels=str(realtext.LABELS),
                              out=str(tmp_path / "out.jsonl"))
    assert realtext.cmd_join(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]
    assert not (tmp_path / "out.jsonl").exists()


def test_the_committed_labels_hold_ids_and_labels_only() -> None:
    labels = read_labels()
    assert len(labels) >= 600
    assert {tuple(sorted(lab)) for lab in labels} == {("category", "city", "id", "sample", "secondary", "urgent")}
    assert {lab["sample"] for lab in labels} == {"random", "city_words"}


def test_eval_of_a_joined_file_reports_real_text_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    joined = [
        {"id": "tipdm-1", "category": "NOISE_CONSTRUCTION", "secondary": None, "urgent": False, "city": True,
         "sample": "random", "text": "投诉小区旁工地夜里还在施工打桩。我们找过物业，物业说不归他们管，吵得整夜睡不着。"},
        {"id": "tipdm-2", "category": "OUT_OF_SCOPE", "secondary": None, "urgent": False, "city": False,
         "sample": "random", "text": "咨询灵活就业人员养老保险断缴补缴政策。我断缴了两年，想问问还能不能补缴，每月交多少。"},
    ]
    f = tmp_path / "realtext.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in joined), encoding="utf-8")
    args = argparse.Namespace(city="rugao", file=str(f), cv=0, cv_seed=None, json=True)
    assert corecli.cmd_eval(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 2 and out["n_city"] == 1 and out["n_other"] == 1
    for key in ("category_accuracy", "decision_accuracy", "city_not_dispatched", "city_handed_away",
                "other_dispatched", "command_centre_rate"):
        assert 0.0 <= out[key] <= 1.0
    assert out["sample:random"]["n"] == 2
    missing = argparse.Namespace(city="rugao", file=str(tmp_path / "realtext" / "absent.jsonl"), cv=0,
                                 cv_seed=None, json=True)
    assert corecli.cmd_eval(missing) == 2
    assert "complaints realtext join" in capsys.readouterr().err
    args.cv = 5
    assert corecli.cmd_eval(args) == 2  # never trained on real posts
