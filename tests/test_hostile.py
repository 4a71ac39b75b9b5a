"""The hostile corpus of issue 9 (items 1, 2, 7): no file can stop, hang or flood a run.

Every hostile file is generated here (none is committed): a far-away cell, ODS repeated rows and
columns, a 3 GB sparse CSV, zip bombs, deep XML, a huge shared strings table, long cells. Each is
first checked against the pre-scan (:mod:`monev.scan`), then run through ``monev score`` as a
subprocess, beside one good workbook, with a time bound (15 s) and a memory bound (peak RSS of the
whole process tree under 500 MB): exit 0/1/2, never 3, no traceback, every input accounted for.

Isolation (:mod:`monev.sandbox`) is tested for real: a ``sitecustomize`` module put on the
subprocess's ``PYTHONPATH`` makes the reader abort, segfault, run out of memory or loop for files
with chosen names, in whichever process reads them. No hook exists in monev itself.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from helpers import ods, write_workbook

from monev import limits
from monev.sandbox import ProcessLimits, Stopped, run_isolated
from monev.scan import scan_workbook
from monev.workbook import read_questionnaire

EV = "https://ppid.contoh.go.id/bukti"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
FAR = '<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'


# --- building hostile files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def good(tmp_path_factory, rubric) -> Path:
    """One good questionnaire (two answers) to put beside every hostile file."""
    path = tmp_path_factory.mktemp("good") / "baik.xlsx"
    return write_workbook(path, rubric, [("JI-01", "Ya", EV), ("JI-02", "Tidak")])


@pytest.fixture(scope="module")
def other(tmp_path_factory, rubric) -> Path:
    """A good questionnaire of another office: hostile files are built from ``good``, and two
    workbooks of one office would be copies (only the newest is scored)."""
    path = tmp_path_factory.mktemp("other") / "lain.xlsx"
    return write_workbook(path, rubric, [("JI-01", "Ya", EV)], office="Dinas Lain")


def sheet_parts(src: Path) -> dict[str, str]:
    """Sheet name -> zip part of an openpyxl workbook (sheets are written as sheet1.xml, ...)."""
    with zipfile.ZipFile(src) as zf:
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', zf.read("xl/workbook.xml").decode())
    return {n: f"xl/worksheets/sheet{i}.xml" for i, n in enumerate(names, start=1)}


def rewrite(src: Path, dst: Path, edits: dict[str, object]) -> Path:
    """Copy a workbook, replacing parts: a callable edits the old text, bytes/str replace it."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            edit = edits.pop(info.filename, None)
            if callable(edit):
                data = edit(data.decode()).encode()
            elif edit is not None:
                data = edit if isinstance(edit, bytes) else str(edit).encode()
            zout.writestr(info.filename, data)
        for name, data in edits.items():
            zout.writestr(name, data if isinstance(data, bytes) else str(data))
    return dst


def far_cell(src: Path, dst: Path, sheet: str, ref: str) -> Path:
    """The good workbook with one more value at ``ref`` (e.g. XFD1048576) on ``sheet``."""
    row = re.sub(r"[A-Z]", "", ref)
    extra = FAR.format(row=row, ref=ref)
    return rewrite(
        src,
        dst,
        {sheet_parts(src)[sheet]: lambda x: x.replace("</sheetData>", extra + "</sheetData>")},
    )


VALUE = '<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'


def ods_repeats(dst: Path, rows: int, cols: int) -> Path:
    """A cell with a value repeated ``cols`` times in a row repeated ``rows`` times (~1 KB)."""
    cell = VALUE.replace(
        "<table:table-cell ", f'<table:table-cell table:number-columns-repeated="{cols}" '
    )
    return ods(
        dst, f'<table:table-row table:number-rows-repeated="{rows}">{cell}</table:table-row>'
    )


