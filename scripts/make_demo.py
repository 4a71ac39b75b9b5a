"""Regenerate the demo city: filled questionnaires for the fictional Kota Lestari.

    python scripts/make_demo.py            # writes questionnaires/contoh/*.xlsx

Deterministic (fixed seed): the same script gives the same answers. About 30 offices: the PPID
Utama (Diskominfotik), OPDs, kecamatan and kelurahan, with a spread of predicates, some claims
without evidence, Google Drive sharing links, one office with answer errors. The later-stage
scores (visitasi, wawancara) of the offices that passed the SAQ gate are the verifier's, so they
are not in the offices' workbooks but in the stages file beside the folder,
questionnaires/contoh-tahapan.xlsx (written by the same code as ``monev stages template``).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decimal import Decimal  # noqa: E402

from monev.rubric import Checklist, Percent, Threshold, load_rubric  # noqa: E402
from monev.stages import TemplateRow, write_stages_template  # noqa: E402
from monev.template import HEADER_ROW, ORDER, build_template  # noqa: E402
from monev.workbook import IDENTITY  # noqa: E402

OUT = ROOT / "questionnaires" / "contoh"
STAGES = ROOT / "questionnaires" / "contoh-tahapan.xlsx"
DOMAIN = "kotalestari.go.id"

# (file stem, office name, unit type, kecamatan, answer rate, evidence rate, stages). The stages
# (visitasi, wawancara) go to the stages file, not to the workbook.
OFFICES = [
    (
        "diskominfotik",
        "Dinas Komunikasi, Informatika dan Statistik",
        "PPID Utama",
        "",
        0.98,
        0.98,
        (92, 90),
    ),
    ("dinkes", "Dinas Kesehatan", "OPD", "", 0.95, 0.95, (88, 86)),
    ("dispendikbud", "Dinas Pendidikan dan Kebudayaan", "OPD", "", 0.9, 0.85, None),
    ("dinsos", "Dinas Sosial", "OPD", "", 0.85, 0.8, None),
    ("dpupr", "Dinas Pekerjaan Umum dan Penataan Ruang", "OPD", "", 0.8, 0.75, None),
    ("dishub", "Dinas Perhubungan", "OPD", "", 0.7, 0.7, None),
    ("dlh", "Dinas Lingkungan Hidup", "OPD", "", 0.92, 0.9, (84, 80)),
    ("dispendukcapil", "Dinas Kependudukan dan Pencatatan Sipil", "OPD", "", 0.97, 0.97, (95, 93)),
    ("dpmptsp", "Dinas Penanaman Modal dan PTSP", "OPD", "", 0.95, 0.9, None),
    ("bappelitbangda", "Bappelitbangda", "OPD", "", 0.75, 0.6, None),
    ("bpkpd", "Badan Pengelola Keuangan dan Pendapatan Daerah", "OPD", "", 0.88, 0.9, None),
    ("bkpsdm", "Badan Kepegawaian dan Pengembangan SDM", "OPD", "", 0.6, 0.5, None),
    ("inspektorat", "Inspektorat", "OPD", "", 0.65, 0.8, None),
    ("satpolpp", "Satuan Polisi Pamong Praja", "OPD", "", 0.45, 0.6, None),
    ("bpbd", "Badan Penanggulangan Bencana Daerah", "OPD", "", 0.8, 0.85, None),
    ("diskopumdag", "Dinas Koperasi, Usaha Mikro dan Perdagangan", "OPD", "", 0.55, 0.4, None),
    ("disparpora", "Dinas Pariwisata, Pemuda dan Olahraga", "OPD", "", 0.5, 0.7, None),
    ("rsud", "RSUD dr. R. Soedarsono", "OPD", "", 0.93, 0.88, None),
    ("setda", "Sekretariat Daerah", "OPD", "", 0.85, 0.9, None),
    ("setwan", "Sekretariat DPRD", "OPD", "", 0.7, 0.5, None),
    ("dkpp", "Dinas Ketahanan Pangan dan Pertanian", "OPD", "", 0.35, 0.5, None),
    ("dp3akb", "Dinas Pemberdayaan Perempuan, Perlindungan Anak dan KB", "OPD", "", 0.6, 0.7, None),
    ("kec-gadingrejo", "Kecamatan Gadingrejo", "Kecamatan", "Gadingrejo", 0.7, 0.6, None),
    ("kec-purworejo", "Kecamatan Purworejo", "Kecamatan", "Purworejo", 0.55, 0.5, None),
    ("kec-bugul-kidul", "Kecamatan Bugul Kidul", "Kecamatan", "Bugul Kidul", 0.8, 0.75, None),
    ("kel-karanganyar", "Kelurahan Karanganyar", "Kelurahan", "Gadingrejo", 0.4, 0.4, None),
    ("kel-sebani", "Kelurahan Sebani", "Kelurahan", "Gadingrejo", 0.3, 0.5, None),
    ("kel-tapaan", "Kelurahan Tapaan", "Kelurahan", "Bugul Kidul", 0.5, 0.3, None),
    ("kel-pohjentrek", "Kelurahan Pohjentrek", "Kelurahan", "Purworejo", 0.2, 0.3, None),
    ("kel-kepel", "Kelurahan Kepel", "Kelurahan", "Bugul Kidul", 0.62, 0.65, None),
]
ERRORS_IN = "dishub"  # one office typed answers the reader must reject


def fill(
    stem: str,
    name: str,
    unit: str,
    kec: str,
    rate: float,
    ev_rate: float,
    rubric,
    rng: random.Random,
):
    wb = build_template(rubric, office=name, unit_type=unit)
    ident = wb["Identitas"]
    labels = {ident.cell(row=r, column=1).value: r for r in range(1, ident.max_row + 1)}
    ident.cell(row=labels[IDENTITY["kecamatan"]], column=2, value=kec or None)
    ident.cell(row=labels[IDENTITY["respondent"]], column=2, value=f"Admin PPID {name}")
    ident.cell(
        row=labels[IDENTITY["position"]], column=2, value="Sekretaris / Atasan PPID Pelaksana"
    )
    ident.cell(row=labels[IDENTITY["filled_on"]], column=2, value="2024-07-15")
    ws = wb["Kuesioner"]
    col = {key: i for i, key in enumerate(ORDER, start=1)}
    indicators = {i.code: i for i in rubric.indicators}
    items = {
        it.code: ind
        for ind in rubric.indicators
        if isinstance(ind.answer, Checklist)
        for it in ind.answer.items
    }
    for r in range(1, ws.max_row + 1):
        code = ws.cell(row=r, column=col["code"]).value
        if r <= HEADER_ROW or not code:
            continue
        ind = indicators.get(code) or items[code]
        if code in indicators and isinstance(ind.answer, Checklist):
            continue
        positive = rng.random() < rate
        if isinstance(ind.answer, Threshold):
            answer: object = rng.choice([5, 7, 14]) if positive else rng.choice([0, 1, 2, 3])
        elif isinstance(ind.answer, Percent):
            answer = rng.choice([100, 96, 90]) if positive else rng.choice([40, 65, 75])
        elif ind.answer.type == "info":
            answer = f"{rng.randint(5, 120)} permohonan, {rng.randint(0, 3)} keberatan, 0 sengketa"
        else:
            answer = "Ya" if positive else "Tidak"
        ws.cell(row=r, column=col["answer"], value=answer)
        if positive and rng.random() < ev_rate**0.4:
            slug = code.lower().replace(".", "-")
            roll = rng.random()
            if roll < 0.12:
                evidence = f"https://drive.google.com/file/d/1{stem[:6]}{slug}/view?usp=sharing"
            elif roll < 0.25:
                evidence = f"{code}_{stem}.pdf"
            else:
                evidence = f"https://ppid.{DOMAIN}/{stem}/{slug}"
            ws.cell(row=r, column=col["evidence"], value=evidence)
    if stem == ERRORS_IN:
        for r in range(1, ws.max_row + 1):
            code = ws.cell(row=r, column=col["code"]).value
            if code == "JI-03":
                ws.cell(row=r, column=col["answer"], value="Mungkin")
            elif code == "DG-02":
                ws.cell(row=r, column=col["answer"], value="yes")
            elif code == "SP-04":
                ws.cell(row=r, column=col["answer"]).value = None
            elif code == "KI-05":
                ws.cell(row=r, column=col["answer"], value="setiap hari")
    return wb


OUT_2023 = ROOT / "questionnaires" / "contoh-2023"
RENAMED_2023 = {"diskominfotik": "Dinas Komunikasi dan Informatika"}  # renamed in 2024
NEW_IN_2024 = {"kel-kepel"}
GONE_IN_2024 = [("upt-sampah", "UPT Pengelolaan Sampah", "OPD", "", 0.5, 0.5, None)]


def last_year() -> list[tuple]:
    """Last year's offices: weaker answers, one renamed, one new in 2024, one gone."""
    offices = []
    for stem, name, unit, kec, rate, ev_rate, _stages in OFFICES:
        if stem in NEW_IN_2024:
            continue
        offices.append(
            (stem, RENAMED_2023.get(stem, name), unit, kec, rate * 0.85, ev_rate * 0.8, None)
        )
    return offices + GONE_IN_2024


