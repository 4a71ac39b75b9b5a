"""Big runs (issue 13 item 1): above a province's worth of offices rekap.xlsx holds a note in
place of the indicator sheet, ``--indicator-sheet`` forces it, ``monev rekap`` writes it later
from results.json with the same cells, and the terminal shows the top of the ranking only."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import openpyxl
import pytest
from helpers import write_workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from monev import cli, results
from monev.batch import score_paths
from monev.cli import main
from monev.results import indicator_sheet_from_json, to_xlsx, write_xlsx

EV = "https://ppid.contoh.go.id/bukti"


@pytest.fixture(scope="module")
def three(tmp_path_factory, rubric):
    """Three offices: Dinas A answers JI-01 Ya with a link (rank 1), Dinas B JI-01 Ya without
    evidence (MV301, 0 points), Dinas C nothing; ranks 1, then B and C tied at 0."""
    root = tmp_path_factory.mktemp("bulk")
    write_workbook(root / "a.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas A")
    write_workbook(root / "b.xlsx", rubric, [("JI-01", "Ya", "")], office="Dinas B")
    write_workbook(root / "c.xlsx", rubric, [], office="Dinas C")
    return root, score_paths([root], rubric)


def rows(data: bytes, sheet: str) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return list(wb[sheet].iter_rows(values_only=True))


def test_indicator_sheet_written_up_to_the_limit_and_a_note_above(three, rubric, monkeypatch):
    _, run = three
    per_office = len(rubric.indicators)
    # 3 offices <= 300 (the default limit): one row per office and indicator, plus the header.
    assert len(rows(to_xlsx(run), "Indikator")) == 1 + 3 * per_office
    monkeypatch.setattr(results, "INDICATOR_SHEET_OFFICES", 2)  # 3 offices > 2: a note only
    note = rows(to_xlsx(run), "Indikator")
    assert note[0] == ("Keterangan",)
    text = "\n".join(r[0] for r in note[1:])
    # 3 offices x the rubric's indicators rows were left out, and the note says how to get them.
    assert f"memuat 3 kantor (lebih dari 2); {3 * per_office} baris" in text
    assert "monev rekap results.json --out rekap-indikator.xlsx" in text
    assert "--indicator-sheet" in text
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(run)), read_only=True)
    assert wb.sheetnames == ["Peringkat", "Indikator", "Masalah", "Ditolak"]  # same places
    # Forced either way: True writes every row above the limit, False leaves a note below it.
    assert len(rows(to_xlsx(run, indicators=True), "Indikator")) == 1 + 3 * per_office
    monkeypatch.setattr(results, "INDICATOR_SHEET_OFFICES", 300)
    assert rows(to_xlsx(run, indicators=False), "Indikator")[0] == ("Keterangan",)
    en = rows(to_xlsx(run, "en", indicators=False), "Indicators")
    assert en[0] == ("Note",) and "was not written" in en[1][0]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_indicator_sheet_from_results_json_has_the_same_cells(three, lang):
    _, run = three
    sheet = "Indikator" if lang == "id" else "Indicators"
    full = rows(to_xlsx(run, lang, indicators=True), sheet)
    data = json.loads(run.to_json(lang), parse_float=Decimal)
    later = rows(write_xlsx([indicator_sheet_from_json(data, lang)], lang), sheet)
    assert later == full
    # The figures are the ones results.json carries: Dinas A's JI-01 is worth 40/14 = 2.857142…
    # points, 2.8571 to four decimals (the JI aspect's 40 points over its 14 indicators).
    a = next(r for r in later if r[1] == "Dinas A" and r[2] == "JI-01")
    assert a[8] == pytest.approx(2.8571, abs=1e-9)


def test_score_cli_options_and_rekap_command(three, tmp_path, monkeypatch, capsys):
    root, _ = three
    monkeypatch.setattr(results, "INDICATOR_SHEET_OFFICES", 2)
    out = tmp_path / "out"
    args = ["score", str(root), "--out", str(out), "--no-pdf", "-q", "--as-of", "2024-11-13"]
    assert main(args) == 0
    assert rows((out / "rekap.xlsx").read_bytes(), "Indikator")[0] == ("Keterangan",)
    full = rows(to_xlsx(three[1], indicators=True), "Indikator")
    # monev rekap writes the sheet from results.json, without scoring again: the same cells.
    later = tmp_path / "rekap-indikator.xlsx"
    assert main(["rekap", str(out / "results.json"), "--out", str(later)]) == 0
    assert rows(later.read_bytes(), "Indikator") == full
    assert f"({len(full) - 1} baris)" in capsys.readouterr().out
    # An existing file is not replaced without --force (exit 2), as monev template does.
    assert main(["rekap", str(out / "results.json"), "--out", str(later)]) == 2
    assert main(["rekap", str(out / "results.json"), "--out", str(later), "--force"]) == 0
    assert main([*args, "--indicator-sheet"]) == 0
    assert rows((out / "rekap.xlsx").read_bytes(), "Indikator") == full
    monkeypatch.setattr(results, "INDICATOR_SHEET_OFFICES", 300)
    assert main([*args, "--no-indicator-sheet"]) == 0
    assert rows((out / "rekap.xlsx").read_bytes(), "Indikator")[0] == ("Keterangan",)
    # Not a results.json: a usage error (exit 2) that names the file, nothing written.
    bad = tmp_path / "bad.json"
    bad.write_text('{"offices": [{"rank": 1}]}')
    capsys.readouterr()
    assert main(["rekap", str(bad), "--out", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "bad.json bukan results.json" in err and "(rincian teknis: KeyError" in err
    assert not (tmp_path / "x.xlsx").exists()
    # A file that is not there says so (it said "bukan results.json ([Errno 2] ...)").
    assert main(["rekap", str(tmp_path / "nope.json"), "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "tidak ditemukan" in capsys.readouterr().err


def test_terminal_ranking_shows_the_top_and_counts_the_rest(three, tmp_path, monkeypatch, capsys):
    root, run = three
    monkeypatch.setattr(cli, "RANKING_ROWS", 2)
    args = ["score", str(root), "--out", str(tmp_path / "out"), "--no-pdf", "--as-of", "2024-11-13"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    shown = [o.name for o in run.offices[:2]]
    hidden = run.offices[2].name
    assert all(name in printed for name in shown) and hidden not in printed
    assert "… dan 1 kantor lainnya: lihat ranking.csv dan rekap.xlsx" in printed
    monkeypatch.setattr(cli, "RANKING_ROWS", 3)  # every office fits: no such line
    assert main([*args, "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert hidden in printed and "more offices" not in printed


# The check for numbers msgspec writes otherwise than the json module, run on the text read
# backwards (issue 13: about 3x faster): it must find exactly what the forward search finds.
_PIECES = ["e", "E", "+", "-", "1", "23", ",", "\n", " ", '"', "x", "0.0000", "é", "2e5"]


@given(st.lists(st.sampled_from(_PIECES), max_size=30))
@settings(max_examples=2000, deadline=None)
def test_exponent_check_backwards_finds_what_the_forward_search_finds(pieces):
    raw = "".join(pieces).encode("utf-8")
    assert results._has_exponent(raw) == bool(results._EXPONENT.search(raw))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (b'  "a": 1E+1,\n', True),  # a Decimal in exponent form, mid-text
        (b'  "a": 1e16', True),  # a float msgspec writes without a sign, at the very end
        (b'  "sha256": "3e5a",\n', False),  # a string ends with its quote
        (b'  "a": 95.00,\n  "b": "e-PPID"\n', False),
    ],
)
def test_exponent_check_examples(text, found):
    assert results._has_exponent(text) is found


_fractions = st.fractions(min_value=-3, max_value=3, max_denominator=10**6)


@given(
    value=_fractions,
    claimed=_fractions,
    max_points=_fractions,
    places=st.none() | st.integers(0, 6),
)
def test_remembered_indicator_figures_are_the_figures(value, claimed, max_points, places):
    """results.json's figures of an indicator, remembered by the fractions' integers (issue 13),
    are exactly those computed from the indicator itself, on a first call and on a repeat."""
    from monev.results import _indicator_figures, num
    from monev.scoring import IndicatorScore

    i = IndicatorScore("A1", "A", "Ya", "", "", claimed, value, max_points, "ok", places=places)
    want = (num(value, 4), num(claimed, 4), num(i.points, 4), num(max_points, 4), str(i.points))
    assert _indicator_figures(i) == want
    assert _indicator_figures(i) == want  # remembered


def test_indicator_figures_of_values_that_are_not_fractions():
    """Not remembered, the same rule: 1.5 x 0.5 = 0.75 points."""
    from monev.results import _indicator_figures
    from monev.scoring import IndicatorScore

    i = IndicatorScore(
        "A1", "A", "Ya", "", "", Decimal("0.5"), Decimal("0.5"), Decimal("1.5"), "ok"
    )
    assert _indicator_figures(i) == (
        Decimal("0.5000"),
        Decimal("0.5000"),
        Decimal("0.7500"),
        Decimal("1.5000"),
        "0.75",
    )
