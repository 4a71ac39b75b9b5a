"""The questionnaire template speaks the run's language and the rubric's vocabulary (issue 11
item 1, issue 12 item 5), and monev reads a template of either language and ignores its
Ringkasan sheet (issue 12 item 4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_language import foreign_words
from test_template_summary import fill

from monev.cli import main
from monev.i18n import LANGS, t
from monev.rubric import Checklist, Rubric, load_rubric
from monev.scoring import score
from monev.template import HEADER_ROW, ORDER, build_template, write_template
from monev.workbook import ALIASES, COLUMNS, IDENTITY, read_questionnaire, stage_label

ROOT = Path(__file__).resolve().parent.parent
BALI = ROOT / "tests/data/rubrics/ki-bali-desa-2026.yaml"
KEMENHUB = ROOT / "tests/data/rubrics/kemenhub-2024.yaml"
SAKIP = ROOT / "tests/data/rubrics/sakip-kke.yaml"
COL = {key: i for i, key in enumerate(ORDER, start=1)}

#: Interface words of the template itself, on top of test_language's function words.
TEMPLATE_MARKERS = {
    "id": {"isi", "jawaban", "bukti", "pilih", "angka", "bobot", "diisi", "kolom", "pertanyaan"},
    "en": {"answer", "evidence", "score", "choose", "enter", "weight", "column", "question"},
}


def _data(rubric: Rubric, office: str) -> list[str]:
    """Text that comes from the rubric or the inputs: exempt from the language check."""
    out = [office, rubric.id, rubric.version, rubric.title, rubric.source_notes]
    out += [x for x in rubric.titles.model_dump().values() if x]
    out += [*rubric.unit_types, rubric.lead_unit or ""]
    out += list(rubric.verdicts().values())
    for a in rubric.aspects:
        out += [a.code, a.name]
    out += [s.name for s in rubric.stages] + [g.name for g in rubric.groups]
    for ind, item in rubric.rows():
        out += [ind.code, ind.question, ind.evidence_hint, *ind.answer.choices()]
        if item is not None:
            out += [item.code, item.label]
    return sorted((s for s in out if s), key=len, reverse=True)


def interface_texts(path: Path) -> list[str]:
    """Every text a person can read in the workbook: cells of every sheet (hidden ones too) and
    the drop-down messages; formulas are not text."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    out = []
    for ws in wb.worksheets:
        out.append(ws.title)
        for row in ws.iter_rows():
            out += [c.value for c in row if isinstance(c.value, str) and c.value[:1] != "="]
        for dv in ws.data_validations.dataValidation:
            out += [dv.errorTitle or "", dv.error or ""]
    return out


def foreign(text: str, lang: str, data: list[str]) -> set[str]:
    for s in data:
        text = text.replace(s, " ")
    other = "en" if lang == "id" else "id"
    words = set(re.findall(r"[a-z]+", text.lower()))
    return foreign_words(text, lang) | (words & TEMPLATE_MARKERS[other])


@pytest.mark.parametrize("ref", ["ki-jatim-2024", "ki-kalbar-2025", str(BALI), str(KEMENHUB)])
@pytest.mark.parametrize("lang", LANGS)
def test_template_speaks_the_language_of_the_run(lang, ref, tmp_path, capsys):
    """`monev template --lang en` writes an English workbook and the default an Indonesian one:
    no interface text of the other language in any cell, sheet name or drop-down message
    (failed before: the instructions, hints and labels were Indonesian whatever --lang said)."""
    rubric = load_rubric(ref)
    out = tmp_path / "t.xlsx"
    main(["template", "--office", "Dinas Uji", "-o", str(out), "--rubric", ref, "--lang", lang])
    assert out.exists(), capsys.readouterr()
    data = _data(rubric, "Dinas Uji")
    # The two sheets the reader looks for keep their names in both languages (like the codes).
    data += ["Identitas", "Kuesioner"]
    texts = interface_texts(out)
    bad = {text: sorted(foreign(text, lang, data)) for text in texts}
    assert not {k: v for k, v in bad.items() if v}
    # The check can fail: the other language's template trips it.
    other = "en" if lang == "id" else "id"
    wb = build_template(rubric, office="Dinas Uji", lang=other)
    path = tmp_path / "other.xlsx"
    wb.save(path)
    assert any(foreign(text, lang, data) for text in interface_texts(path))


