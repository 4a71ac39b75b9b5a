"""Evidence checks against a local HTTP server (no internet): classification, scoring, cache."""

from __future__ import annotations

import json
import time
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
    NOT_CHECKED,
    NOT_DOCUMENT,
    OK,
    REFUSED,
    RUN_LIMIT,
    UNREACHABLE,
    Check,
    LinkCache,
    LinkChecker,
    check_file,
    internal_address,
)
from monev.workbook import read_questionnaire


@pytest.fixture(scope="module")
def server():
    with LocalServer() as s:
        yield s


def checker(tmp_path: Path, **kw) -> LinkChecker:
    # The local server is on 127.0.0.1, an internal address: allowed here, refused by default.
    options = {"cache_path": tmp_path / "links.json", "timeout": 0.5, "retries": 1}
    return LinkChecker(**{**options, "allow_internal": True, **kw})


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
            "--allow-internal-links",
            "--lang",
            "en",
        ]
    )
    assert rc == 1
    out = capsys.readouterr().out
    assert "MV304 The evidence link for JI-01 fails the check: broken (HTTP 404)" in out
    q = read_questionnaire(path, rubric)
    assert q.answers["JI-01"].evidence_failed == ""  # reading alone never touches the network


# --- issue 9, item 4: a hostile server cannot hang, flood or steer the link check ---------------


def test_a_server_dripping_bytes_cannot_outlast_the_link_budget(server, tmp_path):
    # 40 bytes at one per 0.2 s: 8 s per answer, never 1 s idle, so a per-read timeout of 1 s
    # never fires. The budget of 1 s covers the whole link (both attempts): a generous bound of
    # 4 s for the two links, checked one at a time (per_host=1).
    urls = [f"{server.base}/drip-headers/40", f"{server.base}/drip-body/40"]
    lc = checker(tmp_path, per_host=1, timeout=1.0)
    start = time.monotonic()
    found = lc.check(urls)
    elapsed = time.monotonic() - start
    assert elapsed < 4, elapsed
    assert {c.status for c in found.values()} == {UNREACHABLE}
    assert all(c.detail == "timeout" for c in found.values())


def test_the_run_deadline_leaves_links_not_reached_not_checked(server, tmp_path):
    # Six links on one host, one at a time, each 3 bytes at 0.2 s = 0.6 s; the run has 1.5 s:
    # two links finish (1.2 s), the third is cut off, the last three never start.
    urls = [f"{server.base}/drip-body/3?n={k}" for k in range(6)]
    lc = checker(tmp_path, per_host=1, run_timeout=1.5, timeout=5.0)
    start = time.monotonic()
    found = lc.check(urls)
    assert time.monotonic() - start < 4
    not_checked = [u for u, c in found.items() if c.status == NOT_CHECKED]
    assert len(not_checked) >= 3 and len(found) == 6
    assert all(found[u].detail == RUN_LIMIT for u in not_checked)
    # Not cached: the next run fetches exactly those again.
    again = checker(tmp_path, per_host=1, run_timeout=30, timeout=5.0)
    again.check(urls)
    assert again.fetched == len(not_checked)


def _peak_mib(fn) -> float:
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        # 66 KB on the wire, 64 MiB decoded: read up to the 512 KB cap, then classified (as
        # text: zero bytes are not white space, so the page is not empty).
        ("/gzip-bomb", OK, "text/html"),
        # 232 bytes on the wire, 64 MiB after two rounds of gzip: refused before decoding.
        ("/stacked", REFUSED, "stacked Content-Encoding: gzip, gzip"),
        ("/brotli", REFUSED, "Content-Encoding: br"),
        ("/gzip-artikel", OK, "text/html"),
        ("/deflate-artikel", OK, "text/html"),
        ("/deflate-raw-artikel", OK, "text/html"),
        ("/gzip-members-artikel", OK, "text/html"),  # two gzip members, both read
        ("/gzip-corrupt", REFUSED, "gzip data not readable"),
        ("/huge-headers", UNREACHABLE, "RemoteProtocolError"),  # h11 stops at its limit
    ],
)
def test_decoded_bodies_are_capped_while_decoding(server, tmp_path, path, status, detail):
    url = server.base + path
    lc = checker(tmp_path, cache_path=None, timeout=10.0)
    found: dict = {}
    peak = _peak_mib(lambda: found.update(lc.check([url])))
    assert (found[url].status, found[url].detail) == (status, detail)
    # The cap is 512 KB of body; the old code held the whole 64 MiB at once. 16 MiB is generous
    # for httpx, asyncio and the tracing itself.
    assert peak < 16, f"{peak:.1f} MiB"


