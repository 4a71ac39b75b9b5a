"""Generate the full-size demo city: every PPID Pelaksana of Kota Lestari, with its office registry.

    python scripts/make_demo_city.py   # writes questionnaires/kota-lengkap/*.xlsx,
                                       # questionnaires/kota-lengkap-daftar.xlsx (the registry)
                                       # and questionnaires/kota-lengkap-tahapan.xlsx (stages)

70 offices are expected: the PPID Utama, 31 OPD, 4 kecamatan and 34 kelurahan. Four kelurahan have
not sent their workbook yet (they are in the registry, not in the folder); Kelurahan Bugul Lor
typed its name as "Kel. Bugul Lor" (a Nama Lain in the registry); Kelurahan Bukir typed its
kecamatan as "Gading Rejo" (the registry's "Gadingrejo" is used, with a warning); Dinas
Perpustakaan dan Kearsipan was merged from two offices (two Nama Lama). Most kelurahan are new to
the questionnaire, so their answers are weaker. Later-stage scores of the offices past the SAQ gate
are in the stages file, under their registry names. Deterministic (fixed seed, fixed dates): the
same script gives the same bytes. ``questionnaires/contoh`` (the 30-office fixture) is not touched.
"""

from __future__ import annotations

import io
import random
import re
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from make_demo import OFFICES as CONTOH  # noqa: E402
from make_demo import fill  # noqa: E402

from monev.registry import Entry, registry_bytes  # noqa: E402
from monev.rubric import load_rubric  # noqa: E402
from monev.stages import TemplateRow, write_stages_template  # noqa: E402

OUT = ROOT / "questionnaires" / "kota-lengkap"
REGISTRY = ROOT / "questionnaires" / "kota-lengkap-daftar.xlsx"
STAGES = ROOT / "questionnaires" / "kota-lengkap-tahapan.xlsx"
DOMAIN = "kotalestari.go.id"

#: OPD beyond the 21 of the small demo (stem, name).
MORE_OPD = [
    ("disperkim", "Dinas Perumahan dan Kawasan Permukiman"),
    ("dispusip", "Dinas Perpustakaan dan Kearsipan"),
    ("disnaker", "Dinas Tenaga Kerja"),
    ("bakesbangpol", "Badan Kesatuan Bangsa dan Politik"),
    ("diskan", "Dinas Perikanan"),
    ("damkar", "Dinas Pemadam Kebakaran dan Penyelamatan"),
    ("dispertanahan", "Dinas Pertanahan"),
    ("bag-hukum", "Bagian Hukum Sekretariat Daerah"),
    ("bag-pbj", "Bagian Pengadaan Barang dan Jasa"),
    ("rsud-kota", "Rumah Sakit Umum Daerah Kota"),
]
KECAMATAN = {
    "Gadingrejo": [
        "Karanganyar",
        "Sebani",
        "Bukir",
        "Gentong",
        "Gadingrejo",
        "Karangketug",
        "Krapyakrejo",
        "Petahunan",
    ],
    "Purworejo": [
        "Pohjentrek",
        "Purutrejo",
        "Purworejo",
        "Sekargadung",
        "Tembokrejo",
        "Wirogunan",
        "Kebonagung",
        "Bugulrejo",
    ],
    "Bugul Kidul": [
        "Tapaan",
        "Kepel",
        "Bakalan",
        "Blandongan",
        "Bugul Kidul",
        "Krampyangan",
        "Sumberejo",
        "Mandaranrejo",
    ],
    "Panggungrejo": [
        "Bugul Lor",
        "Kebonsari",
        "Kandangsapi",
        "Mayangan",
        "Ngemplakrejo",
        "Pekuncen",
        "Petamanan",
        "Tambaan",
        "Trajeng",
        "Bangilan",
    ],
}
NOT_SENT = {"Krapyakrejo", "Sekargadung", "Mandaranrejo", "Trajeng"}
TYPED_NAME = {"Bugul Lor": "Kel. Bugul Lor"}  # the name as typed in the workbook
TYPED_KECAMATAN = {"Bukir": "Gading Rejo"}
OTHER_NAMES = {
    "Dinas Komunikasi, Informatika dan Statistik": ["Diskominfotik"],
    "Kelurahan Bugul Lor": ["Kel. Bugul Lor"],
    "Dinas Perpustakaan dan Kearsipan": ["Dispusip"],
}
OLD_NAMES = {
    "Dinas Komunikasi, Informatika dan Statistik": ["Dinas Komunikasi dan Informatika"],
    "Dinas Perpustakaan dan Kearsipan": ["Kantor Perpustakaan Daerah", "Kantor Arsip Daerah"],
}


