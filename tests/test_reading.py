"""Issue 8: read what the officer meant, the way Excel and LibreOffice show the cell.

Each test builds a workbook the way a hurried officer fills it and checks the figure and the
problem monev gives. The in-file comments show the arithmetic.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from helpers import write_workbook

from monev.batch import score_paths
from monev.evidence import LinkChecker, evidence_targets
from monev.evidence_items import parse_evidence
from monev.scoring import score
from monev.workbook import read_questionnaire

EV = "https://ppid.contoh.go.id/bukti.pdf"


def read(tmp_path, rubric, rows, **kw):
    return read_questionnaire(write_workbook(tmp_path / "w.xlsx", rubric, rows, **kw), rubric)


def codes(q, code=None):
    return sorted((p.code, p.param("code")) for p in q.problems if code in (None, p.code))


# --- percent cells ----------------------------------------------------------------------------


def test_percent_typed_as_95_percent_in_excel_is_95_percent(tmp_path, rubric):
    """`95%` in Excel is stored as 0.95 with a percent format: it means 95 %, not 0.95 %.

    PI-03 is one of 5 scored Pelayanan Informasi indicators (aspect weight 10; PI-05 only
    informs): max 10/5 = 2 points. 95 % gives 2 x 95/100 = 1.9 points; the old reader gave
    2 x 0.95/100 = 0.019.
    """
    q = read(tmp_path, rubric, [("PI-03", 0.95, EV)], percent=["PI-03"])
    assert q.answers["PI-03"].parsed.value == Fraction(95, 100)
    assert not codes(q, "MV209") and not codes(q, "MV208")
    pi03 = next(i for i in score(rubric, q).indicators if i.code == "PI-03")
    assert pi03.points == Fraction(10, 5) * Fraction(95, 100) == Fraction(19, 10)


def test_plain_fraction_for_a_percent_is_taken_as_typed_with_a_warning(tmp_path, rubric):
    q = read(tmp_path, rubric, [("PI-03", 0.95, EV)])
    assert q.answers["PI-03"].parsed.value == Fraction(95, 10000)  # 0.95 % as typed
    assert codes(q, "MV209") == [("MV209", "PI-03")]


@pytest.mark.parametrize("value", [150, -5, "150%", 1.5])
def test_percent_outside_0_100_is_an_error_not_a_silent_clip(tmp_path, rubric, value):
    percent = ["PI-03"] if value == 1.5 else []  # 1.5 in a percent cell shows as 150%
    q = read(tmp_path, rubric, [("PI-03", value, EV)], percent=percent)
    assert q.answers["PI-03"].parsed is None
    assert codes(q, "MV208") == [("MV208", "PI-03")]


def test_percent_text_with_sign_and_decimal_comma(tmp_path, rubric):
    q = read(tmp_path, rubric, [("PI-03", "97,5%", EV)])
    assert q.answers["PI-03"].parsed.value == Fraction(975, 1000)


# --- evidence items ---------------------------------------------------------------------------


def test_hyperlink_behind_display_text_is_the_evidence(tmp_path, rubric):
    q = read(
        tmp_path,
        rubric,
        [("JI-01", "Ya", "Lihat dokumen")],
        links={"JI-01": "https://ppid.contoh.go.id/sk-ppid.pdf"},
    )
    a = q.answers["JI-01"]
    assert a.evidence_link == "https://ppid.contoh.go.id/sk-ppid.pdf"
    assert [i.target for i in a.evidence_items] == ["https://ppid.contoh.go.id/sk-ppid.pdf"]
    assert evidence_targets(q)[0] == ["https://ppid.contoh.go.id/sk-ppid.pdf"]
    ji01 = next(i for i in score(rubric, q).indicators if i.code == "JI-01")
    assert ji01.status == "ok"


def test_comma_separated_urls_lose_their_commas():
    items = parse_evidence("https://a.go.id/a.pdf, https://a.go.id/b.pdf,https://a.go.id/c.pdf;")
    assert [i.target for i in items] == [
        "https://a.go.id/a.pdf",
        "https://a.go.id/b.pdf",
        "https://a.go.id/c.pdf",
    ]


def test_comma_separated_urls_are_fetched_without_the_comma(tmp_path, rubric):
    """`.../a.pdf,` was fetched with its comma and reported broken (404)."""
    from httpserver import LocalServer

    with LocalServer() as server:
        good = f"{server.base}/dok/sk.pdf"
        q = read(tmp_path, rubric, [("JI-01", "Ya", f"{good}, {good}?v=2")])
        options = (
            {"allow_internal": True} if "allow_internal" in LinkChecker.__dataclass_fields__ else {}
        )
        checks = LinkChecker(cache_path=None, timeout=5, **options).check(evidence_targets(q)[0])
    assert sorted(checks) == [good, f"{good}?v=2"]
    assert all(c.ok for c in checks.values()), checks


@pytest.mark.parametrize(
    ("evidence", "code"),
    [
        ("-", "MV310"),
        ("lihat lampiran", "MV310"),
        ("ada di kantor", "MV310"),
        ("tidak ada", "MV310"),
        ("n/a", "MV310"),
        ("@ppid_kota (Instagram)", "MV310"),
        ("C:\\Users\\ppid\\Documents\\SK PPID.pdf", "MV311"),
        ("Dokumen/SK PPID.pdf", "MV311"),
    ],
)
def test_evidence_no_verifier_can_open_counts_zero(tmp_path, rubric, evidence, code):
    """JI-01 is one of 14 Jenis Informasi items (aspect weight 40): 40/14 points claimed,
    0 verifiable, because nothing in the cell can be opened."""
    q = read(tmp_path, rubric, [("JI-01", "Ya", evidence)])
    assert codes(q, code) == [(code, "JI-01")]
    ji01 = next(i for i in score(rubric, q).indicators if i.code == "JI-01")
    assert ji01.status == "evidence_unverifiable"
    assert ji01.points_claimed == Fraction(40, 14) and ji01.points == 0


@pytest.mark.parametrize("evidence", [EV, "SK PPID 2024.pdf", f"SK PPID (lihat {EV})", "foto.JPG"])
def test_evidence_a_verifier_can_open_counts(tmp_path, rubric, evidence):
    q = read(tmp_path, rubric, [("JI-01", "Ya", evidence)])
    assert not codes(q, "MV310") and not codes(q, "MV311")
    ji01 = next(i for i in score(rubric, q).indicators if i.code == "JI-01")
    assert ji01.status == "ok" and ji01.points == Fraction(40, 14)


def test_link_without_scheme_is_accepted_with_a_warning(tmp_path, rubric):
    q = read(tmp_path, rubric, [("JI-01", "Ya", "ppid.contoh.go.id/dip")])
    assert codes(q, "MV312") == [("MV312", "JI-01")]
    assert [i.target for i in q.answers["JI-01"].evidence_items] == [
        "https://ppid.contoh.go.id/dip"
    ]
    assert next(i for i in score(rubric, q).indicators if i.code == "JI-01").status == "ok"


def test_results_json_lists_evidence_items(tmp_path, rubric):
    path = write_workbook(tmp_path / "w.xlsx", rubric, [("JI-01", "Ya", f"{EV}\nSK.pdf\n-")])
    run = score_paths([path], rubric)
    ji01 = next(i for i in run.to_dict()["offices"][0]["indicators"] if i["code"] == "JI-01")
    assert ji01["evidence_items"] == [
        {"kind": "url", "text": EV, "target": EV},
        {"kind": "file", "text": "SK.pdf", "target": "SK.pdf"},
    ]


# --- verifier column --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("sesuai", "Sesuai"),
        (" SESUAI ", "Sesuai"),
        ("tidak  sesuai", "Tidak Sesuai"),
        ("Tidak-Sesuai", "Tidak Sesuai"),
    ],
)
def test_verifier_decisions_in_any_case_and_spacing(tmp_path, rubric, written, meant):
    q = read(tmp_path, rubric, [("JI-01", "Ya", "", written)])
    assert q.answers["JI-01"].verification == meant
    assert not codes(q, "MV213")


@pytest.mark.parametrize(
    ("written", "code", "meant"),
    [
        ("OK", "MV216", "Sesuai"),
        ("✓", "MV216", "Sesuai"),
        ("TS", "MV216", "Tidak Sesuai"),
        ("Tdk Sesuai", "MV216", "Tidak Sesuai"),
        ("tidaksesuai", "MV216", "Tidak Sesuai"),
        ("Belum sesuai", "MV216", "Tidak Sesuai"),
        ("mungkin", "MV213", ""),
    ],
)
def test_unknown_verifier_decision_is_a_problem_and_counts_zero(
    tmp_path, rubric, written, code, meant
):
    """A verifier's 'Tdk Sesuai' was dropped silently and the item kept full points; an unknown
    decision now counts 0 until corrected (JI-01: 40/14 claimed, 0 verifiable)."""
    q = read(tmp_path, rubric, [("JI-01", "Ya", EV, written)])
    assert q.answers["JI-01"].verification is None
    (p,) = [p for p in q.problems if p.param("code") == "JI-01"]
    assert (p.code, p.param("meant")) == (code, meant)
    assert p.cell.startswith("H") and written.strip() in p.text()
    ji01 = next(i for i in score(rubric, q).indicators if i.code == "JI-01")
    assert ji01.status == "verifier_unclear" and ji01.points == 0


def test_an_office_cannot_verify_itself(tmp_path, rubric):
    """Every row 'Ya' without evidence and 'Sesuai' in the office's own Verifikasi column scored
    100 with no problem. Without --verifier-from-workbooks 'Sesuai' adds nothing (MV215); with
    it (the workbook carries the verifier's pass) it counts. 'Tidak Sesuai' always lowers."""
    path = write_workbook(
        tmp_path / "self.xlsx",
        rubric,
        [("JI-01", "Ya", "", "Sesuai"), ("JI-02", "Ya", EV, "Tidak Sesuai"), ("JI-03", "Ya", EV)],
    )
    by_code = lambda run: {i.code: i for i in run.offices[0].score.indicators}  # noqa: E731
    office = score_paths([path], rubric)
    ind = by_code(office)
    assert ind["JI-01"].points == 0 and ind["JI-01"].status == "no_evidence"
    assert ind["JI-02"].points == 0 and ind["JI-02"].status == "verifier_rejected"
    assert ind["JI-03"].points == Fraction(40, 14)
    found = {(p.code, p.param("code")) for p in office.offices[0].problems}
    assert ("MV215", "JI-01") in found and ("MV301", "JI-01") in found
    assert ("MV215", "JI-02") not in found  # a rejection can only lower: nothing to warn
    trusted = by_code(score_paths([path], rubric, verifier_from_workbooks=True))
    assert trusted["JI-01"].points == Fraction(40, 14) and trusted["JI-01"].status == "ok"
    assert trusted["JI-02"].points == 0


# --- messages that fix things -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("iya", "Ya"),
        ("Y", "Ya"),
        ("ada", "Ya"),
        ("✓", "Ya"),
        (1, "Ya"),
        ("Ya.", "Ya"),
        ("Tidak ada", "Tidak"),
        (True, "Ya"),
        ("tdk", "Tidak"),
    ],
)
def test_near_misses_are_errors_that_say_what_was_meant(tmp_path, rubric, typed, meant):
    q = read(tmp_path, rubric, [("JI-01", typed, EV)])
    assert q.answers["JI-01"].parsed is None  # never accepted silently
    (p,) = [p for p in q.problems if p.param("code") == "JI-01"]
    assert p.code == "MV212" and p.param("meant") == meant
    assert f"'{meant}'" in p.text("id") and f"'{meant}'" in p.text("en")