def write_set(folder: Path, offices: list[tuple], rubric, rng: random.Random) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.xlsx"):
        old.unlink()
    for stem, name, unit, kec, rate, ev_rate, _stages in offices:
        wb = fill(stem, name, unit, kec, rate, ev_rate, rubric, rng)
        wb.save(folder / f"{stem}.xlsx")
    print(f"wrote {len(offices)} workbooks to {folder.relative_to(ROOT)}")


def main() -> int:
    rubric = load_rubric("ki-jatim-2024")
    write_set(OUT, OFFICES, rubric, random.Random(20241113))
    rows = [
        TemplateRow(
            name,
            {s.code: Decimal(v) for s, v in zip(rubric.stages[1:], stages, strict=True)}
            if stages
            else {},
        )
        for _stem, name, _unit, _kec, _rate, _ev, stages in OFFICES
    ]
    rows.sort(key=lambda r: r.name.casefold())
    write_stages_template(STAGES, rubric, rows, overwrite=True)
    print(f"wrote the stages file {STAGES.relative_to(ROOT)}")
    write_set(OUT_2023, last_year(), rubric, random.Random(20231213))
    (ROOT / "questionnaires" / "ganti-nama.yaml").write_text(
        "# Offices renamed between the 2023 and 2024 demo sets (old name: new name).\n"
        + "".join(
            f"{old}: {dict((o[0], o[1]) for o in OFFICES)[stem]}\n"
            for stem, old in RENAMED_2023.items()
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
