"""Issue 8: one office, one rank. Copies of an office's workbook are set aside, never ranked."""

from __future__ import annotations

import datetime as dt
import json
import os

from helpers import write_workbook

from monev.batch import score_paths
from monev.cli import main
from monev.identity import Copy, newest_copies, office_key

EV = "https://ppid.contoh.go.id/bukti.pdf"


def test_office_key_ignores_case_spaces_and_punctuation():
    assert office_key("Dinas  Kesehatan.") == office_key("DINAS KESEHATAN") == "dinas kesehatan"
    assert office_key("Kel. Bugul-Lor ") == "kel bugul lor"
    assert office_key("Dinas Kesehatan") != office_key("Dinas Kesehatan 2")


def _set_filled_on(path, value):
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Identitas"]
    for row in ws.iter_rows():
        if row[0].value == "Tanggal Pengisian":
            row[1].value = value
    wb.save(path)


def test_newest_copy_by_date_then_mtime_then_name():
    copies = [
        Copy("dinkes", "2024-05-01", 300.0, "dinkes.xlsx"),
        Copy("dinkes", "2024-05-03", 100.0, "dinkes-revisi.xlsx"),  # latest date wins
        Copy("dinkes", "", 900.0, "DINKES.xlsx"),  # no date: loses to any dated copy
        Copy("dishub", "", 1.0, "dishub.xlsx"),
    ]
    assert newest_copies(copies) == {0: (1, "date"), 2: (1, "date")}
    same_day = [Copy("a", "2024-05-01", 5.0, "a.xlsx"), Copy("a", "2024-05-01", 9.0, "b.xlsx")]
    assert newest_copies(same_day) == {0: (1, "mtime")}  # then the later modification time
    tie = [Copy("a", "", 5.0, "b.xlsx"), Copy("a", "", 5.0, "a.xlsx")]
    assert newest_copies(tie) == {1: (0, "name")}  # then the file name, deterministically
    # Dates as officers type them: day/month/year and month names (finding of a hurried fill).
    typed = [
        Copy("a", "2023-05-01", 9.0, "lama.xlsx"),
        Copy("a", "01/05/2024", 1.0, "baru.xlsx"),
        Copy("a", "3 Mei 2024", 1.0, "revisi.xlsx"),
    ]
    assert newest_copies(typed) == {0: (2, "date"), 1: (2, "date")}
    unreadable = [Copy("a", "kemarin", 9.0, "x.xlsx"), Copy("a", "", 1.0, "y.xlsx")]
    assert newest_copies(unreadable) == {1: (0, "mtime_undated")}
    # Workbooks that name no office are never copies of each other.
    assert (
        newest_copies(
            [Copy("", "", 1.0, "a/kuesioner.xlsx"), Copy("", "", 2.0, "b/kuesioner.xlsx")]
        )
        == {}
    )


def test_copies_of_one_office_are_skipped_and_named(tmp_path, rubric):
    """A resubmission and a copy with the name in capitals: one office, one rank (was: 3 ranks)."""
    first = write_workbook(
        tmp_path / "dinkes.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Kesehatan"
    )
    revised = write_workbook(
        tmp_path / "dinkes-revisi.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Ya", EV)],
        office="Dinas Kesehatan",
    )
    shouting = write_workbook(tmp_path / "DINKES-copy.xlsx", rubric, [], office="DINAS KESEHATAN ")
    other = write_workbook(tmp_path / "dishub.xlsx", rubric, [], office="Dinas Perhubungan")
    _set_filled_on(first, dt.datetime(2024, 5, 1))
    _set_filled_on(revised, "2024-05-03")
    _set_filled_on(shouting, "kemarin")  # not a date: ordered after dated copies
    run = score_paths([tmp_path], rubric)
    assert sorted(o.file for o in run.offices) == ["dinkes-revisi.xlsx", "dishub.xlsx"]
    assert run.copies == 2 and run.needs_attention
    skipped = {x.file: x.problems[0] for x in run.skipped}
    assert set(skipped) == {"dinkes.xlsx", "DINKES-copy.xlsx"}
    assert all(
        p.code == "MV430" and p.param("used") == "dinkes-revisi.xlsx" for p in skipped.values()
    )
    assert run.received == 4  # every file in exactly one of offices / rejected / skipped
    del other


def test_cli_exits_1_on_copies_and_quiet_still_says_why(tmp_path, rubric, capsys):
    a = (
        write_workbook(tmp_path / "in" / "a.xlsx", rubric, [], office="Dinas A")
        if (tmp_path / "in").mkdir() is None
        else None
    )
    b = write_workbook(tmp_path / "in" / "b.xlsx", rubric, [], office="dinas a")
    os.utime(a, (1_700_000_000, 1_700_000_000))
    os.utime(b, (1_700_000_100, 1_700_000_100))
    rc = main(["score", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--no-pdf", "-q"])
    assert rc == 1
    captured = capsys.readouterr()
    assert "MV430" in captured.err and "b.xlsx" in captured.err
    assert "2 berkas diterima, 1 dinilai, 0 ditolak, 1 dilewati" in captured.err
    assert "Peringkat" not in captured.out  # --quiet hides only the table
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [o["file"] for o in data["offices"]] == ["b.xlsx"]
    assert [x["file"] for x in data["skipped"]] == ["a.xlsx"]


def test_quiet_still_prints_rejected_files_and_summary(tmp_path, rubric, capsys):
    (tmp_path / "in").mkdir()
    write_workbook(tmp_path / "in" / "a.xlsx", rubric, [("JI-01", "Ya", EV)])
    (tmp_path / "in" / "kosong.xlsx").write_bytes(b"")
    rc = main(["score", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--no-pdf", "-q"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "kosong.xlsx" in err and "MV102" in err and "1 ditolak" in err
