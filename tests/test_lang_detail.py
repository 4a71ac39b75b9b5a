"""Library text and Python values never inside a sentence (issue 11 items 1 and 2).

* A library's or the system's own error text ("File is not a zip file") is kept only as a detail
  after the sentence: "(rincian teknis: …)" / "(technical detail: …)" (:func:`technical`).
* monev's own measurements ("2001 zip entries") are sentences of the catalogue.
* An Excel TRUE/FALSE is shown as Ya/Tidak (en Yes/No) with Excel's own word, never ``True``.
"""

from __future__ import annotations

import zipfile

import pytest
from helpers import write_workbook

from monev import limits
from monev.check import check_file
from monev.cli import main
from monev.problems import Problem
from monev.scan import scan_workbook

EV = "https://ppid.contoh.go.id/bukti"


def test_technical_keeps_the_library_text_as_one_short_line():
    from monev.i18n import technical

    assert technical(zipfile.BadZipFile("File is not a zip file")) == (
        "BadZipFile: File is not a zip file"
    )
    # An OS error: its own words, not Python's "[Errno 13] …" tuple.
    assert technical(PermissionError(13, "Permission denied", "/x")) == "Permission denied"
    assert technical(ValueError()) == "ValueError"
    assert technical("a\nb\t c") == "a b c"
    long = technical("x" * 500, limit=10)
    assert long == "x" * 9 + "…" and len(long) == 10


@pytest.mark.parametrize(
    ("lang", "sentence", "detail"),
    [
        ("id", "Berkas tidak dapat dibaca sebagai buku kerja Excel (rincian teknis: ", "Buka "),
        ("en", "The file cannot be read as an Excel workbook (technical detail: ", "Open "),
    ],
)
def test_a_damaged_zip_is_said_first_and_its_library_text_kept_as_detail(
    tmp_path, rubric, lang, sentence, detail
):
    bad = tmp_path / "rusak.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"junk" * 20)
    (problem,) = check_file(bad, rubric).problems
    assert problem.code == "MV101"
    message = problem.message(lang)
    # Old: "Berkas tidak dapat dibaca sebagai buku kerja Excel (BadZipFile: File is not a zip
    # file)": the library's English inside the Indonesian sentence, unlabelled.
    assert message.startswith(sentence)
    assert message.endswith(
        "("
        + ("rincian teknis" if lang == "id" else "technical detail")
        + (": BadZipFile: File is not a zip file)")
    )
    assert problem.text(lang).split("). ", 1)[1].startswith(detail)  # then what to do


def test_too_many_zip_entries_is_a_sentence_of_the_catalogue(tmp_path, rubric):
    path = tmp_path / "banyak.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(limits.MAX_ZIP_ENTRIES + 1):
            zf.writestr(f"xl/media/x{i}.xml", b"<a/>")
    problem = scan_workbook(path, path.name).problem
    assert problem is not None and problem.code == "MV107"
    # 2,000 entries are allowed: 2,000 + 1 = 2001 are counted in the message.
    assert problem.message("id") == (
        "Berkas terlalu besar untuk sebuah kuesioner (2001 bagian di dalam berkas)"
    )
    assert (
        problem.message("en")
        == "The file is too large for a questionnaire (2001 parts inside the file)"
    )
    assert "zip entries" not in problem.message("id")


def test_an_excel_true_in_an_answer_cell_is_shown_as_ya(tmp_path, rubric, capsys):
    # JI-01 takes Ya/Tidak; KI-05 takes a number. openpyxl writes True as Excel's TRUE.
    path = write_workbook(
        tmp_path / "a.xlsx", rubric, [("JI-01", True, EV), ("JI-02", False), ("KI-05", True)]
    )
    problems = {p.indicator: p for p in check_file(path, rubric).problems}
    assert problems["JI-01"].code == "MV212"
    assert problems["JI-01"].message("id").startswith("Jawaban 'Ya (TRUE)' untuk JI-01 ")
    assert problems["JI-01"].message("en").startswith("Answer 'Yes (TRUE)' for JI-01 ")
    assert problems["JI-02"].message("id").startswith("Jawaban 'Tidak (FALSE)' untuk JI-02 ")
    assert problems["KI-05"].message("id") == "Jawaban 'Ya (TRUE)' untuk KI-05 bukan angka"
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "True" not in out and "False" not in out  # old: "Jawaban 'True' untuk JI-01 …"
    assert main(["check", str(path), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "'Yes (TRUE)'" in out and "True" not in out


def test_a_bool_problem_parameter_is_never_python_true():
    p = Problem.make("MV201", "a.xlsx", "Kuesioner", "E8", code="JI-01", answer=True, allowed="Ya")
    assert "'Ya (TRUE)'" in p.message("id") and "'Yes (TRUE)'" in p.message("en")
    assert p.param("answer") == "value.true"  # kept as a catalogue key, translated when shown


def test_an_unexpected_error_is_said_in_the_run_language_with_its_detail_last(monkeypatch, capsys):
    import monev.rubric

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(monev.rubric, "shipped", broken)
    monkeypatch.delenv("MONEV_DEBUG", raising=False)
    assert main(["rubric", "list", "--lang", "en"]) == 3
    assert capsys.readouterr().err.strip() == (
        "Unexpected error in monev. Please report it to the monev developers "
        "(technical detail: RuntimeError: boom)."
    )
    assert main(["rubric", "list"]) == 3
    assert capsys.readouterr().err.startswith("Kesalahan tak terduga di monev. Laporkan")