def test_reader_accepts_both_languages_headers_and_labels():
    """The English header names and Identitas labels the template writes are the ones the reader
    accepts; the Indonesian ones are the reader's own (COLUMNS, IDENTITY)."""
    for key, text in COLUMNS.items():
        assert t(f"tmpl.col.{key}", "id") == text
        if key in ALIASES:
            assert t(f"tmpl.col.{key}", "en").casefold() in ALIASES[key]
    for key, text in IDENTITY.items():
        assert t(f"tmpl.identity.{key}", "id") == text
    assert stage_label("visitasi") == "Nilai Visitasi"
    assert stage_label("visitasi", "en") == "Visitasi score"


@pytest.mark.parametrize("ref", ["ki-jatim-2024", str(KEMENHUB), str(SAKIP)])
def test_english_template_scores_like_the_indonesian_one(ref, tmp_path):
    """The same answers in a template of each language give the same office, scores and
    problems (failed before: an English template could not be written at all)."""
    import random

    rubric = load_rubric(ref)
    results = {}
    for lang in LANGS:
        path = fill(rubric, tmp_path / f"{lang}.xlsx", random.Random(7), lang)
        q = read_questionnaire(path, rubric)
        s = score(rubric, q)
        assert q.office.name == lang  # fill() names the office after the file
        results[lang] = (
            q.office.unit_type,
            q.rubric_id,
            s.saq_claimed,
            s.saq_verifiable,
            sorted((p.code, p.cell) for p in q.problems),
        )
    assert results["id"] == results["en"]
    assert results["en"][1] == rubric.id
    assert results["en"][2] > 0  # answers were read, not only the identity


