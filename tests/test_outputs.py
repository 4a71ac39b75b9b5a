"""One run's outputs, whole (issue 9 item 5): the output folder is checked before any work,
written as a staging folder beside ``--out`` and switched in at the end; monev only removes or
replaces files its manifest lists; a lock keeps a second run out; report names follow identity."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import DEMO, ROOT

from monev.cli import main
from monev.identity import office_key
from monev.inputs import collect
from monev.outputs import CACHE, MANIFEST, OutputError, OutputFolder, write_atomic
from monev.report import safe_name
from monev.results import write_outputs


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (manifest included) with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".monev-new-" in p.name or "-old-" in p.name)


def _run(out: Path, files: dict[str, bytes], inputs: tuple = ()) -> OutputFolder:
    """A complete 'run' writing ``files`` into ``out`` through the folder object."""
    folder = OutputFolder.open(out, inputs)
    for rel, data in files.items():
        write_atomic(folder.staging / rel, data)
    folder.commit()
    return folder


SET1 = {
    "results.json": b"{}\n",
    "kota.pdf": b"%PDF city 1",
    "kantor/a.pdf": b"%PDF a",
    "kantor/b.pdf": b"%PDF b",
    "kantor/c.pdf": b"%PDF c",
}


# --- the switch ----------------------------------------------------------------------------------


def test_first_run_writes_its_files_and_a_manifest_listing_them(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["state"] == "complete" and manifest["monev"]
    # sha256 of b"%PDF a", computed independently of monev.
    assert manifest["files"]["kantor/a.pdf"] == {
        "sha256": hashlib.sha256(b"%PDF a").hexdigest(),
        "size": 6,
    }
    assert sorted(manifest["files"]) == sorted(SET1)
    assert {k: v for k, v in _tree(out).items() if k != MANIFEST} == SET1
    assert _leftovers(tmp_path) == []


def test_a_rerun_with_fewer_offices_leaves_exactly_its_own_files(tmp_path):
    """Old bug: a re-run with 3 offices left 27 stale PDFs beside its results.json."""
    out = tmp_path / "hasil"
    _run(out, SET1)
    _run(out, {"results.json": b"[]\n", "kantor/a.pdf": b"%PDF a2"})
    assert sorted(_tree(out)) == [MANIFEST, "kantor/a.pdf", "results.json"]
    assert (out / "kantor/a.pdf").read_bytes() == b"%PDF a2"
    assert _leftovers(tmp_path) == []


def test_an_aborted_run_leaves_the_previous_complete_set(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    before = _tree(out)
    with OutputFolder.open(out) as folder:
        write_atomic(folder.staging / "results.json", b"half")
        write_atomic(folder.staging / "kantor/a.pdf", b"new")
        # leaving the block without commit() is an interruption (an exception, Ctrl-C)
    assert _tree(out) == before
    assert _leftovers(tmp_path) == []


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    folder = OutputFolder.open(out)
    write_atomic(folder.staging / "kantor/a.pdf", b"half")
    folder.release()  # as if killed: the staging folder stays, the kernel drops the lock
    stranger = tmp_path / ".hasil.monev-new-1-feedbeef"  # not monev's: no manifest
    stranger.mkdir()
    (stranger / "keep.txt").write_text("mine")
    assert folder.staging.exists()
    _run(out, {"results.json": b"2"})
    assert not folder.staging.exists()
    assert (stranger / "keep.txt").read_text() == "mine"


def test_a_kill_between_the_two_renames_brings_the_previous_set_back(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    before = _tree(out)
    os.rename(out, tmp_path / ".hasil.monev-old-1-abcd")  # step 1 done, killed before step 2
    folder = OutputFolder.open(out)
    assert _tree(out) == before  # restored before any work
    folder.abort()
    assert _leftovers(tmp_path) == []


def test_a_kill_while_carrying_user_files_loses_none_of_them(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    (out / "catatan.txt").write_text("mine")
    os.rename(out, tmp_path / ".hasil.monev-old-1-abcd")  # steps 1 and 2 done, killed in 3
    _run(tmp_path / "baru", {"results.json": b"2"})
    os.rename(tmp_path / "baru", out)
    OutputFolder.open(out).abort()
    assert sorted(_tree(out)) == [MANIFEST, "catatan.txt", "results.json"]
    assert _leftovers(tmp_path) == []


def test_a_damaged_manifest_is_refused(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.bad_manifest"


def test_switch_failure_keeps_the_previous_set(tmp_path, monkeypatch):
    """Windows cannot rename a folder holding an open file: the old set must stay."""
    out = tmp_path / "hasil"
    _run(out, SET1)
    before = _tree(out)
    folder = OutputFolder.open(out)
    write_atomic(folder.staging / "results.json", b"new")
    real_rename = os.rename

    def rename(src, dst):
        if Path(src) == out:
            raise PermissionError(13, "The process cannot access the file")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputError) as err:
        folder.commit()
    assert err.value.key == "cli.out.switch_failed"
    assert _tree(out) == before and _leftovers(tmp_path) == []


# --- whose files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.txt", "foto.jpg"])
def test_a_non_empty_folder_monev_did_not_write_is_refused_untouched(tmp_path, name):
    out = tmp_path / "dokumen"
    out.mkdir()
    (out / name).write_text("mine")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.not_monev" and name in err.value.params["files"]
    assert _tree(out) == {name: b"mine"} and _leftovers(tmp_path) == []


def test_an_output_folder_of_an_earlier_release_gets_its_own_message(tmp_path):
    out = tmp_path / "hasil"
    out.mkdir()
    (out / "results.json").write_text('{\n  "monev_version": "0.1.0",\n  "offices": []\n}\n')
    (out / "kota.pdf").write_bytes(b"%PDF")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.legacy"
    assert sorted(_tree(out)) == ["kota.pdf", "results.json"]


def test_an_empty_existing_folder_is_fine(tmp_path):
    out = tmp_path / "kosong"
    out.mkdir()
    _run(out, {"results.json": b"1"})
    assert sorted(_tree(out)) == [MANIFEST, "results.json"]


def test_files_a_user_added_are_kept_and_carried_into_the_new_set(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    (out / "catatan.docx").write_bytes(b"user notes")
    (out / "kantor" / "surat.txt").write_bytes(b"letter")
    (out / "arsip" / "2023").mkdir(parents=True)
    _run(out, {"results.json": b"2", "kantor/a.pdf": b"a2"})
    assert (out / "arsip" / "2023").is_dir()
    tree = _tree(out)
    assert tree["catatan.docx"] == b"user notes" and tree["kantor/surat.txt"] == b"letter"
    assert "kantor/b.pdf" not in tree
    listed = json.loads(tree[MANIFEST])["files"]
    assert "catatan.docx" not in listed and "kantor/surat.txt" not in listed


def test_a_monev_file_changed_by_a_user_is_refused_before_any_work(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    (out / "kantor" / "a.pdf").write_bytes(b"annotated by the user")
    before = _tree(out)
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.changed" and err.value.params["files"] == "kantor/a.pdf"
    assert _tree(out) == before and _leftovers(tmp_path) == []


def test_a_user_file_named_kantor_is_refused_before_any_work(tmp_path):
    """Old bug: `out/kantor` as a file gave exit 3, once after results.json was written."""
    out = tmp_path / "hasil"
    _run(out, {"results.json": b"1"})
    (out / "kantor").write_text("a file, not a folder")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.conflict" and err.value.params["files"] == "kantor"


def test_a_user_file_where_the_new_set_writes_stops_the_switch(tmp_path):
    out = tmp_path / "hasil"
    _run(out, SET1)
    (out / "kantor" / "d.pdf").write_bytes(b"the user's own d.pdf")
    before = _tree(out)
    folder = OutputFolder.open(out)
    write_atomic(folder.staging / "kantor/d.pdf", b"monev's d.pdf")
    with pytest.raises(OutputError) as err:
        folder.commit()
    assert err.value.key == "cli.out.conflict" and err.value.params["files"] == "kantor/d.pdf"
    assert _tree(out) == before and _leftovers(tmp_path) == []


def test_the_cache_folder_is_carried_into_every_new_set(tmp_path):
    out = tmp_path / "hasil"
    folder = OutputFolder.open(out)
    assert folder.cache == folder.staging / CACHE  # no previous set: the cache starts here
    write_atomic(folder.cache / "office-1.pdf", b"cached render")
    folder.commit()
    assert (out / CACHE / "office-1.pdf").read_bytes() == b"cached render"
    folder = OutputFolder.open(out)
    assert folder.cache == out / CACHE  # a run reads and writes the current set's cache
    write_atomic(folder.cache / "office-2.pdf", b"second")
    write_atomic(folder.staging / "results.json", b"2")
    folder.commit()
    assert (out / CACHE / "office-1.pdf").read_bytes() == b"cached render"
    assert (out / CACHE / "office-2.pdf").read_bytes() == b"second"
    assert not any(k.startswith(CACHE) for k in json.loads((out / MANIFEST).read_text())["files"])
    assert _leftovers(tmp_path) == []


# --- the lock ------------------------------------------------------------------------------------


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "hasil"
    first = OutputFolder.open(out)
    with pytest.raises(OutputError) as err:
        OutputFolder.open(tmp_path / "." / "hasil")  # the same folder, spelled differently
    assert err.value.key == "cli.out.busy"
    assert (tmp_path / ".hasil.monev-lock").exists()
    first.commit()
    assert not (tmp_path / ".hasil.monev-lock").exists()  # no lock file left behind
    _run(out, {"results.json": b"2"})  # the lock went with the first run


def test_two_processes_one_folder_the_second_exits_2_with_the_lock_message(tmp_path):
    """Old bug: two runs at once both exited 0 (results.json of one, kota.pdf of the other)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(DEMO / "dinkes.xlsx", inputs)
    out = tmp_path / "hasil"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from monev.outputs import OutputFolder\n"
            "f = OutputFolder.open(sys.argv[1]); print('held', flush=True); sys.stdin.read()",
            str(out),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        second = subprocess.run(
            [sys.executable, "-m", "monev", "score", str(inputs), "--out", str(out), "--no-pdf"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    finally:
        holder.communicate("")  # the holder ends; its lock ends with it
    assert second.returncode == 2, second.stderr
    assert "Proses monev lain sedang menulis ke folder hasil" in second.stderr
    assert "Traceback" not in second.stderr and not (out / "results.json").exists()


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_files_and_folders_follow_the_umask(tmp_path, small_run, umask, file_mode, dir_mode):
    """Old bug: outputs were 0600 whatever the umask (tempfile.mkstemp)."""
    old = os.umask(umask)
    try:
        folder = OutputFolder.open(tmp_path / "hasil")
        write_outputs(small_run, folder.staging)
        write_atomic(folder.staging / "kantor" / "a.pdf", b"%PDF")
        folder.commit()
    finally:
        os.umask(old)
    out = tmp_path / "hasil"
    # 0o666 & ~0o022 = 0o644; 0o666 & ~0o027 = 0o640; folders 0o777 & ~umask.
    for rel in ("results.json", "ranking.csv", "rekap.xlsx", "kantor/a.pdf", MANIFEST):
        assert stat.S_IMODE((out / rel).stat().st_mode) == file_mode, rel
    for d in (out, out / "kantor"):
        assert stat.S_IMODE(d.stat().st_mode) == dir_mode, d


def test_write_atomic_follows_the_umask(tmp_path):
    """The root of the 0600 bug: tempfile.mkstemp ignores the umask."""
    from monev import results

    old = os.umask(0o022)
    try:
        results.write_atomic(tmp_path / "x" / "a.json", b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x" / "a.json").stat().st_mode) == 0o644  # 0o666 & ~0o022
    assert os.listdir(tmp_path / "x") == ["a.json"]  # no temporary file left


@pytest.fixture(scope="module")
def small_run(rubric):
    from monev.batch import score_paths

    return score_paths([DEMO / "dinkes.xlsx", DEMO / "kel-sebani.xlsx"], rubric)


# --- checked before any work ---------------------------------------------------------------------


def test_out_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "hasil").write_text("x")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(tmp_path / "hasil")
    assert err.value.key == "cli.out.not_folder"


def test_out_under_a_file_cannot_be_created(tmp_path):
    (tmp_path / "berkas").write_text("x")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(tmp_path / "berkas" / "hasil")
    assert err.value.key == "cli.out.under_file"
    assert err.value.params["file"] == str(tmp_path / "berkas")


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_a_read_only_out_is_refused(tmp_path):
    out = tmp_path / "hasil"
    _run(out, {"results.json": b"1"})
    out.chmod(0o555)
    try:
        with pytest.raises(OutputError) as err:
            OutputFolder.open(out)
    finally:
        out.chmod(0o755)
    assert err.value.key == "cli.out.read_only"


def test_a_read_only_out_is_refused_logic(tmp_path, monkeypatch):
    """The same check as above, run as root too: os.access is what says 'read-only'."""
    out = tmp_path / "hasil"
    _run(out, {"results.json": b"1"})
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != out and real_access(p, mode))
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.read_only" and _leftovers(tmp_path) == []


def test_a_folder_that_cannot_be_written_is_a_usage_error(tmp_path, monkeypatch):
    """Creating the staging folder fails (read-only parent, full disk): refused before work."""

    real_mkdir = Path.mkdir

    def mkdir(self, *a, **k):
        if ".monev-new-" in self.name:
            raise PermissionError(13, "Permission denied")
        return real_mkdir(self, *a, **k)

    out = tmp_path / "hasil"
    monkeypatch.setattr(Path, "mkdir", mkdir)
    with pytest.raises(OutputError) as err:
        OutputFolder.open(out)
    assert err.value.key == "cli.out.not_writable" and err.value.params["reason"] == (
        "Permission denied"
    )
    assert os.listdir(tmp_path) == []  # nothing left behind, the lock file included


def test_a_mount_point_is_refused():
    if not os.path.ismount("/proc"):
        pytest.skip("no /proc mount here")
    with pytest.raises(OutputError) as err:
        OutputFolder.open("/proc")
    assert err.value.key == "cli.out.mount"


def test_out_holding_an_input_file_is_refused(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xlsx").write_bytes(b"x")
    with pytest.raises(OutputError) as err:
        OutputFolder.open(tmp_path / "in", [tmp_path / "in" / "a.xlsx"])
    assert err.value.key == "cli.out.contains_input"


def test_out_inside_an_input_folder_needs_the_flag_and_never_equals_it(tmp_path):
    (tmp_path / "in").mkdir()
    with pytest.raises(OutputError) as err:
        OutputFolder.open(tmp_path / "in" / "hasil", [tmp_path / "in"])
    assert err.value.key == "cli.out_inside_input"
    OutputFolder.open(tmp_path / "in" / "hasil", [tmp_path / "in"], allow_inside_input=True).abort()
    with pytest.raises(OutputError) as err:
        OutputFolder.open(tmp_path / "in", [tmp_path / "in"], allow_inside_input=True)
    assert err.value.key == "cli.out.contains_input"


def test_folder_collection_skips_monev_output_folders(tmp_path):
    shutil.copy(DEMO / "dinkes.xlsx", tmp_path / "dinkes.xlsx")
    _run(tmp_path / "hasil", {"rekap.xlsx": b"PK", "results.json": b"{}"})
    assert collect([tmp_path]) == [tmp_path / "dinkes.xlsx"]


# --- the CLI: exit 2 before any work -----------------------------------------------------------


def _score(*args: str) -> int:
    return main(["score", *args, "--no-pdf", "--quiet", "--as-of", "2024-11-13"])


def test_cli_out_is_a_file_exit_2_before_any_work(tmp_path, capsys):
    """Old bug: exit 3 (a traceback-less crash) on `--out` that is a file."""
    (tmp_path / "hasil").write_text("x")
    assert _score(str(DEMO / "dinkes.xlsx"), "--out", str(tmp_path / "hasil")) == 2
    assert "adalah berkas, bukan folder" in capsys.readouterr().err
    assert (tmp_path / "hasil").read_text() == "x"


def test_cli_kantor_as_a_file_exit_2_before_any_work(tmp_path, capsys):
    out = tmp_path / "hasil"
    out.mkdir()
    (out / "kantor").write_text("x")
    assert _score(str(DEMO / "dinkes.xlsx"), "--out", str(out), "--lang", "en") == 2
    assert "is not a monev output folder" in capsys.readouterr().err
    assert sorted(_tree(out)) == ["kantor"]


def test_cli_never_wipes_the_users_current_folder(tmp_path, monkeypatch, capsys):
    (tmp_path / "skripsi.docx").write_bytes(b"a year of work")
    monkeypatch.chdir(tmp_path)
    assert _score(str(DEMO / "dinkes.xlsx"), "--out", ".") == 2
    assert "bukan folder hasil monev" in capsys.readouterr().err
    assert (tmp_path / "skripsi.docx").read_bytes() == b"a year of work"


def test_cli_out_that_holds_the_input_is_refused_and_outputs_are_never_inputs(tmp_path, capsys):
    """Old bug: `score in/a.xlsx --out in` was allowed, and the next `score in` rejected
    monev's own rekap.xlsx as an input."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(DEMO / "dinkes.xlsx", inputs / "a.xlsx")
    assert _score(str(inputs / "a.xlsx"), "--out", str(inputs)) == 2
    assert "berisi kuesioner" in capsys.readouterr().err
    out = inputs / "hasil"
    for _ in range(2):
        assert _score(str(inputs), "--out", str(out), "--allow-out-inside-input") == 0
    data = json.loads((out / "results.json").read_text())
    assert data["summary"]["received"] == 1 and data["rejected"] == []


# --- report file names ---------------------------------------------------------------------------


def test_report_names_follow_the_identity_alone():
    """Old bug: the second office with a slug got `-2` in one run and the bare name in the next."""
    alone = safe_name("Dinas Pendidikan", set())
    with_other = [safe_name(n, set()) for n in ("Dinas Péndidikan", "Dinas Pendidikan")]
    assert alone == with_other[1] == "dinas-pendidikan"
    # Same slug, another identity: a suffix from the identity's sha256, so never the bare name.
    digest = hashlib.sha256("dinas péndidikan".encode()).hexdigest()[:8]
    assert office_key("Dinas Péndidikan") == "dinas péndidikan"
    assert with_other[0] == f"dinas-pendidikan_{digest}" != alone
    assert safe_name("DINAS  pendidikan.") == "dinas-pendidikan"  # one identity, one name


@pytest.mark.parametrize("name", ["CON", "nul", "Aux", "PRN", "COM1", "lpt9", "Con."])
def test_windows_device_names_are_avoided(name):
    got = safe_name(name)
    assert got.split("_")[0] == name.lower().strip(".") and "_" in got
    assert safe_name("com10") == "com10"  # not a device name


def test_report_names_are_bounded_and_stay_inside():
    names = [safe_name(n) for n in ["a" * 300, "../../x", "", "Дом культуры", "x" * 60, "x" * 61]]
    assert all(len(n) <= 60 and "/" not in n and not n.startswith(".") for n in names)
    assert names[1] == "x" and names[4] == "x" * 60
    assert names[3].startswith("kantor_") and names[2].startswith("kantor_")
    assert names[2] != names[3] != "kantor"  # "Kantor" is an office's exact name
    assert len(set(names)) == len(names)


def test_two_copies_of_one_office_in_a_run_still_get_two_files():
    taken: set[str] = set()
    assert [safe_name(n, taken) for n in ("Dinas X", "DINAS X", "Dinas X 2")] == [
        "dinas-x",
        "dinas-x_2",
        "dinas-x-2",
    ]


# --- real processes: kill -9 while PDFs render ---------------------------------------------------


@pytest.mark.pdf
def test_kill_9_while_rendering_leaves_the_previous_set(tmp_path):
    """Old bug: a kill while PDFs rendered left the new results.json beside the old kota.pdf."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("dinkes.xlsx", "kel-sebani.xlsx"):
        shutil.copy(DEMO / name, inputs)
    out = tmp_path / "hasil"
    cmd = [sys.executable, "-m", "monev", "score", "--out", str(out), "-j", "1", "-q"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1731456000"}
    subprocess.run([*cmd, str(inputs / "dinkes.xlsx")], check=True, env=env, cwd=ROOT)
    before = _tree(out)
    assert "kota.pdf" in before and "kantor/dinas-kesehatan.pdf" in before
    run = subprocess.Popen([*cmd, str(inputs)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if list(tmp_path.glob(".hasil.monev-new-*/kantor/*.pdf")):
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before a PDF was rendered"
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait()
    assert _tree(out) == before  # the previous complete set, byte for byte
    assert len(_leftovers(tmp_path)) == 1  # the killed run's staging folder
    subprocess.run([*cmd, "--no-pdf", str(inputs / "kel-sebani.xlsx")], check=True, cwd=ROOT)
    assert _leftovers(tmp_path) == []
    # The render cache (.cache/, the first run's PDFs) is carried into every set; not an output.
    outputs = sorted(rel for rel in _tree(out) if not rel.startswith(".cache/"))
    assert outputs == [MANIFEST, "ranking.csv", "rekap.xlsx", "results-publik.json", "results.json"]


@pytest.mark.pdf
def test_two_monev_runs_at_once_the_second_exits_2_and_the_first_finishes_whole(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in sorted(p.name for p in DEMO.glob("*.xlsx"))[:5]:
        shutil.copy(DEMO / name, inputs)
    out = tmp_path / "hasil"
    cmd = [sys.executable, "-m", "monev", "score", str(inputs), "--out", str(out), "-j", "1", "-q"]
    first = subprocess.Popen(cmd, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            if list(tmp_path.glob(".hasil.monev-new-*/kantor/*.pdf")):
                break  # the first run is rendering: four office PDFs and kota.pdf still to go
            time.sleep(0.05)
        second = subprocess.run(
            [*cmd, "--no-pdf"], capture_output=True, text=True, cwd=ROOT, env=os.environ
        )
    finally:
        first.wait()
    assert second.returncode == 2, second.stderr
    assert "Proses monev lain sedang menulis ke folder hasil" in second.stderr
    assert first.returncode == 0
    tree = _tree(out)
    assert len([k for k in tree if k.startswith("kantor/")]) == 5 and "kota.pdf" in tree
    assert json.loads(tree["results.json"])["summary"]["received"] == 5