@pytest.mark.parametrize(("typed", "example"), [("7 kali", "7"), ("-3", "3"), ("tiap hari", "7")])
def test_number_item_with_text_says_type_the_number_only(tmp_path, rubric, typed, example):
    q = read(tmp_path, rubric, [("KI-05", typed, EV)])
    (p,) = [p for p in q.problems if p.param("code") == "KI-05"]
    assert p.code == "MV210"
    assert f"Ketik angka saja, mis. {example}" in p.text("id")


def test_a_workbook_with_every_answer_empty_gets_one_line(tmp_path, rubric):
    q = read(tmp_path, rubric, [])
    assert [p.code for p in q.problems] == ["MV211"]
    assert "belum diisi" in q.problems[0].text("id")


def test_an_answer_given_keeps_the_per_row_lines(tmp_path, rubric):
    q = read(tmp_path, rubric, [("JI-01", "Ya", EV)])
    assert "MV211" not in {p.code for p in q.problems}
    assert len(codes(q, "MV202")) > 40


def test_excel_values_of_every_kind_never_stop_the_read(tmp_path, rubric):
    import datetime as dt

    values = [
        float("nan"),
        float("inf"),
        1e308,
        dt.date(2024, 5, 1),
        True,
        "#N/A",
        "=1+1",
        "+62 812",
        "-",
        "@Ya",
        "\tYa",
        "x" * 32767,
    ]
    rows = [
        (code, v, v, v)
        for code, v in zip(
            [
                "JI-01",
                "JI-02",
                "JI-03",
                "JI-04",
                "JI-05",
                "JI-06",
                "JI-07",
                "JI-08",
                "JI-09",
                "JI-10",
                "JI-11",
                "KI-05",
            ],
            values,
            strict=True,
        )
    ]
    rows.append(("PI-03", float("nan"), EV))
    q = read(tmp_path, rubric, rows)
    s = score(rubric, q)
    assert Decimal(0) <= s.saq_claimed <= Decimal(100)