def test_internal_addresses_are_not_fetched_by_default(server, tmp_path):
    url = f"{server.base}/dok/intern-1.pdf"
    found = checker(tmp_path, allow_internal=False).check([url])[url]
    assert (found.status, found.detail) == (NOT_CHECKED, "127.0.0.1")
    assert server.hits["/dok/intern-1.pdf"] == 0
    assert not found.ok and found.counts
    # Not cached either: allowed later, the link is fetched.
    allowed = checker(tmp_path, allow_internal=True)
    assert allowed.check([url])[url].status == OK and allowed.fetched == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "fe80::1%eth0",
        "not an address",
    ],
)
def test_what_counts_as_internal(address):
    assert internal_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "203.130.193.74", "2001:4860:4860::8888"])
def test_public_addresses_are_not_internal(address):
    assert not internal_address(address)


def test_a_host_allowed_by_name_is_fetched_but_not_its_redirect_inside(server, tmp_path):
    port = server.server_address[1]
    lc = checker(tmp_path, allow_internal=False, allow_hosts=("LOCALHOST",))
    ok_url = f"http://localhost:{port}/dok/by-name.pdf"
    to_internal = f"http://localhost:{port}/to-internal"
    found = lc.check([ok_url, to_internal])
    assert found[ok_url].status == OK
    # The allowed host redirects to 127.0.0.1, which is not allowed: refused at that hop.
    assert (found[to_internal].status, found[to_internal].detail) == (NOT_CHECKED, "127.0.0.1")
    assert server.hits["/to-internal"] == 1 and server.hits["/dok/internal.pdf"] == 0


def test_the_connection_goes_to_the_address_that_was_checked(server, tmp_path, monkeypatch):
    """DNS rebinding: the name looks public when first asked, internal when connecting."""
    import monev.evidence as ev

    answers = iter([["8.8.8.8"]])  # never connected to: only the first (pre-request) look-up

    def rebinding(host: str, port: int) -> list[str]:
        assert host == "localhost"  # resolves via the hosts file; no DNS query leaves
        return next(answers, ["127.0.0.1"])

    monkeypatch.setattr(ev, "resolve", rebinding)
    url = f"http://localhost:{server.server_address[1]}/dok/rebind.pdf"
    found = checker(tmp_path, allow_internal=False).check([url])[url]
    assert (found.status, found.detail) == (NOT_CHECKED, "127.0.0.1")
    assert server.hits["/dok/rebind.pdf"] == 0


def test_an_internal_link_counts_as_offline_with_a_warning(server, tmp_path, rubric):
    b = server.base
    rows = [
        ("JI-01", "Ya", f"{b}/dok/intern-2.pdf"),  # internal: not checked, counts
        ("JI-02", "Ya", f"http://localhost:{server.server_address[1]}/404"),  # allowed: broken
    ]
    path = write_workbook(tmp_path / "dinas.xlsx", rubric, rows)
    lc = checker(tmp_path, allow_internal=False, allow_hosts=("localhost",))
    run = score_paths([path], rubric, links=lc)
    office = run.offices[0]
    # Claimed 2 x 40/14 = 5.714... -> 5.71; JI-02 fails, JI-01 counts: 40/14 = 2.857 -> 2.86.
    assert office.score.saq_claimed == Decimal("5.71")
    assert office.score.saq_verifiable == Decimal("2.86")
    codes = {(p.code, p.param("code"), p.cell) for p in office.problems if p.code >= "MV304"}
    q = read_questionnaire(path, rubric)
    cells = {code: q.answers[code].evidence_cell for code in ("JI-01", "JI-02")}
    assert codes == {("MV306", "JI-01", cells["JI-01"]), ("MV304", "JI-02", cells["JI-02"])}
    assert server.hits["/dok/intern-2.pdf"] == 0


