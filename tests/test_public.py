"""Public and internal outputs (issue 11 item 8, UU PDP): respondent names, positions, contacts
and verifier notes stay in the internal files (results.json, rekap.xlsx, the office PDFs); the
files meant for publication (results-publik.json, kota.pdf and its attachment, the kecamatan
PDFs) leave them out, and an auditor can still recompute every score from them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import DEMO, ROOT
from helpers import COL, write_workbook
from openpyxl import load_workbook
from test_kecamatan import SIX
from test_registry import registry_csv, workbook

from monev.batch import score_paths
from monev.registry import load_registry
from monev.results import write_outputs

EV = "https://ppid.contoh.go.id/bukti"
# What the internal files hold and the public ones must not.
RESPONDENT = "Siti Rahayu, S.Sos"
VERIFIER_NOTE = "Tautan mati saat dicek 3 Agustus; hubungi Bu Siti 0812-3456-7890"


def _private_workbook(path: Path, rubric) -> Path:
    """A workbook with a respondent's name and a verifier's note on JI-01."""
    write_workbook(path, rubric, [("JI-01", "Ya", EV, "Tidak Sesuai")], office="Dinas A")
    wb = load_workbook(path)
    ident = wb["Identitas"]
    for r in range(1, ident.max_row + 1):
        if ident.cell(row=r, column=1).value == "Nama Responden":
            ident.cell(row=r, column=2).value = RESPONDENT
    ws = wb["Kuesioner"]
    for r in range(1, ws.max_row + 1):
        if ws.cell(row=r, column=COL["code"]).value == "JI-01":
            ws.cell(row=r, column=COL["verifier_note"]).value = VERIFIER_NOTE
    wb.save(path)
    return path


def _drop_private(full: dict) -> dict:
    """results.json minus the fields the public version leaves out, plus its ``public`` mark."""
    for o in full["offices"]:
        del o["respondent"]
        for i in o["indicators"]:
            del i["verifier_note"]
    for m in full.get("missing", []):
        del m["contact"]
    return {**full, "public": True}


def test_results_publik_json_is_results_json_without_personal_fields(tmp_path, rubric):
    import jsonschema

    src = tmp_path / "in"
    src.mkdir()
    _private_workbook(src / "a.xlsx", rubric)
    reg = load_registry(registry_csv(tmp_path / "daftar.csv", SIX + "Dinas A,OPD,,,,Pak Dodi\n"))
    run = score_paths([src], rubric, registry=reg)
    assert [o.name for o in run.offices] == ["Dinas A"]
    out = tmp_path / "out"
    write_outputs(run, out)
    full_text = (out / "results.json").read_text("utf-8")
    public_text = (out / "results-publik.json").read_text("utf-8")
    # The internal file has them (the verifier's note was read, the registry's contacts too).
    assert RESPONDENT in full_text and "Bu Siti" in full_text and "Budi 0343-2" in full_text
    for private in (RESPONDENT, "Siti", "0812", "0343", "respondent", "verifier_note", "contact"):
        assert private not in public_text, private
    public = json.loads(public_text)
    assert public == _drop_private(json.loads(full_text))
    # The verifier's decision (which changes the score) stays; only the note goes.
    ji01 = public["offices"][0]["indicators"][0]
    assert (ji01["code"], ji01["verification"], ji01["points"]) == ("JI-01", "Tidak Sesuai", 0)
    schema = json.loads((ROOT / "monev" / "results.schema.json").read_text("utf-8"))
    jsonschema.validate(public, schema)
    jsonschema.validate(json.loads(full_text), schema)
    # The full file must keep the private fields: the schema requires them there.
    no_name = json.loads(full_text)
    del no_name["offices"][0]["respondent"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(no_name, schema)


def _attachments(data: bytes) -> dict[str, bytes]:
    from pypdf import PdfReader

    return {name: d[0] for name, d in PdfReader(io.BytesIO(data)).attachments.items()}


@pytest.mark.pdf
def test_kota_pdf_attaches_the_public_results(rubric):
    """Old bug: kota.pdf attached the full results.json, with every respondent's name."""
    from monev.report import _init_worker, _render_job

    run = score_paths([DEMO], rubric)
    dinkes = next(o for o in run.offices if o.name == "Dinas Kesehatan")
    assert dinkes.office.respondent == "Admin PPID Dinas Kesehatan"  # the demo's respondent
    _init_worker(run, "id")
    data, _entries = _render_job(("city", 0, {}))
    attached = _attachments(data)
    assert sorted(attached) == ["results-publik.json", f"rubrik-{rubric.id}.yaml"]
    text = attached["results-publik.json"].decode("utf-8")
    assert "Admin PPID Dinas Kesehatan" not in text and '"respondent"' not in text
    assert json.loads(text)["public"] is True
    assert text == run.to_json(public=True)


@pytest.mark.pdf
def test_kecamatan_pdf_attaches_public_entries_and_prints_no_contacts(tmp_path, rubric):
    from pypdf import PdfReader

    from monev.report import KECAMATAN_ATTACHMENT, _init_worker, _render_job

    reg = load_registry(registry_csv(tmp_path / "daftar.csv", SIX))
    src = tmp_path / "in"
    src.mkdir()
    workbook(src / "b.xlsx", rubric, "Kecamatan Gadingrejo", "Kecamatan", "Gadingrejo")
    workbook(src / "d.xlsx", rubric, "Kelurahan Sebani", "Kelurahan", "Gadingrejo")
    path = src / "d.xlsx"
    wb = load_workbook(path)
    ident = wb["Identitas"]
    for r in range(1, ident.max_row + 1):
        if ident.cell(row=r, column=1).value == "Nama Responden":
            ident.cell(row=r, column=2).value = RESPONDENT
    wb.save(path)
    run = score_paths([src], rubric, registry=reg)
    _init_worker(run, "id")
    for task in (("kecamatan", 0, {}), ("city", 0, {})):
        data, _entries = _render_job(task)
        reader = PdfReader(io.BytesIO(data))
        shown = "".join(page.extract_text() for page in reader.pages)
        # Kelurahan Bugul Lor and Bukir have not sent: named, without their contacts.
        assert "Kelurahan Bukir" in shown and "Lurah 0343-6" not in shown, task
        for name, blob in _attachments(data).items():
            text = blob.decode("utf-8")
            assert RESPONDENT not in text and "0343" not in text, (task, name)
    data = json.loads(_attachments(_render_job(("kecamatan", 0, {}))[0])[KECAMATAN_ATTACHMENT])
    assert [o["name"] for o in data["offices"]] == ["Kecamatan Gadingrejo", "Kelurahan Sebani"]
    assert data["missing"][0]["name"] == "Kelurahan Bugul Lor"