@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!", "#REF!"])
def test_excel_error_in_an_answer_cell_is_named_not_called_empty(tmp_path, rubric, error):
    """calamine reads an Excel error as an empty cell: the officer would be told 'empty'."""
    q = read(tmp_path, rubric, [("JI-01", error, EV), ("JI-02", "Ya", EV)])
    (p,) = [p for p in q.problems if p.param("code") == "JI-01"]
    assert p.code == "MV214" and p.param("value") == error and p.cell == "E8"


# --- findings of a hurried-officer / adversary pass (one test per mistake found) --------------


def test_kecamatan_typed_as_unit_type_does_not_hide_the_kecamatan_label(tmp_path, rubric):
    """'Kecamatan' as the value of Jenis Unit was taken for the Kecamatan label: every
    kecamatan office lost its Kecamatan field (the demo's kec-*.xlsx too)."""
    path = write_workbook(
        tmp_path / "kec.xlsx", rubric, [], office="Kecamatan Bugul Kidul", unit_type="Kecamatan"
    )
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Identitas"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Kecamatan")
    ws.cell(row, 2).value = "Bugul Kidul"
    wb.save(path)
    q = read_questionnaire(path, rubric)
    assert (q.office.unit_type, q.office.kecamatan) == ("Kecamatan", "Bugul Kidul")


