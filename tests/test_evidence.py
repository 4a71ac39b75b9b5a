"""Evidence checks against a local HTTP server (no internet): classification, scoring, cache."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DEMO
from helpers import write_workbook
from httpserver import PDF, LocalServer

from monev.batch import score_paths
from monev.cli import main
from monev.evidence import (
    BROKEN,
    FILE_MISSING,
    FILE_TOO_LARGE,
    FILE_TYPE,
    LOGIN,
    NOT_DOCUMENT,
    OK,
    UNREACHABLE,
    LinkChecker,
    check_file,
)
from monev.workbook import read_questionnaire


@pytest.fixture(scope="module")
def server():
    with LocalServer() as s:
        yield s


def checker(tmp_path: Path, **kw) -> LinkChecker:
    return LinkChecker(cache_path=tmp_path / "links.json", timeout=0.5, retries=1, **kw)


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/dok/sk-ppid.pdf", OK, "application/pdf"),
        ("/artikel", OK, "text/html"),
        ("/404", BROKEN, "HTTP 404"),
        ("/500", BROKEN, "HTTP 500"),
        ("/slow", UNREACHABLE, "timeout"),
        ("/r1", LOGIN, "/ServiceLogin"),
        ("/drive/request", LOGIN, "access request page"),
        ("/loop", BROKEN, "redirect loop"),
        ("/empty", NOT_DOCUMENT, "empty page"),
        ("/berkas/", NOT_DOCUMENT, "folder listing"),
        ("/", NOT_DOCUMENT, "home page"),
    ],
)
def test_each_kind_of_page_is_classified(server, tmp_path, path, status, detail):
    url = server.base + path
    result = checker(tmp_path).check([url])[url]
    assert (result.status, detail in result.detail) == (status, True), result


def test_unreachable_host(tmp_path):
    # Port 9 on the loopback address: nothing listens, the connection is refused at once.
    url = "http://127.0.0.1:9/dok.pdf"
    assert checker(tmp_path).check([url])[url].status == UNREACHABLE


def test_evidence_files_beside_the_workbook(tmp_path):
    (tmp_path / "sk.pdf").write_bytes(PDF)
    (tmp_path / "foto.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "besar.pdf").write_bytes(b"%PDF" + bytes(3 * 1024 * 1024))
    (tmp_path / "palsu.pdf").write_bytes(b"<html>not a pdf</html>")
    (tmp_path / "catatan.docx").write_bytes(b"PK")
    assert check_file("sk.pdf", tmp_path).status == OK
    assert check_file("foto.png", tmp_path).status == OK
    assert check_file("besar.pdf", tmp_path).status == FILE_TOO_LARGE
    assert check_file("palsu.pdf", tmp_path).status == FILE_TYPE
    assert check_file("catatan.docx", tmp_path).status == FILE_TYPE
    assert check_file("hilang.pdf", tmp_path).status == FILE_MISSING
    assert check_file("../sk.pdf", tmp_path / "x").status == FILE_MISSING


def test_failed_evidence_lowers_the_verifiable_score_by_hand(server, tmp_path, rubric):
    b = server.base
    (tmp_path / "bukti.pdf").write_bytes(PDF)
    (tmp_path / "besar.pdf").write_bytes(b"%PDF" + bytes(3 * 1024 * 1024))
    rows = [
        ("JI-01", "Ya", f"{b}/dok/dip.pdf"),  # ok
        ("JI-02", "Ya", f"{b}/404"),  # broken
        ("JI-03", "Ya", f"{b}/drive/request"),  # access request page
        ("JI-04", "Ya", f"{b}/r1"),  # redirects to a sign-in page
        ("JI-05", "Ya", f"{b}/404\n{b}/artikel"),  # one piece ok: counts
        ("JI-06", "Ya", "bukti.pdf"),  # file beside the workbook: ok
        ("JI-07", "Ya", "hilang.pdf"),  # missing file
        ("JI-08", "Ya", "besar.pdf"),  # over 2 MB
        ("JI-09", "Tidak", f"{b}/404"),  # a negative answer is not checked
    ]
    path = write_workbook(tmp_path / "dinas.xlsx", rubric, rows)
    offline = score_paths([path], rubric).offices[0].score
    online_run = score_paths([path], rubric, links=checker(tmp_path))
    online = online_run.offices[0].score
    # Each Jenis Informasi item is worth 40/14. Claimed: 8 x 40/14 = 22.857... -> 22.86.
    assert offline.saq_claimed == online.saq_claimed == Decimal("22.86")
    # Offline every positive answer has evidence: verifiable = claimed.
    assert offline.saq_verifiable == Decimal("22.86")
    # Checked: JI-01, JI-05, JI-06 survive: 3 x 40/14 = 8.571... -> 8.57 (a drop of 14.29).
    assert online.saq_verifiable == Decimal("8.57")
    failed = {i.code: i.status for i in online.indicators if i.status == "evidence_failed"}
    assert set(failed) == {"JI-02", "JI-03", "JI-04", "JI-07", "JI-08"}
    problems = {
        (p.code, p.param("code"))
        for p in online_run.offices[0].problems
        if p.code in ("MV304", "MV305")
    }
    assert problems == {
        ("MV304", "JI-02"),
        ("MV304", "JI-03"),
        ("MV304", "JI-04"),
        ("MV304", "JI-05"),
        ("MV305", "JI-07"),
        ("MV305", "JI-08"),
    }
    assert server.hits["/404"] >= 1 and f"{b}/404" in online_run.to_json()


def test_second_run_uses_the_cache(server, tmp_path, rubric):
    b = server.base
    path = write_workbook(
        tmp_path / "c.xlsx",
        rubric,
        [("JI-01", "Ya", f"{b}/dok/cache-1.pdf"), ("JI-02", "Ya", f"{b}/dok/cache-2.pdf")],
    )
    first = checker(tmp_path)
    score_paths([path], rubric, links=first)
    hits = dict(server.hits)
    second = checker(tmp_path)
    run = score_paths([path], rubric, links=second)
    assert first.fetched == 2 and second.fetched == 0
    assert dict(server.hits) == hits  # nothing went to the server again
    assert run.offices[0].score.saq_verifiable == Decimal("5.71")  # 2 x 40/14
    stale = checker(tmp_path, max_age=0)
    stale.check([f"{b}/dok/cache-1.pdf"])
    assert stale.fetched == 1


def test_demo_city_flags_exactly_the_planted_bad_links(server, tmp_path, rubric):
    """Demo workbooks with their links moved to the local server and three links planted bad."""
    import openpyxl

    folder = tmp_path / "kota"
    folder.mkdir()
    planted: set[str] = set()
    for name in ("dinkes.xlsx", "dlh.xlsx", "kel-kepel.xlsx"):
        wb = openpyxl.load_workbook(DEMO / name)
        ws = wb["Kuesioner"]
        for row in ws.iter_rows(min_row=7):
            cell = row[5]
            if isinstance(cell.value, str) and cell.value.startswith("https://"):
                base = f"{server.base}/dok/"
                local = cell.value.replace("https://ppid.kotalestari.go.id/", base)
                local = local.replace("https://drive.google.com/file/d/", f"{base}drive-")
                cell.value = local
                if len(planted) < 3 and "/dok/" in local and name == "dlh.xlsx":
                    planted.add(local)
                    server.planted_404.add(local.removeprefix(server.base))
            elif isinstance(cell.value, str) and cell.value.endswith(".pdf"):
                (folder / cell.value).write_bytes(PDF)  # the office sent its files along
        wb.save(folder / name)
    assert len(planted) == 3
    offline = score_paths([folder], rubric)
    online = score_paths([folder], rubric, links=checker(tmp_path))
    flagged = {
        p.param("target")
        for o in online.offices
        for p in o.problems
        if p.code in ("MV304", "MV305")
    }
    assert flagged == {u[:80] for u in planted}
    # Only the office with the planted links loses points: the max points of those items.
    for before, after in zip(offline.offices, online.offices, strict=True):
        lost = sum(
            (
                i.max_points * i.value_claimed
                for i in after.score.indicators
                if i.status == "evidence_failed"
            ),
            start=0,
        )
        assert before.score.saq_verifiable_exact - after.score.saq_verifiable_exact == lost
        assert (lost > 0) == (after.file == "dlh.xlsx")


def test_cli_check_links(server, tmp_path, rubric, capsys):
    path = write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", f"{server.base}/404")])
    rc = main(
        [
            "check",
            str(path),
            "--check-links",
            "--link-cache",
            str(tmp_path / "c.json"),
            "--lang",
            "en",
        ]
    )
    assert rc == 1
    out = capsys.readouterr().out
    assert "MV304 The evidence link for JI-01 fails the check: broken (HTTP 404)" in out
    q = read_questionnaire(path, rubric)
    assert q.answers["JI-01"].evidence_failed == ""  # reading alone never touches the network
