"""Build scoring_rules/ki-jatim-2024.yaml from the reconstructed indicator list.

The input is shared/domain/indicators-reconstructed.csv (about 55 items gathered from public PPID
pages, each with its source). The output is the shipped rubric. Run it again after the CSV changes:

    python scripts/build_rubric.py ../shared/domain/indicators-reconstructed.csv

The few items that are not plain Ya/Tidak are mapped here, by code, to the answer types the rubric
schema knows (see docs/rubric.md).
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "scoring_rules" / "ki-jatim-2024.yaml"

ASPECT_ORDER = ["JI", "DG", "KI", "PI", "KO", "SP"]

# Items whose answer is not Ya/Tidak, by code (from the `answer` column of the CSV).
SPECIAL_ANSWERS: dict[str, dict] = {
    "KI-05": {"type": "threshold", "min": 4, "unit": "kali per minggu"},
    "PI-03": {"type": "percent"},
    "PI-05": {"type": "info"},
}
CHECKLISTS: dict[str, list[str]] = {
    "KO-02": [
        "SOP penyusunan DIP",
        "SOP pelayanan permohonan informasi",
        "SOP uji konsekuensi",
        "SOP penanganan keberatan",
        "SOP fasilitasi sengketa informasi",
        "SOP maklumat pelayanan",
    ],
}
LEGAL_BASIS_PATTERNS = [r"UU KIP Pasal [0-9\-]+", r"Perki 1/2021( Pasal \d+)?"]


def legal_basis(*texts: str) -> str | None:
    found: list[str] = []
    for text in texts:
        for pattern in LEGAL_BASIS_PATTERNS:
            for m in re.finditer(pattern, text):
                if m.group(0) not in found:
                    found.append(m.group(0))
    return "; ".join(found) or None


def build(csv_path: Path) -> dict:
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    aspects: dict[str, dict] = {}
    indicators = []
    for row in rows:
        code = row["code"]
        aspects.setdefault(
            row["aspect_code"],
            {
                "code": row["aspect_code"],
                "name": row["aspect"],
                "weight": int(row["aspect_weight_percent"]),
            },
        )
        answer = SPECIAL_ANSWERS.get(code, {"type": "ya_tidak"})
        if code in CHECKLISTS:
            answer = {
                "type": "checklist",
                "items": [
                    {"code": f"{code}.{i}", "label": label}
                    for i, label in enumerate(CHECKLISTS[code], start=1)
                ],
            }
        ind = {
            "code": code,
            "aspect": row["aspect_code"],
            "question": row["question"],
            "answer": answer,
            "evidence_required": answer["type"] != "info",
            "evidence_hint": row["evidence"],
            "source": row["source"],
        }
        basis = legal_basis(row["question"], row["source"])
        if basis:
            ind["legal_basis"] = basis
        indicators.append(ind)
    indicators.sort(key=lambda i: (ASPECT_ORDER.index(i["aspect"]), i["code"]))
    return {
        "id": "ki-jatim-2024",
        "title": "SAQ Monev Keterbukaan Informasi Publik KI Jawa Timur 2024 (rekonstruksi)",
        "year": 2024,
        "category": "Pemkab/Pemkot dan PPID Pelaksana",
        "version": "1.0.0",
        "reconstructed": True,
        "source_notes": (
            f"RECONSTRUCTED, NOT OFFICIAL. Built from {len(indicators)} items published on "
            "PPID and news pages (each indicator names its source). KI Jatim used 78 questions "
            "in 2024 and does not publish per-question points. Aspect weights are the KI Pusat "
            "2025 weights reported by KI Kaltim (Jenis Informasi 40, Digitalisasi 20, others "
            "10). Indicators share their aspect's weight equally. Stage weights 80/10/10 are an "
            "ASSUMPTION: KI Jatim does not publish them; only the SAQ >= 80 gate to visitasi "
            "is published."
        ),
        "aspects": [aspects[c] for c in ASPECT_ORDER],
        "indicators": indicators,
        "predicates": [
            {"name": "Informatif", "min": 90},
            {"name": "Menuju Informatif", "min": 80},
            {"name": "Cukup Informatif", "min": 60},
            {"name": "Kurang Informatif", "min": 40},
            {"name": "Tidak Informatif", "min": 0},
        ],
        "stages": [
            {"code": "saq", "name": "Self-Assessment Questionnaire", "weight": 80},
            {
                "code": "visitasi",
                "name": "Visitasi / verifikasi faktual",
                "weight": 10,
                "gate": {"stage": "saq", "min": 80},
            },
            {
                "code": "wawancara",
                "name": "Wawancara / presentasi",
                "weight": 10,
                "gate": {"stage": "saq", "min": 80},
            },
        ],
    }


def main(argv: list[str]) -> int:
    src = (
        Path(argv[1])
        if len(argv) > 1
        else ROOT.parent / "shared/domain/indicators-reconstructed.csv"
    )
    rubric = build(src)
    header = (
        "# Rubric ki-jatim-2024: generated by scripts/build_rubric.py from\n"
        "# shared/domain/indicators-reconstructed.csv. RECONSTRUCTED from public pages;\n"
        "# it is NOT the official KI Jatim 78-item SAQ. Stage weights 80/10/10 are an\n"
        "# assumption (not published).\n"
    )
    text = yaml.safe_dump(rubric, allow_unicode=True, sort_keys=False, width=100)
    OUT.write_text(header + text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(rubric['indicators'])} indicators")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
