"""Regenerate the corpus of bad input files under tests/data/bad/ (committed; run once).

    python scripts/make_bad_corpus.py

Each file stands for one way a real submission goes wrong; tests/data/bad/expected.yaml names the
problem codes each must produce. The password-protected workbook is encrypted with
msoffcrypto-tool (``pip install msoffcrypto-tool``), the way Excel does it; the tool is needed only
here, not by monev.
"""

from __future__ import annotations

import io
import random
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import write_workbook  # noqa: E402

from monev.rubric import load_rubric  # noqa: E402

OUT = ROOT / "tests" / "data" / "bad"
EV = "https://ppid.contoh.go.id/bukti"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    rubric = load_rubric()
    good = write_workbook(OUT / "_good.xlsx", rubric, [("JI-01", "Ya", EV)]).read_bytes()
    (OUT / "_good.xlsx").unlink()
    files: dict[str, bytes] = {
        "kosong.xlsx": b"",
        "acak.xlsx": random.Random(1).randbytes(4096),
        "data.csv": b"Kode,Jawaban,Bukti\nJI-01,Ya,https://ppid.contoh.go.id\n",
        "csv-bernama-xlsx.xlsx": b"Kode;Jawaban;Bukti\nJI-01;Ya;\n",
        "terpotong.xlsx": good[: len(good) // 2],
        "lama.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", bytes(200 * 1024 * 1024))
    files["bom.xlsx"] = buf.getvalue()
    for name, data in files.items():
        (OUT / name).write_bytes(data)

    from msoffcrypto.format.ooxml import OOXMLFile

    src = OUT / "_plain.xlsx"
    write_workbook(src, rubric, [("JI-01", "Ya", EV)])
    with src.open("rb") as fin, (OUT / "sandi.xlsx").open("wb") as fout:
        office = OOXMLFile(fin)
        office.encrypt("rahasia", fout)
    src.unlink()

    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(good))
    wb["Kuesioner"].title = "Kuisioner"
    wb.save(OUT / "salah-nama-lembar.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(good))
    ws = wb["Kuesioner"]
    for cell in ws[6]:
        if cell.value == "Bukti":
            cell.value = "Lampiran"
    wb.save(OUT / "tanpa-kolom-bukti.xlsx")
    (OUT / "~$dinkes.xlsx").write_bytes(b"\x0bmonev     " + bytes(154))
    write_workbook(
        OUT / "jawaban-salah.xlsx",
        rubric,
        [
            ("JI-01", "Mungkin", EV),
            ("JI-02", "ya ", EV),
            ("KI-05", "setiap hari", EV),
            ("PI-03", "sebagian", EV),
            ("KO-02.1", "Ya", "lihat lemari arsip"),
            ("DG-01", "Ya", "https://drive.google.com/file/d/x/view?usp=sharing"),
        ],
        office="Dinas Jawaban Salah",
    )
    print(f"wrote {len(list(OUT.iterdir()))} files to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
