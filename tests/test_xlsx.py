"""monev.xlsx, the writer behind rekap.xlsx (issue 13 item 1): what Excel needs, read back."""

from __future__ import annotations

import io
import zipfile

import openpyxl

from monev.xlsx import Book, _text_cell, _width


def _book(title: str = "Peringkat") -> bytes:
    buf = io.BytesIO()
    book = Book(buf)
    ws = book.add_sheet(title, widths=[9, 20], freeze=(1, 2))
    ws.row(["Peringkat", "Kantor", "Nilai"], style=book.bold)
    two = book.number_format("0.00")
    ws.row([1, "Dinas A & <B>", (2.86, two)])
    ws.row([2, " Dinas C", (0.1, two)])
    ws.close()
    other = book.add_sheet("Ditolak", landscape=True)
    other.row(["Berkas"], style=book.bold)
    other.close()
    book.close()
    return buf.getvalue()


def test_layout_and_values_read_back():
    wb = openpyxl.load_workbook(io.BytesIO(_book("Peringkat 'x'")))
    ws = wb["Peringkat 'x'"]
    assert [c.value for c in ws[1]] == ["Peringkat", "Kantor", "Nilai"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref == "A1:C3"
    assert ws["B2"].value == "Dinas A & <B>" and ws["B3"].value == " Dinas C"
    assert ws["C2"].value == 2.86 and ws["C2"].number_format == "0.00"
    assert ws["A3"].value == 2 and ws["A3"].data_type == "n"
    # 9 characters of 7 px plus 5 px padding: (63 + 5) / 7 = 9.714…, in 1/256: 9.7109375.
    assert ws.column_dimensions["A"].width == _width(9) == 9.7109375
    assert wb["Ditolak"].page_setup.orientation == "landscape"


def test_same_content_same_bytes():
    assert _book() == _book()
    names = zipfile.ZipFile(io.BytesIO(_book())).infolist()
    assert {i.date_time for i in names} == {(1980, 1, 1, 0, 0, 0)}


def test_text_that_xml_or_excel_would_change_is_escaped_as_excel_reads_it():
    # A carriage return and other control characters are Excel's _xHHHH_ escapes; text that
    # already looks like one keeps its underscore escaped (_x005F_), as XlsxWriter wrote them.
    assert _text_cell("A1", "cr\rx") == '<c r="A1" t="inlineStr"><is><t>cr_x000D_x</t></is></c>'
    assert _text_cell("A1", "_x0041_") == (
        '<c r="A1" t="inlineStr"><is><t>_x005F_x0041_</t></is></c>'
    )
    assert _text_cell("A1", "a<b&c", 1) == (
        '<c r="A1" s="1" t="inlineStr"><is><t>a&lt;b&amp;c</t></is></c>'
    )
    assert _text_cell("B2", "tab\tend ") == (
        '<c r="B2" t="inlineStr"><is><t xml:space="preserve">tab\tend </t></is></c>'
    )


def test_rekap_of_the_same_run_is_the_same_bytes(rubric):
    from pathlib import Path

    from monev.batch import score_paths
    from monev.results import to_xlsx

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    run = score_paths([demo / "dinkes.xlsx", demo / "setwan.xlsx"], rubric)
    again = score_paths([demo / "dinkes.xlsx", demo / "setwan.xlsx"], rubric, jobs=2)
    assert to_xlsx(run) == to_xlsx(again)
    # One row per office and indicator, under the header row.
    rows = openpyxl.load_workbook(io.BytesIO(to_xlsx(run)))["Indikator"].max_row
    assert rows == 1 + sum(len(o.score.indicators) for o in run.offices)