def understated_bomb(src: Path, dst: Path) -> Path:
    """A sheet of 200 MiB whose zip directory says it holds 2 KB."""
    part = sheet_parts(src)["Kuesioner"]
    rewrite(src, dst, {part: b" " * (200 * 1024 * 1024)})
    data = bytearray(dst.read_bytes())
    with zipfile.ZipFile(dst) as zf:
        info = zf.getinfo(part)
    fake = (2048).to_bytes(4, "little")
    # The uncompressed size sits at offset 22 of the local header and 24 of the central entry.
    data[info.header_offset + 22 : info.header_offset + 26] = fake
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == part.encode():
            data[at + 24 : at + 28] = fake
        at = data.find(b"PK\x01\x02", at + 4)
    dst.write_bytes(bytes(data))
    return dst


def make_case(case: str, good: Path, folder: Path) -> Path:
    """Write the hostile file ``case`` into ``folder``; return its path."""
    k = "Kuesioner"
    if case == "far-XFD1048576":
        return far_cell(good, folder / "jauh.xlsx", k, "XFD1048576")
    if case == "far-XFD5000-kuesioner":
        return far_cell(good, folder / "jauh-kuesioner.xlsx", k, "XFD5000")
    if case == "far-XFD5000-identitas":
        return far_cell(good, folder / "jauh-identitas.xlsx", "Identitas", "XFD5000")
    if case == "far-12-letters":  # past Excel's own references: calamine allocated and aborted
        return far_cell(good, folder / "jauh-huruf.xlsx", k, "AAAAAAAAAAAA10")
    if case == "ods-2000x16384":
        return ods_repeats(folder / "ulang.ods", 2000, 16384)
    if case == "ods-6000x16384":
        return ods_repeats(folder / "ulang-besar.ods", 6000, 16384)
    if case == "csv-3GB":
        path = folder / "export.csv"
        with path.open("wb") as fh:
            fh.truncate(3 * 2**30)  # sparse: no disk used
        return path
    if case == "zip-bomb-declared":
        return rewrite(good, folder / "bom.xlsx", {"xl/filler.xml": bytes(200 * 1024 * 1024)})
    if case == "zip-bomb-understated":
        return understated_bomb(good, folder / "bom-sembunyi.xlsx")
    if case == "zip-many-entries":
        extra = {f"xl/media/x{i}.xml": b"<a/>" for i in range(limits.MAX_ZIP_ENTRIES + 1)}
        return rewrite(good, folder / "banyak.xlsx", dict(extra))
    if case == "xml-deep":
        deep = "<x>" * 1_000_000 + "</x>" * 1_000_000
        part = sheet_parts(good)[k]
        return rewrite(
            good,
            folder / "dalam.xlsx",
            {part: lambda x: x.replace("</sheetData>", "</sheetData>" + deep)},
        )
    if case == "shared-strings-huge":
        sst = f'<sst xmlns="{MAIN}">' + "<si><t>a</t></si>" * 1_000_000 + "</sst>"
        return rewrite(good, folder / "teks-bersama.xlsx", {"xl/sharedStrings.xml": sst})
    if case == "cell-32000":
        return long_cell(good, folder / "sel-panjang.xlsx", 32_000)
    if case == "cell-40000":
        return long_cell(good, folder / "sel-terlalu-panjang.xlsx", 40_000)
    if case == "dimension-lies":
        part = sheet_parts(good)[k]
        return rewrite(
            good,
            folder / "dimensi.xlsx",
            {
                part: lambda x: re.sub(
                    r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', x
                )
            },
        )
    raise AssertionError(case)


def long_cell(good: Path, dst: Path, n: int) -> Path:
    """An evidence cell of one unbroken URL of ``n`` characters."""
    url = "https://ppid.contoh.go.id/" + "a" * (n - 26)
    part = sheet_parts(good)["Kuesioner"]
    return rewrite(good, dst, {part: lambda x: x.replace(EV, url, 1)})