def test_a_link_on_an_empty_cell_is_not_evidence(tmp_path, rubric):
    """A hyperlink on an evidence cell with no text (one column-wide link) cannot be seen in
    Excel: it gave every 'Ya' full verifiable points."""
    q = read(tmp_path, rubric, [("JI-01", "Ya", "")], links={"JI-01": "https://contoh.go.id/"})
    ji01 = next(i for i in score(rubric, q).indicators if i.code == "JI-01")
    assert ji01.status == "no_evidence" and ji01.points == 0


def test_hyperlink_ranges_are_bounded_in_total():
    from monev.cells import MAX_LINK_CELLS, _range

    assert len(_range("A1:XFD1048576", MAX_LINK_CELLS)) == MAX_LINK_CELLS
    assert _range("F2:F4", 2) == [(1, 5), (2, 5)]


@pytest.mark.parametrize("typed", ["0,95", "0.95", 0.5])
def test_a_fraction_for_a_percent_is_flagged_as_text_too(tmp_path, rubric, typed):
    q = read(tmp_path, rubric, [("PI-03", typed, EV)])
    assert codes(q, "MV209") == [("MV209", "PI-03")]


@pytest.mark.parametrize(
    ("evidence", "targets"),
    [
        ("“https://a.go.id/sk.pdf”", ["https://a.go.id/sk.pdf"]),  # quotes from Word / WhatsApp
        ("https://a.go.id/sk.pdf\u200b", ["https://a.go.id/sk.pdf"]),  # a zero-width space
        (
            "https://a.go.id/a.pdf|https://a.go.id/b.pdf",
            ["https://a.go.id/a.pdf", "https://a.go.id/b.pdf"],
        ),
        ("https://a.go.id/a.pdf（lampiran）", ["https://a.go.id/a.pdf"]),
        ("sk.pdf dan dip.pdf", ["sk.pdf", "dip.pdf"]),
        ("https://a.go.id/a.pdf dan SK.pdf", ["https://a.go.id/a.pdf", "SK.pdf"]),
        ("sk ppid.pdf (terlampir)", ["sk ppid.pdf"]),
        ("ppid.kotalestari.go.id", ["https://ppid.kotalestari.go.id"]),
    ],
)
def test_evidence_items_as_people_paste_them(evidence, targets):
    items = [i for i in parse_evidence(evidence) if i.verifiable]
    assert [i.target for i in items] == targets


