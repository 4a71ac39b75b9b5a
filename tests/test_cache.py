"""Issue 13 item 2: the render cache re-renders only the PDFs whose content changed.

Renders are counted with ``MONEV_RENDER_LOG``: each real WeasyPrint rendering (in whichever worker
process) appends ``office <index>`` or ``city 0`` to that file; a PDF taken from the cache adds
nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import DEMO
from pypdf import PdfReader

from monev.cli import main
from monev.render_cache import INDEX, SUBDIR, RenderCache, cache_key, code_identity, input_key
from monev.results import PUBLIC_RESULTS

DAY = dt.date(2024, 11, 13)
EPOCH = "1731456000"  # 2024-11-13 00:00:00 UTC = 20,040 days * 86,400 s


# --- the cache on its own (no PDF) -------------------------------------------------------------


def test_a_key_changes_with_every_part_of_a_pdf():
    base = cache_key("env", DAY, "<p>x</p>", ("a.json", "{}"))
    assert base == cache_key("env", DAY, "<p>x</p>", ("a.json", "{}"))  # same parts, same key
    others = [
        cache_key("env2", DAY, "<p>x</p>", ("a.json", "{}")),  # stylesheet, fonts, WeasyPrint
        cache_key("env", DAY + dt.timedelta(days=1), "<p>x</p>", ("a.json", "{}")),
        cache_key("env", DAY, "<p>y</p>", ("a.json", "{}")),
        cache_key("env", DAY, "<p>x</p>", ("b.json", "{}")),
        cache_key("env", DAY, "<p>x</p>", ("a.json", "{ }")),
        cache_key("env", DAY, "<p>x</p>"),
        # Parts are length-prefixed: moving text from the HTML into the attachment is a change.
        cache_key("env", DAY, "<p>x</p>a.json", ("", "{}")),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_the_stylesheet_is_part_of_every_key(tmp_path, monkeypatch):
    import monev.render_cache as rc

    (tmp_path / "report.css").write_text("html { font-size: 8.5pt; }", "utf-8")
    monkeypatch.setattr(rc, "data_dir", lambda name: tmp_path)
    before = rc.environment()
    assert rc.environment() == before
    (tmp_path / "report.css").write_text("html { font-size: 9pt; }", "utf-8")
    assert rc.environment() != before


def test_a_corrupt_cached_file_or_index_is_never_trusted(tmp_path):
    cache = RenderCache.open(tmp_path, env="e")
    k1, k2 = cache_key("e", DAY, "one"), cache_key("e", DAY, "two")
    cache.put(k1, b"%PDF one")
    cache.put(k2, b"%PDF two")
    cache.save()
    again = RenderCache.open(tmp_path, env="e")
    assert again.get(k1) == b"%PDF one"
    (tmp_path / SUBDIR / f"{k1}.pdf").write_bytes(b"%PDF 0ne")  # one byte changed
    assert again.get(k1) is None  # the sha256 no longer matches the index entry
    (tmp_path / SUBDIR / f"{k2}.pdf").write_bytes(b"%PDF tw")  # truncated
    assert again.get(k2) is None
    (tmp_path / SUBDIR / INDEX).write_text("{not json", "utf-8")
    assert RenderCache.open(tmp_path, env="e").entries == {}


def test_the_cache_keeps_only_what_the_last_run_used(tmp_path):
    cache = RenderCache.open(tmp_path, env="e")
    keys = [cache_key("e", DAY, str(n)) for n in range(3)]
    for n, k in enumerate(keys):
        cache.put(k, b"pdf %d" % n)
    cache.save()
    second = RenderCache.open(tmp_path, env="e")
    second.keep(keys[0])  # the next run reuses one PDF and renders a new one
    new = cache_key("e", DAY, "new")
    second.put(new, b"pdf new")
    (tmp_path / SUBDIR / ".monev-0123456789ab.tmp").write_bytes(b"left by an interrupted run")
    (tmp_path / SUBDIR / "notes.pdf").write_bytes(b"not the cache's: never removed")
    second.save()
    assert sorted(p.name for p in (tmp_path / SUBDIR).iterdir()) == sorted(
        [INDEX, f"{keys[0]}.pdf", f"{new}.pdf", "notes.pdf"]
    )
    index = json.loads((tmp_path / SUBDIR / INDEX).read_text("utf-8"))
    assert index["entries"][new]["sha256"] == hashlib.sha256(b"pdf new").hexdigest()


def test_an_input_maps_to_a_pdf_only_while_that_pdf_verifies(tmp_path):
    """The second level (render input -> PDF key) never points at a stale or corrupt PDF."""
    cache = RenderCache.open(tmp_path, env="e")
    key = cache_key("e", DAY, "<p>dinkes</p>")
    given = input_key("e", "code", DAY, "id", b"dinkes")
    cache.put(key, b"%PDF dinkes")
    cache.link(given, key)
    cache.link(input_key("e", "code", DAY, "id", b"gone"), cache_key("e", DAY, "gone"))
    cache.save()
    index = json.loads((tmp_path / SUBDIR / INDEX).read_text("utf-8"))
    assert index["inputs"] == {given: key}  # a mapping to a PDF the run did not keep is dropped
    again = RenderCache.open(tmp_path, env="e")
    assert again.lookup(given) == (key, b"%PDF dinkes")
    assert again.lookup(input_key("e", "code", DAY, "en", b"dinkes")) is None  # other language
    (tmp_path / SUBDIR / f"{key}.pdf").write_bytes(b"%PDF dinkez")  # edited after the run
    assert again.lookup(given) is None
    index["inputs"] = {given: "not a key", "x": key}
    (tmp_path / SUBDIR / INDEX).write_text(json.dumps(index), "utf-8")
    assert RenderCache.open(tmp_path, env="e").inputs == {}
    index["inputs"] = [given, key]  # not a mapping at all
    (tmp_path / SUBDIR / INDEX).write_text(json.dumps(index), "utf-8")
    assert RenderCache.open(tmp_path, env="e").inputs == {}


def test_an_input_key_changes_with_a_message_or_monevs_code(tmp_path):
    import monev

    package = Path(monev.__file__).parent
    for path in [*package.glob("*.py"), package / "messages.yaml"]:
        shutil.copy(path, tmp_path / path.name)
    before = code_identity(tmp_path)
    assert before == code_identity(package)  # the same files, the same identity
    messages = tmp_path / "messages.yaml"
    text = messages.read_text("utf-8")
    assert "Laporan" in text
    messages.write_text(text.replace("Laporan", "Lap0ran", 1), "utf-8")  # one message edited
    edited = code_identity(tmp_path)
    assert edited != before
    messages.write_text(text, "utf-8")
    (tmp_path / "plan.py").write_text((package / "plan.py").read_text("utf-8") + "\n", "utf-8")
    assert code_identity(tmp_path) not in (before, edited)
    assert input_key("e", before, DAY, "id", b"o") != input_key("e", edited, DAY, "id", b"o")


def test_an_input_key_changes_with_the_libraries_that_make_the_html(monkeypatch):
    # A Babel (number and date formats), Jinja2, MarkupSafe, msgspec or PyYAML upgrade changes
    # an office's HTML or attachment without changing monev's code: the input-level key, which
    # skips the HTML, must change too (found by a cold review).
    import monev.render_cache as rc

    before = rc.code_identity()
    for dist in ("babel", "jinja2", "markupsafe", "msgspec", "pyyaml"):
        monkeypatch.setattr(rc, "_version", lambda d, dist=dist: "99" if d == dist else "1")
        changed = rc.code_identity()
        monkeypatch.setattr(rc, "_version", lambda d: "1")
        assert changed != rc.code_identity() != before, dist


@pytest.mark.pdf
def test_a_rubric_without_a_file_hash_skips_the_input_level(tmp_path, rubric):
    # Two rubrics made in code share id and version with an empty sha256: their offices'
    # inputs could not be told apart, so only the HTML-level key (which sees every figure)
    # serves them.
    from monev.batch import score_paths
    from monev.report import render_reports

    files = [DEMO / "dinkes.xlsx"]
    made = rubric.model_copy()
    made._sha256 = ""  # as a Rubric(...) built in code has it
    run = score_paths(files, made)
    cache = tmp_path / "cache"
    render_reports(run, tmp_path / "a", cache=cache)
    (found,) = cache.rglob(INDEX)
    index = json.loads(found.read_text("utf-8"))
    assert index["entries"] and not index["inputs"]  # PDFs cached, no render input recorded


def test_attaching_files_to_cached_pages_is_reproducible():
    """kota.pdf = its pages (cached) + its attachments (added after each run): the same
    pages and files give the same bytes, and the files read back whole, with their dates."""
    from pypdf import PdfWriter

    from monev.report import attach_files

    blank = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.write(blank)
    files = (("results-publik.json", '{"skor": "94,74"}\n'), ("r.yaml", "a: é\n"))
    one = attach_files(blank.getvalue(), files, DAY, b"1" * 32)
    assert one == attach_files(blank.getvalue(), files, DAY, b"1" * 32)
    assert one.startswith(blank.getvalue())  # an incremental update: the pages' bytes stay
    other = attach_files(blank.getvalue(), files[:1], DAY, b"2" * 32)
    assert other != one
    pdf = PdfReader(io.BytesIO(one))
    assert {n: d[0].decode("utf-8") for n, d in pdf.attachments.items()} == dict(files)
    assert pdf.trailer["/ID"][1] == "1" * 32  # the part that changes with each version
    spec = pdf.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
    assert spec["/EF"]["/F"].get_object()["/Params"]["/ModDate"] == "D:20241113000000Z"
    # The file's type, as WeasyPrint gives it: the name decodes to application/json (it was
    # escaped twice: "application#2Fjson" read back, "#232F" in the file).
    first = pdf.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"][1].get_object()
    assert first["/EF"]["/F"].get_object()["/Subtype"] == "/application/json"


# --- monev score, twice ------------------------------------------------------------------------


def _renders(log: Path) -> list[str]:
    lines = log.read_text("utf-8").splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return sorted(lines)


def _pdfs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.pdf"))}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _score(inputs: Path, out: Path, *extra: str) -> None:
    assert main(["score", str(inputs), "--out", str(out), "-q", "-j", "2", *extra]) == 0


@pytest.mark.pdf
def test_a_second_run_renders_only_what_changed_and_gives_the_same_bytes(tmp_path, monkeypatch):
    log, built = tmp_path / "renders.log", tmp_path / "html.log"
    monkeypatch.setenv("MONEV_RENDER_LOG", str(log))
    monkeypatch.setenv("MONEV_HTML_LOG", str(built))  # the final HTML built, report by report
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    # Sorted by score, dinkes is office 0 and diskominfotik office 1 (see their ranks below).
    for name in ("dinkes.xlsx", "diskominfotik.xlsx"):
        shutil.copy(DEMO / name, inputs / name)

    _score(inputs, out)
    assert _renders(log) == ["city 0", "office 0", "office 1"]  # nothing cached yet
    assert _renders(built) == ["city 0", "office 0", "office 1"]
    first = _pdfs(out)

    _score(inputs, out)
    assert _renders(log) == []  # nothing changed: every PDF from the cache
    # ... and no office's HTML is even built: their render inputs are those of cached PDFs.
    # The city report's HTML is (it is cheap, and its attachments are made anew each run).
    assert _renders(built) == ["city 0"]
    assert _pdfs(out) == first

    # A corrected evidence link: diskominfotik's report and its sha256 in kota.pdf's attached
    # results change, no score and no rank moves, dinkes' report is the same. kota.pdf's pages
    # show figures only (no workbook's sha256): they come from the cache, only the attachments
    # are new.
    wb = openpyxl.load_workbook(inputs / "diskominfotik.xlsx")
    ws = wb["Kuesioner"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "JI-01")
    evidence = ws.cell(row=cell.row, column=6)
    assert str(evidence.value).startswith("https://")
    evidence.value = str(evidence.value) + "-diperbaiki"
    wb.save(inputs / "diskominfotik.xlsx")
    results = json.loads((out / "results.json").read_text("utf-8"))
    ranks = [(o["file"], o["rank"]) for o in results["offices"]]

    _score(inputs, out)
    diskominfotik = [o["file"] for o in results["offices"]].index("diskominfotik.xlsx")
    assert _renders(log) == [f"office {diskominfotik}"]
    assert _renders(built) == ["city 0", f"office {diskominfotik}"]  # dinkes' HTML not built
    results = json.loads((out / "results.json").read_text("utf-8"))
    assert [(o["file"], o["rank"]) for o in results["offices"]] == ranks
    cached = _pdfs(out)
    assert cached["kantor/dinas-kesehatan.pdf"] == first["kantor/dinas-kesehatan.pdf"]
    assert (
        cached["kantor/dinas-komunikasi-informatika-dan-statistik.pdf"]
        != first["kantor/dinas-komunikasi-informatika-dan-statistik.pdf"]
    )
    assert cached["kota.pdf"] != first["kota.pdf"]  # the new sha256, in the attached results
    attached = json.loads(PdfReader(io.BytesIO(cached["kota.pdf"])).attachments[PUBLIC_RESULTS][0])
    sha = {o["file"]: o["sha256"] for o in attached["offices"]}
    assert sha["diskominfotik.xlsx"] == _sha256(inputs / "diskominfotik.xlsx")

    # --no-cache renders every PDF again, and the bytes are those the cache gave.
    _score(inputs, out, "--no-cache")
    assert _renders(log) == ["city 0", "office 0", "office 1"]
    assert _renders(built) == ["city 0", "office 0", "office 1"]
    assert _pdfs(out) == cached

    # A cached file changed on disk is detected by its sha256 and made again. The cache holds
    # this run's PDFs only (the replaced ones were dropped): 2 offices, kota.pdf and its pages.
    index = json.loads((out / ".cache" / SUBDIR / INDEX).read_text("utf-8"))
    assert len(index["entries"]) == 4
    folder = out / ".cache" / SUBDIR
    by_sha = {v["sha256"]: folder / f"{k}.pdf" for k, v in index["entries"].items()}
    whole = by_sha.pop(hashlib.sha256(cached["kota.pdf"]).hexdigest())
    for name, pdf in cached.items():
        if name.startswith("kantor/"):
            del by_sha[hashlib.sha256(pdf).hexdigest()]
    (pages,) = by_sha.values()  # the one entry left: kota.pdf's pages, without attachments
    _corrupt(whole)
    _score(inputs, out)
    assert _renders(log) == []  # the pages were still good: only attached again
    assert _pdfs(out) == cached
    _corrupt(whole)
    _corrupt(pages)
    _score(inputs, out)
    assert _renders(log) == ["city 0"]
    assert _pdfs(out) == cached


def _corrupt(path: Path) -> None:
    """One byte of a cached file changed (a new file: cached PDFs are hard links to the output
    files, which monev's manifest would find edited)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.unlink()
    path.write_bytes(bytes(data))


@pytest.mark.pdf
def test_an_edited_template_renders_every_pdf_again(tmp_path, monkeypatch):
    """The render inputs of unchanged offices are those of the cached PDFs, but the office
    template changed: each PDF is made again, with the new template (never a stale copy)."""
    import monev.render_cache
    import monev.report
    from monev.resources import data_dir

    reports = tmp_path / "reports"
    shutil.copytree(data_dir("reports"), reports)
    for module in (monev.report, monev.render_cache):
        monkeypatch.setattr(module, "data_dir", lambda name: reports)
    monev.report._env.cache_clear()
    log = tmp_path / "renders.log"
    monkeypatch.setenv("MONEV_RENDER_LOG", str(log))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    shutil.copy(DEMO / "dinkes.xlsx", inputs / "dinkes.xlsx")
    try:
        _score(inputs, out)
        assert _renders(log) == ["city 0", "office 0"]
        first = _pdfs(out)["kantor/dinas-kesehatan.pdf"]
        template = reports / "office.html.j2"
        text = template.read_text("utf-8")
        assert text.count("<body>") == 1
        template.write_text(text.replace("<body>", "<body>\n<p>Templat baru</p>"), "utf-8")
        monev.report._env.cache_clear()  # a new process would compile the new template
        _score(inputs, out)
        assert _renders(log) == ["city 0", "office 0"]  # the key of every report changed
        again = _pdfs(out)["kantor/dinas-kesehatan.pdf"]
        assert again != first
        assert "Templat baru" in PdfReader(io.BytesIO(again)).pages[0].extract_text()
    finally:
        monev.report._env.cache_clear()


@pytest.mark.parametrize("link", [".cache", ".cache/pdf"])
def test_a_cache_folder_that_is_a_link_is_not_used_and_nothing_is_removed_through_it(
    tmp_path, link
):
    """A link planted as the output folder's .cache (or .cache/pdf) made the cache write into,
    and remove every other file from, the folder it points to (found by a cold review)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.docx").write_bytes(b"years of work")
    out = tmp_path / "out"
    out.mkdir()
    if link == ".cache/pdf":
        (out / ".cache").mkdir()
    (out / link).symlink_to(victim, target_is_directory=True)
    cache = RenderCache.open(out / ".cache", env="e")
    assert not cache.usable and cache.entries == {}
    cache.put(cache_key("e", DAY, "x"), b"%PDF x")
    cache.save()
    assert sorted(p.name for p in victim.iterdir()) == ["thesis.docx"]


def test_a_pipe_planted_as_a_cached_pdf_or_index_does_not_hang_the_run(tmp_path):
    import os
    import threading

    cache = RenderCache.open(tmp_path, env="e")
    k = cache_key("e", DAY, "one")
    cache.put(k, b"%PDF one")
    cache.save()
    (tmp_path / SUBDIR / f"{k}.pdf").unlink()
    os.mkfifo(tmp_path / SUBDIR / f"{k}.pdf")
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(RenderCache.open(tmp_path, env="e").get(k)))
    reader.daemon = True
    reader.start()
    reader.join(10)
    assert got == [None]  # returned at once, nothing read
    (tmp_path / SUBDIR / INDEX).unlink()
    os.mkfifo(tmp_path / SUBDIR / INDEX)
    opened: list[object] = []
    reader = threading.Thread(target=lambda: opened.append(RenderCache.open(tmp_path, env="e")))
    reader.daemon = True
    reader.start()
    reader.join(10)
    assert len(opened) == 1 and opened[0].entries == {}


def test_a_planted_pdf_and_index_entry_is_never_published(tmp_path):
    """The index was not signed: anyone who can write a shared output folder could plant a PDF
    with its sha256 and size and map an office's render input to it; the next run published it
    without rendering (found by a cold review). Entries and mappings now carry an HMAC with the
    user's secret; the cache's own entries are still used."""
    cache = RenderCache.open(tmp_path, env="e")
    own, forged, ik = cache_key("e", DAY, "own"), "cd" * 32, "ab" * 32
    cache.put(own, b"%PDF own")
    cache.link(ik, own)
    cache.save()
    again = RenderCache.open(tmp_path, env="e")
    assert again.lookup(ik) == (own, b"%PDF own")  # signed by this user: used
    fake = b"%PDF-1.7 forged report: skor 100"
    (tmp_path / SUBDIR / f"{forged}.pdf").write_bytes(fake)
    index = json.loads((tmp_path / SUBDIR / INDEX).read_text("utf-8"))
    entry = {"sha256": hashlib.sha256(fake).hexdigest(), "size": len(fake)}
    index["entries"][forged] = {**entry, "mac": "0" * 64}
    index["inputs"][ik] = forged
    (tmp_path / SUBDIR / INDEX).write_text(json.dumps(index), "utf-8")
    planted = RenderCache.open(tmp_path, env="e")
    assert forged not in planted.entries and planted.lookup(ik) is None
    assert planted.get(own) == b"%PDF own"  # the cache's own entry is still good


def test_without_a_secret_the_render_cache_is_not_used(tmp_path, monkeypatch):
    import monev.resources

    monkeypatch.setattr(monev.resources, "user_secret", lambda: None)
    cache = RenderCache.open(tmp_path, env="e")
    assert not cache.usable
    cache.put(cache_key("e", DAY, "x"), b"%PDF x")
    cache.save()
    assert not (tmp_path / SUBDIR).exists()
