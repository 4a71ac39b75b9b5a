"""Later-stage scores belong to the verifier: the stages file, and stage cells in workbooks.

Issue 8 item 4. The figures are hand-computed with the shipped rubric ki-jatim-2024: every answer
at full value with evidence except JI-01 .. JI-06 ("Tidak"). Jenis Informasi has 14 items of
40/14 points each, so the verifiable SAQ is 100 - 6 x 40/14 = 100 - 120/7 = 580/7 = 82.857142...
(shown 82,86, past the SAQ >= 80 gate). With visitasi 84 and wawancara 80 (weights 80/10/10):
final = (580/7 x 80 + 84 x 10 + 80 x 10) / 100 = (46400/7 + 1640) / 100 = 57880/700
      = 82.685714... -> 82,69.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
from helpers import write_workbook
from hypothesis import given, settings
from hypothesis import strategies as st

from monev.batch import score_paths
from monev.cli import main
from monev.rubric import Checklist, Options, Percent, Threshold
from monev.scoring import round2
from monev.stages import (
    StagesError,
    TemplateRow,
    apply_stages,
    load_stages,
    parse_stage_value,
    write_stages_template,
)
from monev.workbook import read_questionnaire

D = Decimal
EV = "https://ppid.contoh.go.id/bukti"
OFFICE = "Dinas Lingkungan Hidup"
SAQ = Fraction(580, 7)
FINAL = (SAQ * 80 + 84 * 10 + 80 * 10) / 100


def full_rows(rubric, lose=("JI-01", "JI-02", "JI-03", "JI-04", "JI-05", "JI-06")):
    """Every answer at its full value, with evidence; the codes in ``lose`` answered Tidak."""
    rows = []
    for ind, item in rubric.rows():
        spec = ind.answer
        if item is None and isinstance(spec, Checklist):
            continue
        code = item.code if item else ind.code
        if code in lose:
            rows.append((code, "Tidak"))
        elif item is not None or spec.type == "ya_tidak":
            rows.append((code, "Ya", EV))
        elif isinstance(spec, Options):
            rows.append((code, next(o.label for o in spec.options if o.value == 1), EV))
        elif isinstance(spec, Threshold):
            rows.append((code, int(spec.min), EV))
        elif isinstance(spec, Percent):
            rows.append((code, 100, EV))
        else:  # info
            rows.append((code, "5 permohonan"))
    return rows


def stages_xlsx(path: Path, rows: list[list[object]], header=("kantor", "visitasi", "wawancara")):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tahapan"
    ws.append(list(header))
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def office_dir(tmp_path, rubric):
    folder = tmp_path / "kuesioner"
    folder.mkdir()
    write_workbook(folder / "dlh.xlsx", rubric, full_rows(rubric), office=OFFICE)
    return folder


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def test_the_hand_computed_figures(rubric, office_dir):
    run = score_paths([office_dir], rubric)
    s = run.offices[0].score
    assert s.saq_verifiable_exact == SAQ and s.saq_verifiable == D("82.86")
    assert Fraction(57880, 700) == FINAL and round2(FINAL) == D("82.69")


def test_stages_file_gives_the_stage_weighted_final_score(tmp_path, rubric, office_dir):
    table = load_stages(stages_xlsx(tmp_path / "tahapan.xlsx", [[OFFICE, 84, 80]]), rubric)
    run = score_paths([office_dir], rubric, stages=table)
    o = run.offices[0]
    assert o.score.stage_scores == {"visitasi": D(84), "wawancara": D(80)}
    assert o.score.staged and o.score.final_exact == FINAL
    assert o.score.score == D("82.69")  # 57880/700 = 82.6857... -> 82,69
    assert not [p for p in o.problems if p.code.startswith("MV41")]
    assert run.stages_source.file == "tahapan.xlsx" and run.stages_source.problems == ()


def test_office_typed_stage_scores_are_ignored_with_a_warning(tmp_path, rubric):
    # The "Why" bullet: an office types its own Nilai Visitasi / Wawancara (100 / 100). On the old
    # code they counted (final = 580/7 x 0.8 + 10 + 10 = 86.29, silently); now final = SAQ.
    path = write_workbook(
        tmp_path / "dlh.xlsx",
        rubric,
        full_rows(rubric),
        office=OFFICE,
        stages={"visitasi": 100, "wawancara": 100},
    )
    run = score_paths([path], rubric)
    o = run.offices[0]
    assert o.score.stage_scores == {} and not o.score.staged
    assert o.score.score == D("82.86")  # the verifiable SAQ 580/7
    ignored = [p for p in o.problems if p.code == "MV410"]
    assert [(p.sheet, p.severity) for p in ignored] == [("Identitas", "warning")] * 2
    cells = {p.param("label"): p.cell for p in ignored}
    wb = openpyxl.load_workbook(path)
    for label, cell in cells.items():  # the cell named is the one holding the typed value
        assert wb["Identitas"][cell].value == 100
        assert wb["Identitas"].cell(row=wb["Identitas"][cell].row, column=1).value == label
    assert "diabaikan" in ignored[0].text() and "--stages-from-workbooks" in ignored[0].todo()


def test_stages_from_workbooks_counts_them_as_before(tmp_path, rubric):
    path = write_workbook(
        tmp_path / "dlh.xlsx",
        rubric,
        full_rows(rubric),
        office=OFFICE,
        stages={"visitasi": 84, "wawancara": 80},
    )
    run = score_paths([path], rubric, stages_from_workbooks=True)
    o = run.offices[0]
    assert o.score.final_exact == FINAL and o.score.score == D("82.69")
    assert "MV410" not in codes(o.problems)
    assert run.stages_source.from_workbooks and run.stages_source.file is None


@pytest.mark.parametrize("typed", ["NaN", "nan", "inf", "-Infinity", "seratus", "-5", "101"])
def test_nan_or_text_in_a_stage_cell_never_raises(tmp_path, rubric, typed):
    # Old code: Decimal("NaN") compared with 0 raised InvalidOperation (exit 3 for the whole run).
    path = write_workbook(
        tmp_path / "x.xlsx", rubric, full_rows(rubric), stages={"visitasi": typed, "wawancara": 80}
    )
    q = read_questionnaire(path, rubric)  # documented as never raising
    assert q.stage_scores == {}
    used = apply_stages(q, rubric, from_workbooks=True)
    bad = [p for p in used.problems if p.code == "MV404"]
    assert len(bad) == 1 and bad[0].sheet == "Identitas" and bad[0].param("value") == typed
    assert used.stage_scores == {"wawancara": D(80)}
    assert "MV405" in codes(used.problems)  # incomplete: final = verifiable SAQ
    run = score_paths([path], rubric, stages_from_workbooks=True)
    assert run.offices[0].score.score == D("82.86")


def test_file_wins_over_workbook_and_a_difference_is_a_warning(tmp_path, rubric):
    folder = tmp_path / "in"
    folder.mkdir()
    write_workbook(
        folder / "dlh.xlsx",
        rubric,
        full_rows(rubric),
        office=OFFICE,
        stages={"visitasi": 100, "wawancara": 80},
    )
    table = load_stages(stages_xlsx(tmp_path / "t.xlsx", [[OFFICE, 84, 80]]), rubric)
    o = score_paths([folder], rubric, stages=table, stages_from_workbooks=True).offices[0]
    assert o.score.final_exact == FINAL
    differs = [p for p in o.problems if p.code == "MV411"]
    assert len(differs) == 1  # visitasi 100 vs 84; wawancara agrees (80 = 80): no warning
    assert differs[0].sheet == "Identitas" and differs[0].param("used") == "84"
    assert differs[0].param("where") == "t.xlsx: B2"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (84, D(84)),
        (84.5, D("84.5")),
        ("84", D(84)),
        ("84,5", D("84.5")),
        ("84.5", D("84.5")),
        (" 84,50 ", D("84.50")),
        (0, D(0)),
        ("100", D(100)),
        (D("99.99"), D("99.99")),
    ],
)
def test_stage_values_accepted(value, expected):
    assert parse_stage_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "NaN",
        float("nan"),
        float("inf"),
        "-inf",
        1e308,
        -1,
        "-0,5",
        100.01,
        "101",
        "8,4,5",
        "84%",
        "1e2",
        "seratus",
        "#N/A",
        "#DIV/0!",
        True,
        dt.date(2024, 7, 15),
        None,
        "",
    ],
)
def test_stage_values_refused(value):
    assert parse_stage_value(value) is None


def test_csv_with_bom_semicolons_and_decimal_commas(tmp_path, rubric, office_dir):
    # Indonesian Excel saves "CSV UTF-8" with a BOM and ';' between fields, '84,0' with a comma.
    path = tmp_path / "tahapan.csv"
    path.write_bytes("\ufeffKantor;Visitasi;Wawancara\nDINAS  lingkungan hidup.;84,0;80\n".encode())
    table = load_stages(path, rubric)
    assert table.problems == [] and table.stages == ("visitasi", "wawancara")
    assert (
        table.sheet == "tahapan"
    )  # the sheet Excel shows for tahapan.csv: cells read "tahapan!B2"
    o = score_paths([office_dir], rubric, stages=table).offices[0]
    assert o.score.final_exact == FINAL  # matched by office_key: case, spaces, punctuation


def test_csv_with_commas_and_no_bom(tmp_path, rubric):
    path = tmp_path / "tahapan.csv"
    path.write_text('kantor,visitasi,wawancara\n"Dinas A, B",84.5,"80,5"\n', encoding="utf-8")
    row = load_stages(path, rubric).rows_for("dinas a b")[0]
    assert {k: v.value for k, v in row.values.items()} == {
        "visitasi": D("84.5"),
        "wawancara": D("80.5"),
    }


def test_bad_values_in_the_file_are_problems_with_their_cells(tmp_path, rubric, office_dir):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tahapan"
    ws.append(["kantor", "visitasi", "wawancara"])
    ws.append([OFFICE, "NaN", None])
    ws["C2"] = "#DIV/0!"
    ws["C2"].data_type = "e"  # an Excel error, which calamine reads as an empty cell
    wb.save(tmp_path / "t.xlsx")
    table = load_stages(tmp_path / "t.xlsx", rubric)
    o = score_paths([office_dir], rubric, stages=table).offices[0]
    bad = sorted(
        (p.file, p.sheet, p.cell, p.param("value")) for p in o.problems if p.code == "MV404"
    )
    assert bad == [("t.xlsx", "Tahapan", "B2", "NaN"), ("t.xlsx", "Tahapan", "C2", "#DIV/0!")]
    assert o.score.stage_scores == {} and o.score.score == D("82.86")


def test_rows_and_offices_that_do_not_match(tmp_path, rubric, office_dir):
    write_workbook(office_dir / "dinkes.xlsx", rubric, full_rows(rubric), office="Dinas Kesehatan")
    path = stages_xlsx(
        tmp_path / "t.xlsx",
        [[OFFICE, 84, 80], ["Dinas Kesehatn", 88, 86], ["Dinas Lain", None, None]],
    )
    run = score_paths([office_dir], rubric, stages=load_stages(path, rubric))
    by_name = {o.name: o for o in run.offices}
    missing = [p for p in by_name["Dinas Kesehatan"].problems if p.code == "MV412"]
    assert len(missing) == 1 and missing[0].file == "t.xlsx"
    assert by_name["Dinas Kesehatan"].score.stage_scores == {}
    unknown = [(p.cell, p.param("office")) for p in run.stages_source.problems]
    assert unknown == [("A3", "Dinas Kesehatn"), ("A4", "Dinas Lain")]
    first = run.stages_source.problems[0]
    assert first.code == "MV413" and "Dinas Kesehatan" in first.message()  # the near match
    assert by_name[OFFICE].score.final_exact == FINAL


def test_two_rows_for_one_office_are_an_error_naming_both(tmp_path, rubric, office_dir):
    path = stages_xlsx(tmp_path / "t.xlsx", [[OFFICE, 84, 80], ["dinas lingkungan  hidup", 90, 90]])
    o = score_paths([office_dir], rubric, stages=load_stages(path, rubric)).offices[0]
    dup = [p for p in o.problems if p.code == "MV414"]
    assert len(dup) == 1 and dup[0].severity == "error"
    assert (dup[0].param("first"), dup[0].param("second"), dup[0].cell) == ("A2", "A3", "A3")
    assert o.score.stage_scores == {}  # ambiguous: neither row is used


def test_columns_unknown_missing_duplicated_and_parts(tmp_path, rubric):
    path = stages_xlsx(
        tmp_path / "t.xlsx",
        [[OFFICE, 84, 1, 2, 3, "ok"]],
        header=(
            "Nama Kantor",
            "Visitasi",
            "visitasi.kehadiran_pimpinan",
            "visitasi",
            "skor",
            "catatan",
        ),
    )
    table = load_stages(path, rubric)
    found = sorted((p.code, p.cell) for p in table.problems)
    # C1: a stage part (the rubric defines none); D1: visitasi again; E1: unknown; no wawancara.
    assert found == [("MV415", "C1"), ("MV415", "E1"), ("MV416", "A1"), ("MV418", "D1")]
    assert table.stages == ("visitasi",)
    assert {k: v.value for k, v in table.rows_for(OFFICE)[0].values.items()} == {"visitasi": 84}


def test_a_row_with_scores_but_no_name(tmp_path, rubric):
    table = load_stages(
        stages_xlsx(tmp_path / "t.xlsx", [[None, 84, 80], [None, None, None]]), rubric
    )
    assert [(p.code, p.cell) for p in table.problems] == [("MV419", "A2")]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("t.csv", "kantor;visitasi\nDinas Pendidikan;84\n".encode("cp1252") + b"\xe9", "encoding"),
        ("t.csv", b"nama instansi;visitasi\nX;84\n", "no_office_column"),
        ("t.xlsx", b"not a zip", "broken"),
        ("t.txt", b"kantor;visitasi\n", "suffix"),
    ],
)
def test_unusable_stages_files(tmp_path, rubric, name, data, reason):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(StagesError) as err:
        load_stages(tmp_path / name, rubric)
    assert [p.code for p in err.value.problems] == ["MV417"]
    assert err.value.problems[0].params[1][1] == f"stages.reason.{reason}"


def test_cli_score_with_stages(tmp_path, rubric, office_dir):
    stages = stages_xlsx(tmp_path / "tahapan.xlsx", [[OFFICE, 84, 80]])
    out = tmp_path / "hasil"
    rc = main(
        ["score", str(office_dir), "--stages", str(stages), "--out", str(out), "--no-pdf", "-q"]
    )
    assert rc == 0
    data = json.loads((out / "results.json").read_text())
    assert data["offices"][0]["score"] == 82.69 and data["offices"][0]["staged"] is True
    assert data["stages_source"]["file"] == "tahapan.xlsx"


def test_cli_score_stages_file_errors(tmp_path, rubric, office_dir, capsys):
    out = tmp_path / "hasil"
    args = ["score", str(office_dir), "--out", str(out), "--no-pdf", "-q", "--stages"]
    assert main([*args, str(tmp_path / "tidak-ada.xlsx")]) == 2
    assert "MV417" in capsys.readouterr().err and not out.exists()
    # A file with an unknown column is usable: the run is written, the problem shown, exit 1.
    bad = stages_xlsx(
        tmp_path / "t.xlsx", [[OFFICE, 84, 80, 1]], ("kantor", "visitasi", "wawancara", "skor")
    )
    assert main([*args, str(bad)]) == 1
    assert "MV415" in capsys.readouterr().err
    assert json.loads((out / "results.json").read_text())["offices"][0]["score"] == 82.69


def test_cli_check_warns_an_office_about_typed_stage_scores(tmp_path, rubric, capsys):
    path = write_workbook(tmp_path / "x.xlsx", rubric, full_rows(rubric), stages={"visitasi": 90})
    assert main(["check", str(path)]) == 1
    assert "MV410" in capsys.readouterr().out


def test_stages_template_prefilled_from_workbooks(tmp_path, rubric, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_workbook(folder / "a.xlsx", rubric, [], office=OFFICE, stages={"visitasi": 84.5})
    write_workbook(folder / "b.xlsx", rubric, [], office="Dinas Kesehatan")
    out = tmp_path / "tahapan.xlsx"
    assert main(["stages", "template", str(folder), "-o", str(out)]) == 0
    assert "2 kantor, 1 sudah berisi" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Tahapan", "Petunjuk"]
    assert [[c.value for c in row] for row in wb["Tahapan"].iter_rows()] == [
        ["kantor", "visitasi", "wawancara", "catatan"],
        ["Dinas Kesehatan", None, None, None],
        [OFFICE, 84.5, None, None],
    ]
    table = load_stages(out, rubric)  # what the template writes reads back without a problem
    assert table.problems == [] and table.rows_for(OFFICE)[0].values["visitasi"].value == D("84.5")
    # Never overwrites without --force (exit 2, the message names --force).
    out.write_bytes(b"isi verifikator")
    assert main(["stages", "template", str(folder), "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"isi verifikator"
    assert main(["stages", "template", str(folder), "-o", str(out), "--force"]) == 0
    assert main(["stages", "template", "-o", str(tmp_path / "t.ods")]) == 2


def test_csv_template_reads_back(tmp_path, rubric):
    rows = [TemplateRow("Dinas Uji", {"visitasi": D("84.5")})]
    path = write_stages_template(tmp_path / "t.csv", rubric, rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfkantor;visitasi;wawancara;catatan\r\n")
    assert "Dinas Uji;84,5;;" in path.read_text(encoding="utf-8-sig")
    table = load_stages(path, rubric)
    assert table.problems == [] and table.rows_for("dinas uji")[0].values["visitasi"].value == D(
        "84.5"
    )
    with pytest.raises(FileExistsError):
        write_stages_template(path, rubric, rows)


def test_a_stages_file_inside_an_input_folder_is_not_read_as_a_questionnaire(
    tmp_path, rubric, office_dir
):
    path = stages_xlsx(office_dir / "tahapan.xlsx", [[OFFICE, 84, 80]])
    run = score_paths([office_dir], rubric, stages=load_stages(path, rubric))
    assert run.received == 1 and not run.rejected
    assert run.offices[0].score.final_exact == FINAL


def test_the_table_travels_to_worker_processes(tmp_path, rubric, office_dir):
    # Files are read in worker processes: the table travels pickled, with the read options.
    import pickle

    from monev.batch import ReadOptions, _init_worker, _score_task

    table = load_stages(stages_xlsx(tmp_path / "t.xlsx", [[OFFICE, 84, 80]]), rubric)
    options = pickle.loads(pickle.dumps(ReadOptions(stages=table)))
    _init_worker(rubric, options)  # what each worker process receives once
    o = _score_task((str(office_dir / "dlh.xlsx"), "dlh.xlsx"))
    assert o.score.final_exact == FINAL


_CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["NaN", "inf", "-1", "100,5", "84,5", "#N/A", "=A1", "1e308", "", ";", '"']),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=1, max_size=5), min_size=1, max_size=6))
def test_any_csv_cell_is_read_or_reported_never_raised(tmp_path_factory, rubric, cells):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    body = "\n".join(";".join(row) for row in cells)
    path.write_text("kantor;visitasi;wawancara\n" + body, encoding="utf-8")
    try:
        table = load_stages(path, rubric)
    except StagesError:
        return
    for rows in table.rows.values():
        for row in rows:
            for v in row.values.values():
                assert v.value is None or 0 <= v.value <= 100
            assert len(row.problems) == sum(v.value is None for v in row.values.values())


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_template_never_writes_a_formula_from_an_office_name(tmp_path, rubric, suffix):
    path = write_stages_template(
        tmp_path / f"t{suffix}", rubric, [TemplateRow("=HYPERLINK(1)\x0b Dinas", {})]
    )
    if suffix == ".xlsx":
        cell = openpyxl.load_workbook(path)["Tahapan"]["A2"]
        assert cell.data_type == "s" and cell.value == "'=HYPERLINK(1) Dinas"
    table = load_stages(path, rubric)
    assert list(table.rows) == ["hyperlink 1 dinas"]