def test_english_template_stage_scores_and_carry_over(rubric, tmp_path):
    """Later-stage scores typed in an English template are read; --from carries a filled
    Indonesian workbook into an English template and back without losing anything."""
    import openpyxl

    src = tmp_path / "en.xlsx"
    wb = build_template(rubric, office="Dinas Uji", unit_type="OPD", lang="en")
    ident = wb["Identitas"]
    labels = {ident.cell(row=r, column=1).value: r for r in range(1, ident.max_row + 1)}
    ident.cell(row=labels["Visitasi score"], column=2, value=85)
    ws = wb["Kuesioner"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    ws.cell(row=rows["JI-01"], column=COL["answer"], value="Ya")
    ws.cell(row=rows["JI-01"], column=COL["evidence"], value="https://ppid.contoh.go.id/a")
    wb.save(src)
    q = read_questionnaire(src, rubric)
    assert q.workbook_stages["visitasi"][0] == "85"
    assert q.answers["JI-01"].parsed is not None and q.answers["JI-01"].verifiable_evidence
    again = write_template(rubric, tmp_path / "id.xlsx", source=src, lang="id")
    back = write_template(rubric, tmp_path / "en2.xlsx", source=again, lang="en")
    for path in (again, back):
        q2 = read_questionnaire(path, rubric)
        assert q2.office.name == "Dinas Uji" and q2.office.unit_type == "OPD"
        assert q2.workbook_stages["visitasi"][0] == "85"
        assert q2.answers["JI-01"].evidence == "https://ppid.contoh.go.id/a"
    ident = openpyxl.load_workbook(back)["Identitas"]
    assert ident["A5"].value == "Office name"
    assert "Filled in by the PPID Utama / verifier after the later stages:" in [
        c.value for row in ident.iter_rows() for c in row
    ]


def _validations(ws) -> dict[str, str]:
    """Cell -> the drop-down list (formula1) that checks it."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            for rng in dv.sqref.ranges:
                out[rng.coord] = dv.formula1
    return out


def test_template_follows_the_rubrics_vocabulary_bali(tmp_path):
    """KI Bali's village instrument: its own questionnaire title, Desa as the only unit type, no
    lead unit (nobody called "PPID Utama" fills anything). Failed before: the title was monev's,
    the unit drop-down listed PPID Utama, OPD, Kecamatan, Kelurahan (a Desa was refused)."""
    rubric = load_rubric(BALI)
    assert rubric.titles.questionnaire and rubric.lead_unit is None
    wb = build_template(rubric, office="Desa Uji")
    ident = wb["Identitas"]
    assert ident["A1"].value == rubric.titles.questionnaire
    unit_row = next(r for r in range(1, 20) if ident.cell(row=r, column=1).value == "Jenis Unit")
    assert _validations(ident)[f"B{unit_row}"] == '"Desa"'
    texts = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not any("PPID Utama" in x for x in texts)
    assert "Diisi verifikator setelah tahap lanjutan:" in texts


def test_template_follows_the_rubrics_vocabulary_kalbar_and_kemenhub(tmp_path):
    """KI Kalbar lists its six unit types; Kemenhub's Verifikasi drop-down holds its four graded
    levels, not Sesuai / Tidak Sesuai (failed before: both were KI Jatim's lists)."""
    kalbar = load_rubric("ki-kalbar-2025")
    ident = build_template(kalbar)["Identitas"]
    unit_row = next(r for r in range(1, 20) if ident.cell(row=r, column=1).value == "Jenis Unit")
    listed = _validations(ident)[f"B{unit_row}"].strip('"').split(",")
    assert listed == ["PPID Utama", "OPD", "Kecamatan", "Kelurahan", "Desa", "BUMD"]

    kemenhub = load_rubric(KEMENHUB)
    ws = build_template(kemenhub)["Kuesioner"]
    verdicts = _validations(ws)
    col = "H"  # Verifikasi
    listed = {v for k, v in verdicts.items() if k.startswith(col)}
    assert listed == {'"' + ",".join(kemenhub.verdicts().values()) + '"'}


def test_option_drop_downs_list_each_indicators_choices(tmp_path):
    """An options answer (SAKIP's A/B/C/D) gets a drop-down over the hidden sheet that also
    holds the option values the Ringkasan formulas use; Ya/Tidak rows list Ya,Tidak."""
    rubric = load_rubric(SAKIP)
    wb = build_template(rubric)
    ws = wb["Kuesioner"]
    opts = wb[t("tmpl.sheet.options", "id")]
    assert opts.sheet_state == "hidden"
    lists = _validations(ws)
    rows = {ws.cell(row=r, column=1).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    for ind in rubric.indicators:
        if ind.answer.type != "options":
            continue
        formula = next(v for k, v in lists.items() if _covers(k, f"E{rows[ind.code]}"))
        m = re.fullmatch(r"'Nilai Pilihan'!\$B\$(\d+):\$B\$(\d+)", formula)
        assert m, formula
        first, last = int(m.group(1)), int(m.group(2))
        got = [
            (opts.cell(row=r, column=2).value, opts.cell(row=r, column=3).value)
            for r in range(first, last + 1)
        ]
        assert got == [(o.label, float(o.value)) for o in ind.answer.options]


def _covers(ranges: str, cell: str) -> bool:
    from openpyxl.worksheet.cell_range import CellRange

    return any(cell in CellRange(r) for r in ranges.split())


def test_reader_ignores_the_summary_sheets(rubric, tmp_path):
    """monev reads only Identitas and Kuesioner: a Ringkasan sheet (and the hidden ones) full of
    something that looks like answers changes nothing (failed before: no such sheet)."""
    import random

    import openpyxl

    path = fill(rubric, tmp_path / "a.xlsx", random.Random(3))
    q = read_questionnaire(path, rubric)
    before = score(rubric, q)
    wb = openpyxl.load_workbook(path)
    for name in ("Ringkasan", "Perhitungan", "Nilai Pilihan"):
        ws = wb[name]
        ws.protection.sheet = False
        for merged in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(merged))
        ws["A1"], ws["B1"], ws["C1"] = "Kode", "Jawaban", "Bukti"
        for r, ind in enumerate(rubric.indicators, start=2):
            ws.cell(row=r, column=1, value=ind.code)
            ws.cell(row=r, column=2, value="Tidak")
            ws.cell(row=r, column=4, value=999)
    wb.save(tmp_path / "b.xlsx")
    q2 = read_questionnaire(tmp_path / "b.xlsx", rubric)
    after = score(rubric, q2)
    assert (after.saq_claimed, after.saq_verifiable) == (before.saq_claimed, before.saq_verifiable)
    assert [p.code for p in q2.problems] == [p.code for p in q.problems]
    shown = openpyxl.load_workbook(path)
    assert shown.sheetnames[:3] == ["Identitas", "Kuesioner", "Ringkasan"]
    title = "Ringkasan nilai: perkiraan; nilai resmi dihitung monev"
    assert shown["Ringkasan"]["A1"].value == title


def test_summary_says_what_only_monev_computes():
    """The final score (later stages, gates) and the band are shown as "dihitung monev"."""
    rubric = load_rubric("ki-jatim-2024")
    ws = build_template(rubric)["Ringkasan"]
    values = [c.value for row in ws.iter_rows() for c in row]
    assert values.count("dihitung monev") == 4  # final score and band, claimed and verifiable
    ws = build_template(load_rubric(BALI), lang="en")["Summary"]
    values = [c.value for row in ws.iter_rows() for c in row]
    assert values.count("computed by monev") == 2  # no bands: the final score only


def test_checklist_headings_take_no_answer_in_either_language():
    rubric = load_rubric("ki-jatim-2024")
    for lang in LANGS:
        ws = build_template(rubric, lang=lang)["Kuesioner"]
        lists = _validations(ws)
        rows = {ws.cell(row=r, column=1).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)}
        for ind in rubric.indicators:
            if isinstance(ind.answer, Checklist):
                assert not any(_covers(k, f"E{rows[ind.code]}") for k in lists)


def test_an_assessor_rubric_template_asks_which_assessor_fills_it(tmp_path):
    """SAKIP is scored by three assessors, one workbook each: the template has a Penilai row
    with their names in a drop-down, and a workbook filled with a track's name is read as that
    track (no MV635 'no assessor named')."""
    from monev.workbook import read_questionnaire

    rb = load_rubric(SAKIP)
    for lang, label in (("id", "Penilai"), ("en", "Assessor")):
        wb = build_template(rb, office="Dinas Uji", lang=lang)
        ident = wb["Identitas"]
        row = next(r for r in range(1, ident.max_row + 1) if ident.cell(r, 1).value == label)
        names = [tr.name for tr in rb.assessors.tracks]
        lists = [dv.formula1 for dv in ident.data_validations.dataValidation]
        assert any(all(n in (f or "") for n in names) for f in lists)
        ident.cell(row, 2).value = names[1]
        path = tmp_path / f"sakip-{lang}.xlsx"
        wb.save(path)
        q = read_questionnaire(path, rb)
        assert q.office.track == rb.assessors.tracks[1].code
        assert "MV635" not in {p.code for p in q.problems}


def test_aspect_weights_print_as_written_not_in_exponent_form():
    """A weight of 40 printed as "4E+1" in the aspect headings of both languages' templates
    (Decimal.normalize() of 40 is 4E+1 and an f-string used it without a format)."""
    from monev.rubric import Exact

    assert f"{Exact(40)}" == "40" and f"{Exact.parse('12.5')}" == "12.5"
    assert f"{Exact.parse('2/3')}" == "2/3"
    for lang, word in (("id", "bobot"), ("en", "weight")):
        ws = build_template(load_rubric("ki-jatim-2024"), lang=lang)["Kuesioner"]
        heads = [c.value for c in ws["B"] if isinstance(c.value, str) and f"({word} " in c.value]
        assert heads and not any("E+" in h for h in heads), heads
        assert any(f"({word} 40%)" in h for h in heads), heads