def test_cli_refuses_internal_links_unless_allowed(server, tmp_path, rubric, capsys):
    url = f"{server.base}/dok/cli-intern.pdf"
    path = write_workbook(tmp_path / "a.xlsx", rubric, [("JI-01", "Ya", url)])
    base = ["check", str(path), "--check-links", "--link-cache", str(tmp_path / "c.json")]
    assert main([*base, "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "MV306 The evidence link for JI-01 was not checked" in out and "127.0.0.1" in out
    assert server.hits["/dok/cli-intern.pdf"] == 0
    # Exit 1 either way: the other answers of this small workbook are empty (MV202).
    assert main([*base, "--link-allow-host", "127.0.0.1", "--link-run-timeout", "30"]) == 1
    assert "MV306" not in capsys.readouterr().out
    assert server.hits["/dok/cli-intern.pdf"] == 1


# --- the cache: validated on load, merged under a lock on save -----------------------------------

VALID = {"status": "ok", "detail": "application/pdf", "checked_at": 1_700_000_000.0}


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        "42",
        "null",
        '"links"',
        json.dumps({"u": {"detail": "no status", "checked_at": 1}}),
        json.dumps({"u": {"status": "bogus", "checked_at": 1}}),
        json.dumps({"u": {"status": "not_checked", "checked_at": 1}}),  # never cached
        json.dumps({"u": {"status": "ok", "checked_at": "yesterday"}}),
        json.dumps({"u": {"status": "ok", "checked_at": True}}),
        json.dumps({"u": {"status": "ok", "checked_at": 1, "detail": ["x"]}}),
        '{"u": {"status": "ok", "checked_at": NaN}}',
        '{"u": {"status": "ok", "checked_at": Infinity}}',
        json.dumps({"u": "ok"}),
        json.dumps({"u": [1, 2]}),
        "[" * 100_000 + "]" * 100_000,
        "\x00\xff garbage",
    ],
)
def test_a_cache_of_the_wrong_shape_is_dropped_never_a_crash(server, tmp_path, content):
    cache = tmp_path / "links.json"
    cache.write_text(content, encoding="utf-8")
    assert LinkCache(cache, 1e12).entries == {}
    url = f"{server.base}/dok/shape.pdf"
    lc = checker(tmp_path, max_age=1e12)
    assert lc.check([url])[url].status == OK and lc.fetched == 1
    assert set(json.loads(cache.read_text(encoding="utf-8"))) == {url}


def test_valid_cache_entries_beside_bad_ones_are_kept(tmp_path):
    cache = tmp_path / "links.json"
    entries = {"https://a.example/ok": VALID, "https://a.example/bad": {"status": 7}}
    cache.write_text(json.dumps(entries), encoding="utf-8")
    assert LinkCache(cache, 1e12).entries == {"https://a.example/ok": VALID}


WRITER = """
import sys, time
from pathlib import Path
from monev.evidence import Check, LinkCache
path, tag, ready, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
cache = LinkCache(path, 1e12)  # loaded before the other run saves anything
ready.touch()
while not go.exists():
    time.sleep(0.005)
for i in range(400):
    cache.put(Check(f"https://{tag}.example/{i}", "ok", "application/pdf"), time.time())
    if i % 20 == 19:
        cache.save()
"""


def test_two_runs_sharing_a_cache_lose_nothing(tmp_path):
    import subprocess
    import sys

    cache, go = tmp_path / "links.json", tmp_path / "go"
    cache.write_text(json.dumps({"https://old.example/1": VALID}), encoding="utf-8")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cache), tag, str(tmp_path / tag), str(go)]
        )
        for tag in ("a", "b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / t).exists() for t in ("a", "b")) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    saved = json.loads(cache.read_text(encoding="utf-8"))
    # 400 from each run, saved 20 times each in turns, plus the one entry that was there before.
    assert len(saved) == 801
    assert {f"https://{t}.example/{i}" for t in "ab" for i in range(400)} <= set(saved)
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".links.json.*"))


def test_the_cache_file_gets_the_umask_permissions(tmp_path):
    import os

    old = os.umask(0o027)
    try:
        cache = LinkCache(tmp_path / "sub" / "links.json", 3600)
        cache.put(Check("https://a.example/x", OK), 1.0)
        cache.save()
    finally:
        os.umask(old)
    assert (tmp_path / "sub" / "links.json").stat().st_mode & 0o777 == 0o640  # 0o666 & ~0o027


def test_the_link_cache_makes_monevs_cache_folder_for_its_owner_only(tmp_path, monkeypatch):
    """Under a umask of 002 the link cache made ~/.cache/monev group-writable, and from then on
    the secret, the read cache and the compiled templates were off for good, without a word
    (found by a cold review): its folder is made 0700."""
    import os

    from monev.evidence import default_cache_path
    from monev.resources import private_folder, user_secret

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    old = os.umask(0o002)
    try:
        path = default_cache_path()
        assert path == tmp_path / "xdg" / "monev" / "links.json"
        cache = LinkCache(path, 3600)
        cache.put(Check("https://a.example/x", OK), 1.0)
        cache.save()
    finally:
        os.umask(old)
    assert (tmp_path / "xdg" / "monev").stat().st_mode & 0o777 == 0o700
    assert private_folder(tmp_path / "xdg" / "monev") and user_secret() is not None


def test_a_relative_cache_home_gives_the_link_cache_no_file_under_the_working_folder(
    tmp_path, monkeypatch
):
    from monev.evidence import default_cache_path

    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / ".cache" / "monev" / "links.json"
