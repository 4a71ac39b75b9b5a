"""One catalogue, two languages (issue 11 item 1): every message exists in Indonesian and English,
and a run in one language shows no interface text of the other.

The check is a short list of marker words per language: common function words that never occur
in the other language's interface text. Data is exempt (office names, rubric titles, aspect names,
questions, band names, the rubric's own notes, file names): it is removed before the grep, as are
placeholders, quoted values, command-line options, the validator's detail kept after
"rincian dari pemeriksa:" and a library's error text kept after "rincian teknis:".
"""

from __future__ import annotations

import re

import pytest
from helpers import write_workbook

from monev.cli import main
from monev.i18n import LANGS, catalogue, t
from monev.rubric import load_rubric

EV = "https://ppid.contoh.go.id/bukti"

MARKERS = {
    # Words an English reader meets in an Indonesian sentence, and the reverse.
    "id": {"yang", "dan", "tidak", "untuk", "dengan", "ini", "atau", "dari", "berkas", "belum"},
    "en": {"the", "and", "not", "for", "with", "this", "from", "file", "is", "are", "cannot"}
    | {"error", "warning"},
}
OTHER = {"id": "en", "en": "id"}
#: Keys whose text is empty on purpose (an accepted indicator has no status note in reports).
EMPTY_OK = {"report.status.ok"}


def _words(text: str) -> set[str]:
    text = re.sub(r"\{[^}]*\}", " ", text)  # placeholders
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", " ", text)  # quoted values: data or names
    text = re.sub(r"--[\w-]+", " ", text)  # command-line options
    text = re.sub(r"\(rincian dari pemeriksa: [^)]*\)", " ", text)  # the validator's own text
    # A library's own error text, kept as a detail after the sentence (monev.problems.technical).
    text = re.sub(r"\((?:rincian teknis|technical detail): .*?\)(?=[.;]|$| )", " ", text)
    return set(re.findall(r"[a-z]+", text.lower()))


def foreign_words(text: str, lang: str) -> set[str]:
    """Marker words of the other language found in ``text``."""
    return _words(text) & MARKERS[OTHER[lang]]


def test_the_markers_catch_the_other_language():
    # The test must be able to fail: each language's own sentences trip the other's check.
    assert foreign_words("Berkas ini tidak dapat dibaca", "en") == {"berkas", "ini", "tidak"}
    assert foreign_words("The file is not a zip file", "id") == {"the", "file", "is", "not"}
    assert foreign_words("Tutup berkas '{the file}' dengan --from-the-file", "id") == set()


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_in_both_languages_and_only_its_own(lang):
    missing, foreign = [], []
    for key, entry in catalogue().items():
        text = entry.get(lang)
        if text is None or (not text.strip() and key not in EMPTY_OK):
            missing.append(key)
            continue
        bad = foreign_words(text, lang)
        if bad:
            foreign.append(f"{key}: {sorted(bad)}: {text}")
        t(key, lang)  # renders (no placeholder is required by the lookup itself)
    assert not missing, f"missing {lang} text: {missing}"
    assert not foreign, "\n".join(foreign)


def _data_strings(tmp_names: list[str]) -> list[str]:
    """Texts that come from the rubric or the inputs: exempt from the language grep."""
    out = list(tmp_names)
    for rid in ("ki-jatim-2024", "ki-kalbar-2025"):
        rb = load_rubric(rid)
        out += [rb.title, rb.source_notes or ""]
        out += [a.name for a in rb.aspects]
        out += [i.question for i in rb.indicators]
        out += [b.name for b in rb.predicates]
    return sorted((s for s in out if s), key=len, reverse=True)


def _strip_data(text: str, data: list[str]) -> str:
    for s in data:
        text = text.replace(s, " ")
    return re.sub(r"\S*/\S*", " ", text)  # paths: folder and file names are data


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, rubric):
    root = tmp_path_factory.mktemp("bahasa")
    folder = root / "masuk"
    folder.mkdir()
    # Problems of each family: invalid answer (MV201), claim without evidence (MV301), missing
    # answers, a rejected file (MV102) and a workbook without its Kuesioner sheet (MV105).
    write_workbook(
        folder / "a.xlsx",
        rubric,
        [("JI-01", "Ya", EV), ("JI-02", "Ya", ""), ("JI-03", "Mungkin"), ("PI-03", 150)],
        office="Dinas Uji Bahasa",
    )
    (folder / "kosong.xlsx").write_bytes(b"")
    (folder / "rusak.xlsx").write_bytes(b"PK\x03\x04" + b"junk" * 20)  # MV101: a library's text
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Kuisioner"
    wb.save(folder / "salah-lembar.xlsx")
    bad_rubric = root / "rubrik-salah.yaml"
    bad_rubric.write_text(
        "id: x\ntitle: t\nyear: 2024\ncategory: c\nversion: '1'\n"
        "aspects: [{code: A, name: a, weight: abc}]\nindicators: []\npredicates: []\n"
        "stages: []\nfoo: 1\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize("lang", LANGS)
def test_cli_speaks_one_language(lang, inputs, capsys, tmp_path):
    folder = inputs / "masuk"
    runs = [
        ["score", str(folder), "--out", str(tmp_path / "hasil"), "--no-pdf"],
        ["check", str(folder)],
        ["template", "--office", "Dinas Uji Bahasa", "-o", str(tmp_path / "t.xlsx")],
        ["rubric", "list"],
        ["rubric", "show", "ki-jatim-2024"],
        ["rubric", "check", str(inputs / "rubrik-salah.yaml")],
        ["rubric", "show", "rubrik-x"],
        ["doctor", "--no-render"],
        ["score", "--help"],
        ["check"],  # the parser's own message: a missing argument
        ["score", str(folder), "--jobs", "banyak"],  # and an invalid value
    ]
    # "Ya, Tidak": the answers a Ya/Tidak question accepts, quoted from the rubric (data).
    data = _data_strings(["Dinas Uji Bahasa", "Mungkin", "Kuisioner", "Ya, Tidak"])
    seen = []
    for args in runs:
        main([*args, "--lang", lang])
        captured = capsys.readouterr()
        text = _strip_data(captured.out + captured.err, data)
        seen.append(text)
        for line in text.splitlines():
            bad = foreign_words(line, lang)
            assert not bad, f"{args}: {sorted(bad)} in: {line}"
    everything = "\n".join(seen)
    # The runs did print what they are meant to (the test greps real output).
    assert "MV201" in everything and "MV102" in everything and "MV105" in everything
    assert "MV101" in everything
    assert t("severity.error", lang) in everything and t("rubric.err.extra", lang) in everything


def test_indonesian_wording_follows_the_glossary():
    """docs/glossary.md: "kesalahan", not "galat"; "dijawab Ya", not "dijawab positif"; the
    office's file is a "kuesioner", not "masukan" (which reads as "feedback")."""
    banned = re.compile(r"\bgalat\b|dijawab positif|\bmasukan\b|\bvalid\b", re.I)
    found = [f"{k}: {e['id']}" for k, e in catalogue().items() if banned.search(e["id"])]
    assert not found, "\n".join(found)
