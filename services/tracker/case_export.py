"""The case list as a file: CSV (UTF-8 with BOM, for Excel) or XLSX, streamed in constant memory.

Rows come from the list's own query (``case_query.filtered`` in the list's order) read in batches
(``yield_per``: a server-side cursor on PostgreSQL) and are written out batch by batch, so an
export of a year holds one batch in memory, never the year.  The XLSX is written with the
standard library only: a zip (data descriptors, no seeking) whose sheet XML is produced row by
row with inline strings.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Select
from sqlalchemy.orm import Session

from services.core.config import CityConfig
from services.tracker.auth import Principal, mask_phone
from services.tracker.models import Case
from services.tracker.views import category_name

BATCH = 250
BOM = "\ufeff"


def _time(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def columns(city: CityConfig, principal: Principal, tz: tzinfo) -> list[tuple[str, Callable[[Case], Any]]]:
    """The export's columns: Chinese header, value of a case (times in the city's time)."""
    return [
        ("工单号", lambda c: c.ticket_no),
        ("状态", lambda c: c.status),
        ("渠道", lambda c: c.channel),
        ("受理时间", lambda c: _time(c.received_at, tz)),
        ("诉求内容", lambda c: c.text),
        ("来电号码", lambda c: mask_phone(c.phone, principal) or ""),
        ("姓名", lambda c: c.name or ""),
        ("地址", lambda c: c.address or ""),
        ("类别代码", lambda c: c.category or ""),
        ("类别", lambda c: category_name(city, c.category) or ""),
        ("镇（街道）", lambda c: c.territory_name or ""),
        ("村（社区）", lambda c: c.village or ""),
        ("承办单位", lambda c: c.unit or ""),
        ("紧急", lambda c: "是" if c.urgent else "否"),
        ("签收时限", lambda c: _time(c.accept_by, tz)),
        ("办结时限", lambda c: _time(c.resolve_by, tz)),
        ("签收时间", lambda c: _time(c.accepted_at, tz)),
        ("办结时间", lambda c: _time(c.resolved_at, tz)),
        ("结案时间", lambda c: _time(c.closed_at, tz)),
        ("退单次数", lambda c: c.returns or 0),
        ("返工次数", lambda c: c.reopens or 0),
        ("延期", lambda c: c.extension or ""),
        ("满意度", lambda c: c.rating or ""),
    ]


def stream_cases(session: Session, stmt: Select[tuple[Case]]) -> Iterator[list[Case]]:
    """The statement's cases in batches of ``BATCH`` (server-side cursor on PostgreSQL)."""
    result = session.scalars(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions():
        yield list(batch)
        for case in batch:  # the identity map would otherwise keep every case read so far
            session.expunge(case)


def csv_chunks(header: list[str], rows: Iterable[list[list[Any]]]) -> Iterator[bytes]:
    buf = io.StringIO()
    out = csv.writer(buf)
    buf.write(BOM)
    out.writerow(header)
    for batch in rows:
        out.writerows(batch)
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
    if buf.tell():
        yield buf.getvalue().encode("utf-8")


class _Sink(io.RawIOBase):
    """A write-only, unseekable file whose bytes are taken away as they come (zipfile streams into it)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.parts.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="工单" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _xml_row(values: list[Any]) -> str:
    cells = []
    for v in values:
        if isinstance(v, int) and not isinstance(v, bool):
            cells.append(f"<c><v>{v}</v></c>")
        else:
            text = escape(_NOT_XML.sub("", str(v)))
            cells.append(f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
    return "<row>" + "".join(cells) + "</row>"


def xlsx_chunks(header: list[str], rows: Iterable[list[list[Any]]]) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS),
                           ("xl/workbook.xml", _WORKBOOK), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)):
            zf.writestr(name, body)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                         + _xml_row(header)).encode())
            for batch in rows:
                sheet.write("".join(_xml_row(r) for r in batch).encode())
                yield sink.take()
            sheet.write(b"</sheetData></worksheet>")
    yield sink.take()


def export_chunks(session: Session, stmt: Select[tuple[Case]], fmt: str, city: CityConfig,
                  principal: Principal, tz: tzinfo) -> Iterator[bytes]:
    """The file's bytes, chunk by chunk: one chunk per batch of cases."""
    cols = columns(city, principal, tz)
    rows = ([[value(c) for _, value in cols] for c in batch] for batch in stream_cases(session, stmt))
    writer = xlsx_chunks if fmt == "xlsx" else csv_chunks
    yield from writer([name for name, _ in cols], rows)
