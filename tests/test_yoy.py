"""Year over year wherever a ranking is shown (issue 11 item 5): the terminal table, the city
report's ranking, the kecamatan rankings; the old set named by its own rubric and date, never by
the day it happened to be re-scored. Last year is the demo's questionnaires/contoh-2023."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from conftest import DEMO
from test_kecamatan import city  # noqa: F401  (a fixture)

from monev.batch import score_paths
from monev.cli import main
from monev.compare import compare, load_mapping, load_previous, parse_results_json, previous_label
from monev.report import render_city_html, render_kecamatan_html
from monev.stages import load_stages

ROOT = DEMO.parent
LAST_AS_OF = dt.date(2023, 12, 1)
AS_OF = dt.date(2024, 11, 13)


@pytest.fixture(scope="module")
def last_year(tmp_path_factory, rubric):
    """Last year's results.json, scored on its own date (1 December 2023)."""
    path = tmp_path_factory.mktemp("h23") / "results.json"
    prev = score_paths([ROOT / "contoh-2023"], rubric, as_of=LAST_AS_OF)
    path.write_text(prev.to_json(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo(last_year, rubric):
    stages = load_stages(ROOT / "contoh-tahapan.xlsx", rubric)
    run = score_paths([DEMO], rubric, stages=stages, as_of=AS_OF)
    mapping = load_mapping(ROOT / "ganti-nama.yaml")
    run.comparison = compare(run, load_previous(last_year), mapping)
    return run


def test_the_old_set_is_named_by_its_rubric_and_its_own_date(demo, last_year, rubric):
    """Old bug: the city report titled last year's column "Tahun lalu (29 November 2026)", the
    day the old set was re-scored, not what it is."""
    prev = demo.comparison.previous
    assert previous_label(prev, "id") == "2023 (ki-jatim-2024 1.0.0, per 1 Desember 2023)"
    assert previous_label(prev, "en") == "2023 (ki-jatim-2024 1.0.0, as of 1 December 2023)"
    html = render_city_html(demo)
    assert '<th class="num">2023 (ki-jatim-2024 1.0.0, per 1 Desember 2023)</th>' in html
    # A folder of last year's workbooks is scored today with this year's rubric: its date says
    # nothing about last year, so it is named by the folder and said to be re-scored.
    rescored = load_previous(ROOT / "contoh-2023", rubric)
    label = previous_label(rescored, "id")
    assert label == "contoh-2023 (dinilai ulang dengan ki-jatim-2024 1.0.0)"
    demo2 = score_paths([DEMO], rubric, as_of=AS_OF)
    demo2.comparison = compare(demo2, rescored, load_mapping(ROOT / "ganti-nama.yaml"))
    html = render_city_html(demo2)
    assert label in html and "Tahun lalu (" not in html


def _row(lines: list[str], name: str) -> list[str]:
    """The cells of one office's row of the terminal table."""
    line = next(x for x in lines if f" {name} " in x)
    return [c.strip() for c in line.split("│")[1:-1]]


def test_terminal_table_has_score_and_rank_change(last_year, tmp_path, capsys):
    rc = main(
        [
            "score",
            str(DEMO),
            "--stages",
            str(ROOT / "contoh-tahapan.xlsx"),
            "--out",
            str(tmp_path / "h24"),
            "--no-pdf",
            "--as-of",
            AS_OF.isoformat(),
            "--previous",
            str(last_year),
            "--rename-map",
            str(ROOT / "ganti-nama.yaml"),
        ]
    )
    assert rc == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(x for x in lines if "Peringkat" in x and "Kantor" in x)
    assert "Perubahan nilai" in head and "Perubahan peringkat" in head
    # (rank, name, unit, score, predicate, score change, rank change, ...)
    # Dinas Kependudukan: 91,90 now, 55,66 last year: 91,90 - 55,66 = +36,24; rank 12 -> 2: +10.
    assert _row(lines, "Dinas Kependudukan dan Pencatatan Sipil")[:7] == [
        "2",
        "Dinas Kependudukan dan Pencatatan Sipil",
        "OPD",
        "91,90",
        "Informatif",
        "+36,24",
        "+10",
    ]
    # Kecamatan Bugul Kidul: 63,82 - 66,05 = -2,23 (a minus sign); rank 6 -> 15: 6 - 15 = -9.
    assert _row(lines, "Kecamatan Bugul Kidul")[5:7] == ["−2,23", "−9"]
    # Sekretariat Daerah: rank 9 both years: 0; 76,64 - 57,79 = +18,85.
    assert _row(lines, "Sekretariat Daerah")[5:7] == ["+18,85", "0"]
    # The renamed Diskominfotik (ganti-nama.yaml): 94,39 - 74,33 = +20,06; rank 2 -> 1: +1.
    assert _row(lines, "Dinas Komunikasi, Informatika dan Statistik")[5:7] == ["+20,06", "+1"]
    # Kelurahan Kepel was not in last year's set.
    assert _row(lines, "Kelurahan Kepel")[5:7] == ["baru", "baru"]
    text = "\n".join(lines)
    assert "Perubahan dibanding 2023 (ki-jatim-2024 1.0.0, per 1 Desember 2023)" in text
    assert "tidak ada tahun ini: UPT Pengelolaan Sampah." in text


def test_terminal_table_has_no_change_columns_without_previous(tmp_path, capsys):
    assert main(["score", str(DEMO / "dinkes.xlsx"), "--out", str(tmp_path / "o"), "--no-pdf"]) == 0
    assert "Perubahan" not in capsys.readouterr().out


def _ranking_rows(html: str) -> dict[str, list[str]]:
    table = html[html.index("<h2>Peringkat kantor</h2>") :]
    table = table[: table.index("</table>")]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        ]
        if cells:
            rows[cells[1]] = cells
    return rows


def test_city_ranking_has_score_and_rank_change(demo):
    html = render_city_html(demo)
    rows = _ranking_rows(html)
    # (rank, office, unit, score, score change, rank change, predicate, needed); same figures as
    # the terminal: 91,90 - 55,66 = +36,24, rank 12 -> 2 = +10; 63,82 - 66,05 = -2,23, 6 -> 15.
    assert rows["Dinas Kependudukan dan Pencatatan Sipil"][3:6] == ["91,90", "+36,24", "+10"]
    assert rows["Kecamatan Bugul Kidul"][3:6] == ["63,82", "−2,23", "−9"]
    assert rows["Kelurahan Kepel"][4:6] == ["baru", "baru"]
    assert "Ada di 2023 (ki-jatim-2024 1.0.0, per 1 Desember 2023), tidak ada tahun ini: " in html
    assert "UPT Pengelolaan Sampah." in html


def test_city_ranking_without_previous_has_no_change_columns(rubric):
    run = score_paths([DEMO / "dinkes.xlsx"], rubric, as_of=AS_OF)
    html = render_city_html(run)
    assert "± Nilai" not in html and len(_ranking_rows(html)["Dinas Kesehatan"]) == 6


def test_kecamatan_ranking_has_score_change(city):  # noqa: F811
    """Last year's set: the same offices, Sebani at 1,00 (rank 2) and Bugul Lor at 0,50 (rank 3);
    the kecamatan office not in it."""
    data = json.loads(city.to_json())
    old = {o["name"]: o for o in data["offices"]}
    sebani, bugul = old["Kelurahan Sebani"], old["Kelurahan Bugul Lor"]
    # This year: Sebani answers JI-01 "Ya" with evidence: 40 / 14 = 2,857... -> 2,86; Bugul Lor 0.
    assert (sebani["score"], bugul["score"]) == (2.86, 0)
    sebani.update(score=1.00, rank=2)
    bugul.update(score=0.5, rank=3)
    data["offices"] = [sebani, bugul]
    data["as_of"] = "2025-11-03"
    city.comparison = compare(city, parse_results_json(json.dumps(data)))
    g = city.kecamatan_groups()[0]
    html = render_kecamatan_html(city, g)
    heat = html[html.index('<table class="heat kec-heat">') :]
    heat = heat[: heat.index("</table>")]
    assert '<th class="num">± Nilai</th>' in heat
    # Sebani 2,86 - 1,00 = +1,86; Bugul Lor 0,00 - 0,50 = -0,50.
    rows = re.findall(r"<tr>(.*?)</tr>", heat, re.S)[1:]
    cells = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r)]
        for r in rows
    ]
    assert [c[1:4] for c in cells] == [
        ["Kelurahan Sebani", "2,86", "+1,86"],
        ["Kelurahan Bugul Lor", "0,00", "−0,50"],
    ]
    assert "2025 (ki-jatim-2024 1.0.0, per 3 November 2025)" in html


def test_office_report_names_the_old_set(demo):
    from monev.report import render_office_html

    dinkes = next(o for o in demo.offices if o.name == "Dinas Kesehatan")
    html = render_office_html(demo, dinkes)
    assert "Pembanding: 2023 (ki-jatim-2024 1.0.0, per 1 Desember 2023)." in html
    # 86,54 - 71,19 = +15,35; rank 4 -> 7.
    assert "Nilai 71,19 → 86,54 (+15,35)" in html and "peringkat 4 → 7" in html
