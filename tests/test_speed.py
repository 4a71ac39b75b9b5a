"""Issue 13 (whole-run speed): the fast writers give the same bytes as the plain ones.

results.json goes through msgspec when it can only agree with the json module; these tests check
that it agrees on every kind of value the data can hold, and falls back where it would not.
"""

from __future__ import annotations

import io
from decimal import Decimal
from fractions import Fraction

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from monev.i18n import t
from monev.results import _dumps_json, dumps, num

# Text with every awkward character: control characters, quotes, backslashes, line and paragraph
# separators, a byte-order mark, non-Latin letters and lone surrogates (non-UTF-8 file names).
_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0, max_codepoint=0x7F),
        st.sampled_from("\u2028\u2029\ufeff\u00e9\u4e2d\U0001f600\ud800\udfff"),
    ),
    max_size=12,
)
_decimal = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 30
)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _text,
    _decimal,
    _decimal.map(lambda d: num(d, 2)),
    _decimal.map(lambda d: num(d, 4)),
)
_data = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_data)
def test_dumps_writes_what_the_json_module_writes(data):
    assert dumps(data) == _dumps_json(data)


def test_dumps_numbers_in_exponent_form_are_written_by_the_json_module():
    # msgspec writes Decimal("1E+1") as 1E+1 and 1e16 as 1e16; the json path writes 10 and 1e+16.
    assert dumps({"a": Decimal("1E+1"), "b": 1e16}) == '{\n  "a": 10,\n  "b": 1e+16\n}'
    # A sha256 with "3e5" in it is a string: no fallback needed, and the text is the same.
    assert dumps({"sha256": "ab3e5", "n": num(Fraction(1, 3), 4)}) == (
        '{\n  "sha256": "ab3e5",\n  "n": 0.3333\n}'
    )


def test_dumps_lone_surrogate_is_escaped():
    assert dumps(["\ud800x"]) == '[\n  "\\ud800x"\n]'


def test_rounding_is_remembered_by_value_not_by_type():
    # Fraction(1, 2) and Decimal("0.5") are the same exact value: both 0.50 (and the same
    # cached entry); 1/8 = 0.125 rounds half up to 0.13.
    assert num(Fraction(1, 2)) == num(Decimal("0.5")) == Decimal("0.50")
    assert str(num(Fraction(1, 8))) == "0.13"
    assert str(num(Fraction(1, 8), 4)) == "0.1250"


def test_rekap_keeps_its_layout_with_the_fast_writer(rubric):
    """rekap.xlsx through XlsxWriter: same sheets, bold header, frozen panes, number formats."""
    from pathlib import Path

    from monev.batch import score_paths
    from monev.results import to_xlsx

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    run = score_paths([demo / "dinkes.xlsx", demo / "setwan.xlsx"], rubric)
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(run)))
    assert wb.sheetnames == ["Peringkat", "Indikator", "Masalah", "Ditolak"]
    top, long = wb["Peringkat"], wb["Indikator"]
    assert top.freeze_panes == "C2"
    head = {c.value: c.column_letter for c in top[1]}
    assert top["A1"].value == t("rekap.col.rank", "id") and top["A1"].font.b
    first = run.offices[0]
    assert top[f"{head[t('rekap.col.office', 'id')]}2"].value == first.name
    score = top[f"{head[t('rekap.col.score', 'id')]}2"]
    assert score.value == float(first.score.score) and score.number_format == "0.00"
    indicator = first.score.indicators[0]
    cols = {c.value: c.column_letter for c in long[1]}
    assert long[f"{cols[t('rekap.col.code', 'id')]}2"].value == indicator.code
    points = long[f"{cols[t('rekap.col.points', 'id')]}2"]
    assert points.value == float(num(indicator.points, 4)) and points.number_format == "0.0000"
    assert long.max_row == 1 + sum(len(o.score.indicators) for o in run.offices)


def test_results_json_written_office_by_office_is_the_whole_text(rubric, tmp_path):
    """iter_json/write_outputs stream the offices (memory, issue 13 item 4); the text is the one
    dumps() gives for the whole run, with several offices, one, and none."""
    from pathlib import Path

    from monev.batch import score_paths
    from monev.results import write_outputs

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    bad = tmp_path / "rusak.xlsx"  # a run of one rejected file: no office at all
    bad.write_bytes(b"not a workbook")
    for inputs in (
        [demo / "dinkes.xlsx", demo / "setwan.xlsx", demo / "rsud.xlsx"],
        [demo / "dinkes.xlsx"],
        [bad],
    ):
        run = score_paths(inputs, rubric)
        whole = dumps(run.to_dict()) + "\n"
        public = dumps(run.to_dict(public=True)) + "\n"
        assert run.to_json() == whole
        assert run.to_json(public=True) == public
        # Both files are written in one pass, each office's data built once (issue 13).
        write_outputs(run, tmp_path / "out")
        assert (tmp_path / "out" / "results.json").read_text(encoding="utf-8") == whole
        assert (tmp_path / "out" / "results-publik.json").read_text(encoding="utf-8") == public
        assert ('"respondent"' in whole and '"respondent"' not in public) or not run.offices
    assert not run.offices and run.rejected
    assert not list((tmp_path / "out").glob(".monev-*.tmp"))  # no temporary file left


