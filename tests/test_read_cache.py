"""Issue 13 item 2: a re-run reads only the workbooks that changed (monev.read_cache).

Reads are counted by wrapping the worker's task (``monev.batch._score_task``): the workers are
forked from this process and look the task up by name, so each workbook read appends its name
to a log file.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from conftest import DEMO

import monev.batch
from monev.batch import score_paths
from monev.read_cache import INDEX, SUBDIR, ReadCache, secret_path
from monev.resources import data_dir
from monev.rubric import load_rubric

DAY = dt.date(2024, 11, 13)


@pytest.fixture
def reads(tmp_path, monkeypatch):
    """The log of workbooks read; read and emptied by calling the fixture's value."""
    log = tmp_path / "reads.log"
    task = monev.batch._score_task

    @functools.wraps(task)
    def counted(item):
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(item[1] + "\n")
        return task(item)

    monkeypatch.setattr(monev.batch, "_score_task", counted)

    def taken() -> list[str]:
        lines = sorted(log.read_text("utf-8").splitlines()) if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    return taken


@pytest.fixture
def inputs(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("dinkes.xlsx", "diskominfotik.xlsx", "kel-kepel.xlsx"):
        shutil.copy(DEMO / name, folder / name)
    return folder


def _json(run) -> str:
    return run.to_json("id")


def _score(inputs: Path, cache: Path | None, rubric=None, **kw) -> str:
    """A run with the read cache in ``cache`` (the output folder's ``.cache``), saved after."""
    rubric = rubric or load_rubric("ki-jatim-2024")
    store = ReadCache.open(cache) if cache is not None else None
    run = score_paths([inputs], rubric, jobs=2, as_of=DAY, cache=store, **kw)
    if store is not None:
        store.save()
    return _json(run)


def _correct_link(path: Path) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Kuesioner"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "JI-01")
    evidence = ws.cell(row=cell.row, column=6)
    evidence.value = str(evidence.value) + "-diperbaiki"
    wb.save(path)


ALL = ["dinkes.xlsx", "diskominfotik.xlsx", "kel-kepel.xlsx"]


def test_a_rerun_reads_only_the_workbook_that_changed(tmp_path, inputs, reads):
    cache = tmp_path / ".cache"
    plain = _score(inputs, None)
    assert reads() == ALL
    assert _score(inputs, cache) == plain  # the same results, byte for byte
    assert reads() == ALL  # nothing cached yet
    assert _score(inputs, cache) == plain
    assert reads() == []  # nothing changed: nothing read
    assert len(json.loads((cache / SUBDIR / INDEX).read_text("utf-8"))["entries"]) == 3

    _correct_link(inputs / "diskominfotik.xlsx")
    changed = _score(inputs, cache)
    assert reads() == ["diskominfotik.xlsx"]
    assert changed == _score(inputs, None)  # what a run without the cache gives
    reads()
    assert changed != plain  # the new sha256 of diskominfotik.xlsx
    # The cache holds this run's results only: the old diskominfotik entry is gone.
    assert len(list((cache / SUBDIR).glob("*.pickle"))) == 3


def test_a_corrupt_or_foreign_entry_is_never_loaded(tmp_path, inputs, reads):
    cache = tmp_path / ".cache"
    plain = _score(inputs, cache)
    reads()
    index = json.loads((cache / SUBDIR / INDEX).read_text("utf-8"))
    first, *_ = sorted(index["entries"])
    pickled = cache / SUBDIR / f"{first}.pickle"
    data = bytearray(pickled.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pickled.write_bytes(bytes(data))
    assert _score(inputs, cache) == plain
    assert len(reads()) == 1  # that one read again; the others verified
    assert _score(inputs, cache) == plain
    assert reads() == []  # and written anew

    (cache / SUBDIR / INDEX).write_text("{not json", "utf-8")
    assert _score(inputs, cache) == plain
    assert reads() == ALL  # an index that cannot be read: nothing trusted

    # Entries made under another user's secret (a shared output folder): never unpickled.
    secret = secret_path()
    assert secret is not None and secret.exists()
    secret.write_bytes(b"\x01" * 32)
    assert _score(inputs, cache) == plain
    assert reads() == ALL


def test_the_rubric_and_the_read_options_are_part_of_the_key(tmp_path, inputs, reads):
    cache = tmp_path / ".cache"
    _score(inputs, cache)
    reads()
    # The same rules in another file (a comment more): another sha256, everything read again.
    copy = tmp_path / "rubrik.yaml"
    copy.write_text(
        (data_dir("scoring_rules") / "ki-jatim-2024.yaml").read_text("utf-8") + "\n# salinan\n",
        "utf-8",
    )
    _score(inputs, cache, rubric=load_rubric(copy))
    assert reads() == ALL
    _score(inputs, cache, rubric=load_rubric(copy))
    assert reads() == []
    _score(inputs, cache, rubric=load_rubric(copy), verifier_from_workbooks=True)
    assert reads() == ALL  # another read option


def test_a_rubric_made_in_code_is_never_cached(tmp_path, inputs, reads, rubric):
    made = rubric.model_copy()
    made._sha256 = ""  # as a rubric built in code: no file, no file hash
    cache = tmp_path / ".cache"
    _score(inputs, cache, rubric=made)
    _score(inputs, cache, rubric=made)
    assert reads() == sorted(ALL + ALL)  # read by both runs
    assert not (cache / SUBDIR).exists()


def test_only_a_cached_run_with_pdfs_uses_the_read_cache(tmp_path, inputs, monkeypatch, rubric):
    """--no-cache reads every workbook; --no-pdf runs (thousands of workbooks) write no cache."""
    import monev.run
    from monev.run import RunSettings, run_score

    seen: list[Path | None] = []

    class Stop(Exception):
        pass

    def scored(paths, rb, **kw):
        seen.append(kw.get("cache"))
        raise Stop

    monkeypatch.setattr(monev.run, "score_paths", scored)
    for pdf, cache in ((True, True), (True, False), (False, True)):
        with pytest.raises(Stop):
            run_score([inputs], rubric, RunSettings(out=tmp_path / "out", pdf=pdf, cache=cache))
    # A run checking links reads every workbook; it took the cache, saved it empty and so
    # removed the previous run's entries (found by a cold review).
    from monev.evidence import LinkChecker

    with pytest.raises(Stop):
        run_score([inputs], rubric, RunSettings(out=tmp_path / "out", links=LinkChecker()))
    assert isinstance(seen[0], ReadCache) and seen[0].folder.parent.name == ".cache"
    assert seen[1:] == [None, None, None]


@pytest.mark.pdf
def test_a_run_in_which_nothing_changed_does_not_even_import_weasyprint(tmp_path, inputs):
    """Every workbook from the read cache and every PDF from the render cache: the run neither
    reads nor renders, so it does not pay WeasyPrint's import (about 0.3 s); same bytes."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    out = tmp_path / "out"
    code = (
        "import sys; from monev.cli import main; "
        f"rc = main(['score', {str(inputs)!r}, '--out', {str(out)!r}, '-q', '-j', '1']); "
        "print(rc, 'weasyprint' in sys.modules)"
    )
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1731456000"}

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
        )
        return done.stdout.splitlines()[-1]

    assert run() == "0 True"  # the first run renders
    first = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.pdf"))}
    assert run() == "0 False"
    assert {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.pdf"))} == first


def test_a_fifo_or_an_oversized_file_is_never_read_for_a_key(tmp_path, monkeypatch):
    """The parent hashes workbooks for their keys: a FIFO would block it, a huge file fill its
    memory. Neither gets a key (the sandboxed reader rejects them)."""
    import os
    import threading

    from monev import limits

    cache = ReadCache.open(tmp_path / ".cache")
    assert cache is not None
    fifo = tmp_path / "pipa.xlsx"
    os.mkfifo(fifo)
    got: list = []  # in a thread: a regression would block on the FIFO, not hang the tests
    reader = threading.Thread(target=lambda: got.append(cache.key(fifo, "pipa.xlsx")), daemon=True)
    reader.start()
    reader.join(30)  # a generous bound: it returns at once (no writer ever opens the FIFO)
    assert got == [None]
    big = tmp_path / "besar.xlsx"
    big.write_bytes(b"x" * 2048)
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1024)
    assert cache.key(big, "besar.xlsx") is None
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 4096)
    key = cache.key(big, "besar.xlsx")
    assert key is not None and key[1] == hashlib.sha256(b"x" * 2048).hexdigest()


# --- a cold review's findings ------------------------------------------------------------------


def _entries(cache: Path) -> dict[str, str]:
    """Each entry's key -> the file its result is of (the test reads its own cache's pickles)."""
    import pickle

    folder = cache / SUBDIR
    index = json.loads((folder / INDEX).read_text("utf-8"))["entries"]
    return {k: pickle.loads((folder / f"{k}.pickle").read_bytes()).file for k in index}


def test_an_entry_copied_onto_another_workbooks_key_is_never_used(tmp_path, inputs, reads):
    """The review made the PPID Utama vanish from the ranking: kel-kepel's entry (file and
    index line, HMAC and all) copied onto diskominfotik's key was loaded as diskominfotik's."""
    import shutil as sh

    cache = tmp_path / ".cache"
    plain = _score(inputs, cache)
    reads()
    folder = cache / SUBDIR
    by_file = {f: k for k, f in _entries(cache).items()}
    victim, source = by_file["diskominfotik.xlsx"], by_file["kel-kepel.xlsx"]
    index = json.loads((folder / INDEX).read_text("utf-8"))
    index["entries"][victim] = dict(index["entries"][source])
    (folder / INDEX).write_text(json.dumps(index), "utf-8")
    sh.copy(folder / f"{source}.pickle", folder / f"{victim}.pickle")
    assert _score(inputs, cache) == plain  # before: diskominfotik ranked as kel-kepel
    assert reads() == ["diskominfotik.xlsx"]

    # Even an entry whose HMAC is right for the key (made with the secret) is used only when
    # it is the result of that workbook (its sha256 and display name).
    store = ReadCache.open(cache)
    assert store is not None
    data = (folder / f"{source}.pickle").read_bytes()
    index = json.loads((folder / INDEX).read_text("utf-8"))
    index["entries"][victim] = {"mac": store._mac(victim, data), "size": len(data)}
    (folder / INDEX).write_text(json.dumps(index), "utf-8")
    (folder / f"{victim}.pickle").write_bytes(data)
    assert _score(inputs, cache) == plain
    assert reads() == ["diskominfotik.xlsx"]


@pytest.mark.parametrize("link", [".cache", ".cache/read"])
def test_a_link_as_the_cache_folder_is_never_used_nor_emptied(tmp_path, inputs, reads, link):
    """The review lost a thesis: ``.cache/read`` linked to a folder of documents, and the cache
    removed every file there that was not one of its entries."""
    docs = tmp_path / "dokumen"
    docs.mkdir()
    (docs / "skripsi.docx").write_bytes(b"bab 1")
    (docs / "read").mkdir()
    (docs / "read" / "skripsi.docx").write_bytes(b"bab 1")
    cache = tmp_path / ".cache"
    if link == ".cache":
        cache.symlink_to(docs)
    else:
        cache.mkdir()
        (cache / SUBDIR).symlink_to(docs)
    plain = _score(inputs, None)
    reads()
    assert _score(inputs, cache) == plain
    assert _score(inputs, cache) == plain
    assert reads() == sorted(ALL + ALL)  # no cache through a link
    assert (docs / "skripsi.docx").read_bytes() == b"bab 1"
    assert (docs / "read" / "skripsi.docx").read_bytes() == b"bab 1"
    assert sorted(p.name for p in docs.rglob("*")) == ["read", "skripsi.docx", "skripsi.docx"]


def test_only_the_caches_own_files_are_removed(tmp_path, inputs, reads):
    cache = tmp_path / ".cache"
    _score(inputs, cache)
    folder = cache / SUBDIR
    (folder / "catatan.txt").write_text("mine")
    stale = folder / f"{'0' * 64}.pickle"
    stale.write_bytes(b"an entry no run uses")
    (folder / ".monev-0123456789ab.tmp").write_bytes(b"half written")
    _score(inputs, cache)
    assert (folder / "catatan.txt").read_text() == "mine"  # before: removed
    assert not stale.exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["catatan.txt", INDEX, *(f"{k}.pickle" for k in _entries(cache))]
    )


def _in_thread(fn):
    """``fn()``'s value, or "blocked" when it has not returned after 30 s (generous: it returns
    at once; a regression blocks on a pipe, not the whole test session)."""
    import threading

    got: list = []
    worker = threading.Thread(target=lambda: got.append(fn()), daemon=True)
    worker.start()
    worker.join(30)
    return got[0] if got else "blocked"


def test_a_planted_index_or_pipe_never_breaks_nor_blocks_the_run(tmp_path, inputs, reads):
    import os

    cache = tmp_path / ".cache"
    plain = _score(inputs, cache)
    reads()
    folder = cache / SUBDIR
    index = json.loads((folder / INDEX).read_text("utf-8"))
    good = dict(index["entries"])
    # A mac that is not 64 hex digits (hmac.compare_digest raised TypeError: exit 3 every run).
    index["entries"] = {k: {**v, "mac": "é" * 64} for k, v in good.items()}
    (folder / INDEX).write_text(json.dumps(index), "utf-8")
    assert _score(inputs, cache) == plain
    assert reads() == ALL  # read again and cached anew
    assert _score(inputs, cache) == plain
    assert reads() == []

    # A pipe under an entry's name, then under the index's: never opened for reading.
    key = sorted(good)[0]
    store = ReadCache.open(cache)
    assert store is not None
    (folder / f"{key}.pickle").unlink()
    os.mkfifo(folder / f"{key}.pickle")
    assert _in_thread(lambda: store.get(key, "0" * 64, "dinkes.xlsx")) is None
    (folder / INDEX).unlink()
    os.mkfifo(folder / INDEX)
    opened = _in_thread(lambda: ReadCache.open(cache))
    assert opened != "blocked" and opened.entries == {}


def test_a_workbook_that_ran_out_of_memory_is_read_again(tmp_path, inputs, reads, monkeypatch):
    """A MemoryError while opening a workbook is reported as MV101 with the file's sha256: it
    must not be kept, or the workbook stays rejected until its bytes change."""
    import monev.workbook

    opener = monev.workbook.open_book

    def short_of_memory(path, *args, **kwargs):
        if Path(path).name == "dinkes.xlsx":
            raise MemoryError
        return opener(path, *args, **kwargs)

    cache = tmp_path / ".cache"
    plain = _score(inputs, None)
    monkeypatch.setattr(monev.workbook, "open_book", short_of_memory)
    failed = json.loads(_score(inputs, cache))
    assert [r["file"] for r in failed["rejected"]] == ["dinkes.xlsx"]
    assert "MV101" in json.dumps(failed["rejected"])
    reads()
    monkeypatch.setattr(monev.workbook, "open_book", opener)
    assert _score(inputs, cache) == plain  # before: dinkes.xlsx still rejected
    assert reads() == ["dinkes.xlsx"]


def test_a_planted_size_never_makes_the_parent_read_a_big_file(
    tmp_path, inputs, reads, monkeypatch
):
    """The index is not signed: an entry's size raised to 400 MB over a sparse file of that size
    made the parent read and hash it all, for every workbook (found by a cold review)."""
    import monev.render_cache
    from monev.read_cache import MAX_ENTRY_BYTES
    from monev.render_cache import MAX_PDF_BYTES, RenderCache

    cache = tmp_path / ".cache"
    _score(inputs, cache)
    folder = cache / SUBDIR
    index = json.loads((folder / INDEX).read_text("utf-8"))
    key = sorted(index["entries"])[0]
    index["entries"][key]["size"] = 400_000_000
    (folder / INDEX).write_text(json.dumps(index), "utf-8")
    with open(folder / f"{key}.pickle", "r+b") as fh:
        fh.truncate(400_000_000)
    limits: list[int] = []
    real = monev.render_cache.read_regular
    monkeypatch.setattr(
        monev.render_cache, "read_regular", lambda p, n: (limits.append(n), real(p, n))[1]
    )
    store = ReadCache.open(cache)
    assert store is not None and store.get(key, "0" * 64, "dinkes.xlsx") is None
    assert limits[-1] <= MAX_ENTRY_BYTES
    pdfs = RenderCache.open(tmp_path / "pdfcache", env="e")
    pdfs.entries["a" * 64] = {"sha256": "b" * 64, "size": 10**12}
    assert pdfs.get("a" * 64) is None and limits[-1] <= MAX_PDF_BYTES


def test_the_key_names_the_libraries_that_validate_and_read_the_rubric(monkeypatch):
    """pydantic decides how a rubric's values are coerced, PyYAML what its file parses to: an
    upgrade of either must not serve results cached before it (found by a cold review)."""
    from importlib import metadata

    from monev.read_cache import _versions

    before = _versions()
    real = metadata.version
    for dist in ("pydantic", "pydantic-core", "PyYAML"):
        monkeypatch.setattr(
            metadata, "version", lambda d, dist=dist: "0.0" if d == dist else real(d)
        )
        assert _versions() != before, dist