def slug(text: str) -> str:
    return "-".join(text.lower().replace(".", "").replace(",", "").split())


def offices(rng: random.Random) -> list[tuple]:
    """(stem, name as typed, unit, kecamatan as typed, rate, evidence rate, stages, registry
    name, registry kecamatan, sent)."""
    out: list[tuple] = []
    for stem, name, unit, _kec, rate, ev_rate, stages in CONTOH:
        if unit in ("PPID Utama", "OPD"):
            out.append((stem, name, unit, "", rate, ev_rate, stages, name, "", True))
    for stem, name in MORE_OPD:
        rate, ev = rng.uniform(0.45, 0.95), rng.uniform(0.5, 0.95)
        out.append((stem, name, "OPD", "", rate, ev, None, name, "", True))
    for kec, kelurahan in KECAMATAN.items():
        name = f"Kecamatan {kec}"
        rate, ev = rng.uniform(0.5, 0.85), rng.uniform(0.45, 0.8)
        out.append((f"kec-{slug(kec)}", name, "Kecamatan", kec, rate, ev, None, name, kec, True))
        for kel in kelurahan:
            name = f"Kelurahan {kel}"
            rate, ev = rng.uniform(0.15, 0.85), rng.uniform(0.25, 0.85)
            out.append(
                (
                    f"kel-{slug(kel)}",
                    TYPED_NAME.get(kel, name),
                    "Kelurahan",
                    TYPED_KECAMATAN.get(kel, kec),
                    rate,
                    ev,
                    None,
                    name,
                    kec,
                    kel not in NOT_SENT,
                )
            )
    return out


def contact(stem: str, rng: random.Random) -> str:
    return f"Admin PPID, 0343-4{rng.randint(10000, 99999)}, ppid.{stem}@{DOMAIN}"


FIXED = (2025, 3, 1, 0, 0, 0)


def stable(data: bytes) -> bytes:
    """The same workbook gives the same bytes: fixed zip entry times and document dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2025-03-01T00:00:00Z", body)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED)
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, body)
    return out.getvalue()


def main() -> int:
    rubric = load_rubric("ki-jatim-2024")
    rng = random.Random(20250301)
    rows = offices(rng)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.xlsx"):
        old.unlink()
    entries = []
    stage_rows = []
    for stem, typed, unit, typed_kec, rate, ev, stages, name, kec, sent in rows:
        entries.append(
            Entry(
                name=name,
                unit_type=unit,
                kecamatan=kec,
                other_names=tuple(OTHER_NAMES.get(name, ())),
                old_names=tuple(OLD_NAMES.get(name, ())),
                contact=contact(stem, rng),
            )
        )
        if sent:
            scores = zip(rubric.stages[1:], stages or (), strict=False)
            stage_rows.append(TemplateRow(name, {s.code: Decimal(v) for s, v in scores}))
            wb = fill(stem, typed, unit, typed_kec, rate, ev, rubric, rng)
            buf = io.BytesIO()
            wb.save(buf)
            (OUT / f"{stem}.xlsx").write_bytes(stable(buf.getvalue()))
    REGISTRY.write_bytes(stable(registry_bytes(entries, ".xlsx")))
    stage_rows.sort(key=lambda r: r.name.casefold())
    write_stages_template(STAGES, rubric, stage_rows, overwrite=True)
    STAGES.write_bytes(stable(STAGES.read_bytes()))
    sent_count = sum(r[-1] for r in rows)
    print(f"wrote {sent_count} workbooks to {OUT.relative_to(ROOT)}")
    print(f"wrote {len(entries)} offices to {REGISTRY.relative_to(ROOT)}")
    print(f"wrote the stages file {STAGES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