@pytest.mark.parametrize("typed", ["htps://a.go.id/sk.pdf", "http//a.go.id/sk", "https:/a.go.id"])
def test_a_mistyped_link_is_said_to_be_mistyped(tmp_path, rubric, typed):
    """Was: MV311 'points at your own computer'."""
    q = read(tmp_path, rubric, [("JI-01", "Ya", typed)])
    assert codes(q, "MV313") == [("MV313", "JI-01")] and not codes(q, "MV311")


def test_a_link_to_a_file_beside_the_workbook_is_a_file_name():
    """Excel stores a link to 'SK PPID.pdf' as SK%20PPID.pdf."""
    (item,) = parse_evidence("Lihat", "SK%20PPID.pdf")
    assert (item.kind, item.target) == ("file", "SK PPID.pdf")
    # LibreOffice writes it relative to the file itself (xlsx and ods alike).
    (item,) = parse_evidence("Lihat", "../SK%20PPID.pdf")
    assert (item.kind, item.target) == ("file", "SK PPID.pdf")


def test_evidence_parsing_stays_linear_on_hostile_cells():
    """20 cells of 'https://a.go.id/' + ')' x 32,000 took a minute (quadratic stripping)."""
    import time

    start = time.perf_counter()
    for text in ["https://a.go.id/" + ")" * 32_000, "a/" * 16_000, "x" * 32_767]:
        parse_evidence(text)
    assert time.perf_counter() - start < 2  # each is milliseconds; generous for a shared machine


@pytest.mark.parametrize("typed", ["Y\u200ba", "Ｙａ", "Ya\u200b", " YA\xa0"])
def test_invisible_and_full_width_characters_do_not_change_an_answer(tmp_path, rubric, typed):
    q = read(tmp_path, rubric, [("JI-01", typed, EV)])
    assert q.answers["JI-01"].parsed.text == "Ya"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Ya/Tidak", ""),
        ("ya, ada", "Ya"),
        ("Ya (ada)", "Ya"),
        ("√", "Ya"),
        # A number in a Ya/Tidak cell suggests nothing: "0,95" was read as "0" -> "Tidak"
        # (found filling a template by hand); a lone 0 or 1 still stands for Tidak / Ya.
        ("0,95", ""),
        ("95%", ""),
        ("0", "Tidak"),
        ("1", "Ya"),
    ],
)
def test_suggestions_are_given_only_when_clear(tmp_path, rubric, typed, meant):
    q = read(tmp_path, rubric, [("JI-01", typed, EV)])
    (p,) = [p for p in q.problems if p.param("code") == "JI-01"]
    assert (p.code, p.param("meant")) == (("MV212", meant) if meant else ("MV201", ""))


def test_a_header_with_a_note_in_brackets_is_found(tmp_path, rubric):
    import openpyxl

    path = write_workbook(tmp_path / "h.xlsx", rubric, [("JI-01", "Ya", EV)])
    wb = openpyxl.load_workbook(path)
    ws = wb["Kuesioner"]
    for c in range(1, ws.max_column + 1):
        if ws.cell(6, c).value == "Jawaban":
            ws.cell(6, c).value = "Jawaban (Ya/Tidak)"
    wb.save(path)
    q = read_questionnaire(path, rubric)
    assert not codes(q, "MV106") and q.answers["JI-01"].parsed.text == "Ya"


def test_template_from_keeps_evidence_links(tmp_path, rubric):
    """`template --from` dropped the link behind 'Lihat dokumen': verifiable fell without a word."""
    from monev.template import write_template

    src = write_workbook(
        tmp_path / "lama.xlsx",
        rubric,
        [("JI-01", "Ya", "Lihat dokumen"), ("JI-02", "Ya", EV)],
        links={"JI-01": "https://ppid.contoh.go.id/sk.pdf"},
    )
    new = write_template(rubric, tmp_path / "baru.xlsx", source=src)
    before = score(rubric, read_questionnaire(src, rubric))
    after = score(rubric, read_questionnaire(new, rubric))
    assert read_questionnaire(new, rubric).answers["JI-01"].evidence_link.endswith("/sk.pdf")
    assert after.saq_verifiable_exact == before.saq_verifiable_exact