def test_public_office_leaves_out_only_the_personal_fields(rubric):
    """results-publik.json's office is results.json's without ``respondent`` and each
    indicator's ``verifier_note``, every other key in the same order."""
    from pathlib import Path

    from monev.batch import score_paths

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    run = score_paths([demo / "dinkes.xlsx"], rubric)
    full, public = run.office_dict(run.offices[0]), run.office_dict(run.offices[0], public=True)
    assert [k for k in full if k != "respondent"] == list(public)
    for i, j in zip(full["indicators"], public["indicators"], strict=True):
        assert [k for k in i if k != "verifier_note"] == list(j)
        assert all(i[k] == j[k] for k in j)
    assert all(full[k] == public[k] for k in public if k != "indicators")


def test_the_demo_results_take_the_fast_path(rubric, monkeypatch):
    """The figures of a real run never need the slow path (else the speed-up is lost)."""
    from pathlib import Path

    import monev.results as results
    from monev.batch import score_paths

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    data = score_paths([demo], rubric).to_dict()
    expected = results._dumps_json(data)

    def refuse(data):
        raise AssertionError("fell back to the json module")

    monkeypatch.setattr(results, "_dumps_json", refuse)
    assert results.dumps(data) == expected


def _sheets(data: bytes) -> dict[str, bytes]:
    """The parts of an .xlsx but its creation time (docProps/core.xml)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def test_rekap_written_by_a_forked_copy_is_the_same_and_a_failed_copy_is_replaced(
    rubric, tmp_path, monkeypatch
):
    """rekap.xlsx is written by a forked copy of the process while the JSON files are written
    (issue 13); it is the file to_xlsx gives, and when the copy fails it is written here."""
    import os
    from pathlib import Path

    import monev.results as results
    from monev.batch import score_paths

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    run = score_paths([demo / "dinkes.xlsx", demo / "setwan.xlsx"], rubric)
    expected = _sheets(results.to_xlsx(run))
    monkeypatch.setattr(results, "FORK_OFFICES", 1)
    forks = []
    real_fork = os.fork

    def counted() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counted)
    results.write_outputs(run, tmp_path / "a")
    assert forks == [1]
    assert _sheets((tmp_path / "a" / "rekap.xlsx").read_bytes()) == expected

    def failing(_work):  # the copy dies before writing anything
        return real_fork_fail()

    def real_fork_fail() -> int:
        pid = real_fork()
        if pid == 0:  # pragma: no cover - the forked copy
            os._exit(1)
        return pid

    monkeypatch.setattr(results, "_fork", failing)
    results.write_outputs(run, tmp_path / "b")
    assert _sheets((tmp_path / "b" / "rekap.xlsx").read_bytes()) == expected


def test_no_fork_while_another_thread_runs(rubric, tmp_path, monkeypatch):
    """Forking a process that runs threads is unsafe (a lock held by another thread stays held
    in the copy): rekap.xlsx is then written in the process itself."""
    import os
    import threading
    from pathlib import Path

    import monev.results as results
    from monev.batch import score_paths

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    run = score_paths([demo / "dinkes.xlsx", demo / "setwan.xlsx"], rubric)
    monkeypatch.setattr(results, "FORK_OFFICES", 1)

    def refuse() -> int:
        raise AssertionError("forked while a thread runs")

    monkeypatch.setattr(os, "fork", refuse)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        results.write_outputs(run, tmp_path / "out")
    finally:
        stop.set()
        other.join()
    assert (tmp_path / "out" / "rekap.xlsx").exists()


def test_an_error_while_writing_the_json_ends_the_forked_copy(rubric, tmp_path, monkeypatch):
    """The forked copy is not left running (nor a zombie) when the process fails meanwhile."""
    import os
    from pathlib import Path

    import pytest

    import monev.results as results
    from monev.batch import score_paths

    demo = Path(__file__).resolve().parent.parent / "questionnaires" / "contoh"
    run = score_paths([demo / "dinkes.xlsx", demo / "setwan.xlsx"], rubric)
    monkeypatch.setattr(results, "FORK_OFFICES", 1)
    pids = []
    real = results._fork

    def recorded(work):
        pid = real(work)
        pids.append(pid)
        return pid

    def broken(_run):
        raise RuntimeError("disk full")

    monkeypatch.setattr(results, "_fork", recorded)
    monkeypatch.setattr(results, "to_csv", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        results.write_outputs(run, tmp_path / "out")
    assert len(pids) == 1
    with pytest.raises(ChildProcessError):  # already waited for: nothing left of it
        os.waitpid(pids[0], os.WNOHANG)