# case -> (expected code in results.json, the limit named, when MV111)
CASES = {
    "far-XFD1048576": ("MV111", "limit.rows"),
    "far-XFD5000-kuesioner": ("MV111", "limit.columns"),
    "far-XFD5000-identitas": ("MV111", "limit.columns"),
    "far-12-letters": ("MV111", "limit.columns"),
    "ods-2000x16384": ("MV111", "limit.columns"),
    "ods-6000x16384": ("MV111", "limit.columns"),
    "csv-3GB": ("MV111", "limit.file_bytes"),
    "zip-bomb-declared": ("MV107", ""),
    "zip-bomb-understated": ("MV101", ""),
    "zip-many-entries": ("MV107", ""),
    "xml-deep": ("MV111", "limit.xml_depth"),
    "shared-strings-huge": ("MV111", "limit.shared_strings"),
    "cell-32000": (None, ""),  # within Excel's limit: scored
    "cell-40000": ("MV111", "limit.cell_chars"),
    "dimension-lies": (None, ""),  # <dimension> is not believed: scored
}


# --- the pre-scan, in process --------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_scan_refuses_before_work(case, good, tmp_path, rubric):
    path = make_case(case, good, tmp_path)
    start = time.perf_counter()
    scan = scan_workbook(path, sheets=("Kuesioner", "Identitas"))
    seconds = time.perf_counter() - start
    tracemalloc.start()
    scan_workbook(path, sheets=("Kuesioner", "Identitas"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    code, limit = CASES[case]
    assert (scan.problem.code if scan.problem else None) == code, scan.problem
    if limit:
        assert scan.problem is not None and scan.problem.params[0][:2] == ("limit", limit)
    # Generous bounds (a loaded 2-core machine); the point is seconds, not minutes, and
    # megabytes, not gigabytes: the old reader took 2.6-4.4 GB or aborted on these.
    assert seconds < 5
    assert peak < 30 * 1024 * 1024
    q = read_questionnaire(path, rubric)
    assert q.rejected == (code is not None)


def test_far_cell_problem_names_limit_value_and_cell(good, tmp_path):
    p = scan_workbook(make_case("far-XFD5000-identitas", good, tmp_path)).problem
    assert p is not None
    assert (p.code, p.sheet, p.cell) == ("MV111", "Identitas", "XFD5000")
    # XFD is column 16384 (= 26*26*26 + 26*26 + 26 - ... computed: X=24, F=6, D=4:
    # 24*676 + 6*26 + 4 = 16224 + 156 + 4 = 16384), beyond MAX_COLUMNS = 500.
    assert p.param("value") == "16384" and p.param("max") == str(limits.MAX_COLUMNS)
    assert "jumlah kolom lembar: 16384 (batas 500)" in p.message()


def test_strict_ooxml_namespaces_are_scanned_too(good, tmp_path):
    """Strict OOXML names the same elements in other namespaces; the limits still apply."""
    src = far_cell(good, tmp_path / "jauh.xlsx", "Identitas", "XFD5000")
    strict = {
        MAIN: "http://purl.oclc.org/ooxml/spreadsheetml/main",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
            "http://purl.oclc.org/ooxml/officeDocument/relationships"
        ),
    }

    def to_strict(text: str) -> str:
        for old, new in strict.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        return text

    parts = ["xl/workbook.xml", *sheet_parts(src).values()]
    dst = rewrite(src, tmp_path / "strict.xlsx", {part: to_strict for part in parts})
    p = scan_workbook(dst).problem
    assert p is not None and (p.code, p.sheet, p.cell) == ("MV111", "Identitas", "XFD5000")


def test_cell_limit_counts_the_whole_grid_from_a1(good, tmp_path, rubric):
    """The old check multiplied calamine's total_height/total_width, one short each way.

    A value at SF1001 (column 500, row 1001) makes a grid of 1001 x 500 = 500,500 cells, over
    MAX_CELLS = 500,000; the old check computed 1000 x 499 = 499,000 and let it through.
    """
    assert limits.MAX_CELLS == 500_000 and limits.MAX_COLUMNS == 500
    over = far_cell(good, tmp_path / "lebih.xlsx", "Kuesioner", "SF1001")
    q = read_questionnaire(over, rubric)
    assert [p.code for p in q.problems] == ["MV111"]
    assert q.problems[0].param("value") == "500500"
    # Exactly at the limit: 1000 x 500 = 500,000 cells is allowed and read.
    at = far_cell(good, tmp_path / "pas.xlsx", "Kuesioner", "SF1000")
    assert scan_workbook(at).sheets["Kuesioner"].cells == 500_000
    assert not read_questionnaire(at, rubric).rejected


def test_libreoffice_style_trailing_empty_repeats_cost_nothing(tmp_path):
    """LibreOffice writes the rest of a styled sheet as huge runs of EMPTY repeated cells."""
    body = (
        f"<table:table-row>{VALUE}{VALUE}"
        '<table:table-cell table:number-columns-repeated="16382"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048575">'
        '<table:table-cell table:style-name="ce1" table:number-columns-repeated="16384"/>'
        "</table:table-row>"
    )
    scan = scan_workbook(ods(tmp_path / "lo.ods", body))
    assert scan.ok, scan.problem
    # Two values in row 1: a grid of 1 row x 2 columns.
    assert scan.sheets["Kuesioner"].cells == 2


def test_ods_counts_repeats_that_carry_content(tmp_path):
    # Row 1: one value. Then 500 empty rows. Row 502: 30 empty cells, then a value at column 31.
    body = (
        f"<table:table-row>{VALUE}</table:table-row>"
        '<table:table-row table:number-rows-repeated="500">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="30"/>{VALUE}'
        "</table:table-row>"
    )
    extent = scan_workbook(ods(tmp_path / "tengah.ods", body)).sheets["Kuesioner"]
    assert (extent.rows, extent.columns) == (502, 31)


# --- the whole CLI over each hostile file, bounded ---------------------------------------------

HARNESS = r"""
import ctypes, json, os, resource, signal, subprocess, sys, time
# Become the reaper of orphaned descendants (the workers' fork server outlives the CLI by a
# moment), so their peak RSS counts in RUSAGE_CHILDREN.
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
start = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
seconds = time.monotonic() - start
signal.alarm(30)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                  "seconds": seconds, "maxrss_kb": rss}))
"""


def run_bounded(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> dict:
    """``monev <args>`` in a fresh helper process; its exit code, output, time and peak RSS."""
    harness = tmp_path / "harness.py"
    harness.write_text(HARNESS)
    cmd = [sys.executable, str(harness), sys.executable, "-m", "monev", *args]
    done = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def score_folder(tmp_path: Path, folder: Path, *extra: str, env: dict | None = None):
    out = tmp_path / "hasil"
    result = run_bounded(tmp_path, ["score", str(folder), "--out", str(out), "-q", *extra], env)
    data = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return result, data, out


def assert_bounded(result: dict, data: dict, inputs: int) -> None:
    assert result["rc"] in (0, 1, 2), result["stderr"]
    assert "Traceback" not in result["stderr"]
    assert result["seconds"] < 15
    assert result["maxrss_kb"] < 500 * 1024
    accounted = len(data["offices"]) + len(data["rejected"]) + len(data["skipped"])
    assert accounted == inputs


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_survives_hostile_file(case, good, other, tmp_path):
    folder = tmp_path / "masuk"
    folder.mkdir()
    (folder / "baik.xlsx").write_bytes(other.read_bytes())
    hostile = make_case(case, good, folder)
    result, data, _ = score_folder(tmp_path, folder, "--no-pdf")
    assert_bounded(result, data, inputs=2)
    code, _limit = CASES[case]
    rejected = {r["file"]: r["problems"][0]["code"] for r in data["rejected"]}
    assert rejected == ({hostile.name: code} if code else {})
    assert result["rc"] == (1 if code else 0)


# --- isolation: a reader that dies costs its file only -----------------------------------------

FAULTS = """
import os

import monev.limits
import monev.scan

monev.limits.READ_CPU_SECONDS = 2
_real = monev.scan.scan_workbook


def scan_workbook(path, *args, **kwargs):
    name = os.path.basename(str(path))
    if name.startswith("abort"):
        os.abort()  # a native library aborting
    if name.startswith("segv"):
        import ctypes

        ctypes.string_at(0)  # a segfault
    if name.startswith("memory"):
        bytearray(2 * monev.limits.READ_MEMORY_BYTES)  # beyond the address-space limit
    if name.startswith("cpu"):
        while True:  # beyond the CPU limit
            pass
    return _real(path, *args, **kwargs)


monev.scan.scan_workbook = scan_workbook
"""

RENDER_FAULT = """
import os

import monev.report

_real = monev.report.render_office_html


def render_office_html(run, o, *args, **kwargs):
    if o.name == "Dinas Meledak":
        os.abort()  # the renderer dies on this office's report only
    return _real(run, o, *args, **kwargs)


monev.report.render_office_html = render_office_html
"""


def fault_env(tmp_path: Path, code: str) -> dict[str, str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(textwrap.dedent(code))
    return {"PYTHONPATH": os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_reader_that_dies_costs_its_file_only(jobs, good, other, tmp_path):
    folder = tmp_path / "masuk"
    folder.mkdir()
    names = ["abort.xlsx", "baik.xlsx", "cpu.xlsx", "memory.xlsx", "segv.xlsx", "zz-baik.xlsx"]
    for name in names:
        (folder / name).write_bytes((other if name == "zz-baik.xlsx" else good).read_bytes())
    result, data, _ = score_folder(
        tmp_path, folder, "--no-pdf", "-j", jobs, env=fault_env(tmp_path, FAULTS)
    )
    assert result["rc"] == 1, result["stderr"]
    assert "Traceback" not in result["stderr"]
    assert sorted(o["file"] for o in data["offices"]) == ["baik.xlsx", "zz-baik.xlsx"]
    rejected = {r["file"]: r["problems"][0] for r in data["rejected"]}
    assert sorted(rejected) == ["abort.xlsx", "cpu.xlsx", "memory.xlsx", "segv.xlsx"]
    assert {p["code"] for p in rejected.values()} == {"MV110"}
    assert "menghentikan pembaca" in rejected["abort.xlsx"]["message"]
    assert "memori habis" in rejected["memory.xlsx"]["message"]
    # The file over its CPU limit is rejected like the others. Its reason should read "waktu
    # proses habis" (SIGXCPU); on a loaded machine it was seen as "berhenti mendadak" when the
    # worker's death was noticed through the broken pool: an open doubt, see the CHANGELOG.
    assert any(
        reason in rejected["cpu.xlsx"]["message"]
        for reason in ("waktu proses habis", "berhenti mendadak")
    )


def _die_on(value: str) -> str:
    if value == "abort":
        os.abort()
    return value.upper()


def test_run_isolated_returns_every_other_result():
    items = ["a", "abort", "b", "c", "abort", "d"]
    got = run_isolated(_die_on, items, limits=ProcessLimits(2**30, 10), jobs=2)
    assert [g if isinstance(g, str) else "stopped" for g in got] == [
        "A",
        "stopped",
        "B",
        "C",
        "stopped",
        "D",
    ]
    assert all(g.reason == "crashed" for g in got if isinstance(g, Stopped))


@pytest.mark.pdf
def test_renderer_that_dies_costs_that_pdf_only(good, tmp_path, rubric):
    folder = tmp_path / "masuk"
    folder.mkdir()
    (folder / "baik.xlsx").write_bytes(good.read_bytes())
    write_workbook(folder / "meledak.xlsx", rubric, [("JI-01", "Ya", EV)], office="Dinas Meledak")
    result, data, out = score_folder(tmp_path, folder, env=fault_env(tmp_path, RENDER_FAULT))
    assert result["rc"] == 1, result["stderr"]
    assert "Traceback" not in result["stderr"]
    assert "kantor/dinas-meledak.pdf" in result["stderr"]
    assert len(data["offices"]) == 2
    assert (out / "kantor" / "dinas-uji.pdf").exists()
    assert (out / "kota.pdf").exists()
    assert not (out / "kantor" / "dinas-meledak.pdf").exists()
