"""Step 2 of the pipeline: read a filled questionnaire workbook and check it against a rubric.

The reader finds the header row and the columns by name (not by position), rows by ``Kode``, and
collects every problem with its sheet and cell. It never raises on bad user input: a file that
cannot be read at all comes back with a ``fatal`` problem and no answers. It reads with
python-calamine (.xlsx, .xlsm, .ods), which is several times faster than openpyxl.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from monev.problems import Problem
from monev.rubric import AnswerError, Checklist, Parsed, Rubric
from monev.scan import scan_workbook

SHEET_IDENTITY = "Identitas"
SHEET_QUESTIONS = "Kuesioner"

#: Column keys -> the header text the template writes. The reader accepts these and ALIASES.
COLUMNS = {
    "code": "Kode",
    "question": "Pertanyaan",
    "hint": "Petunjuk Jawaban",
    "accepted": "Bukti yang Diterima",
    "answer": "Jawaban",
    "evidence": "Bukti",
    "note": "Keterangan",
    "verification": "Verifikasi",
    "verifier_note": "Catatan Verifikator",
}
ALIASES = {
    "code": ["kode", "kode indikator", "no. kode"],
    "question": ["pertanyaan", "indikator"],
    "answer": ["jawaban", "jawaban anda"],
    "evidence": [
        "bukti",
        "bukti dukung",
        "tautan bukti",
        "link bukti",
        "bukti (tautan / nama berkas)",
    ],
    "note": ["keterangan", "catatan"],
    "verification": ["verifikasi", "hasil verifikasi"],
    "verifier_note": ["catatan verifikator"],
}
REQUIRED = ("code", "answer", "evidence")
HEADER_SEARCH_ROWS = 40

#: Identity labels on the Identitas sheet -> keys. Stage scores are ``Nilai <Stage code>``.
IDENTITY = {
    "office": "Nama Kantor",
    "unit_type": "Jenis Unit",
    "kecamatan": "Kecamatan",
    "respondent": "Nama Responden",
    "position": "Jabatan",
    "filled_on": "Tanggal Pengisian",
    "rubric_id": "ID Rubrik",
    "rubric_version": "Versi Rubrik",
}
UNIT_TYPES = ["PPID Utama", "OPD", "Kecamatan", "Kelurahan"]
VERDICTS = {"sesuai": "Sesuai", "tidak sesuai": "Tidak Sesuai"}


EVIDENCE_FILE = re.compile(
    r"^[^/\\:*?\"<>|]+\.(pdf|jpe?g|png|gif|webp|docx?|xlsx?|odt|ods|pptx?)$", re.I
)
DRIVE_SHARING = re.compile(r"(drive|docs)\.google\.com/.*(usp=sharing|/edit|/view|open\?id=)", re.I)


def stage_label(code: str) -> str:
    return f"Nilai {code.replace('_', ' ').title()}"


@dataclass(frozen=True)
class Answer:
    """One questionnaire row as read: the parsed answer (None when missing or invalid)."""

    code: str
    row: int
    parsed: Parsed | None
    raw: str
    evidence: str
    note: str = ""
    verification: str | None = None
    verifier_note: str = ""
    evidence_cell: str = ""
    #: Set by the evidence check (``--check-links``): the statuses when every piece failed.
    evidence_failed: str = ""

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence.strip())


@dataclass
class Office:
    name: str
    unit_type: str = ""
    kecamatan: str = ""
    respondent: str = ""
    position: str = ""
    filled_on: str = ""


@dataclass
class Questionnaire:
    """A workbook as read: who filled it, the answers by code, stage scores and problems."""

    file: str
    sha256: str
    office: Office
    rubric_id: str = ""
    rubric_version: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    stage_scores: dict[str, Decimal] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(p.severity == "fatal" for p in self.problems)


def col_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, col: int) -> str:
    """Zero-based row/column -> ``F17``."""
    return f"{col_letter(col)}{row + 1}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    return " ".join(str(value).split())


def _key(value: Any) -> str:
    return _text(value).casefold().rstrip(":*").strip()


_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def formula_cells_without_value(path: Path, sheet: str) -> set[str]:
    """Cells of an .xlsx sheet that hold a formula but no cached value (A1 references).

    calamine reports such cells as empty; this tells them apart from cells left empty, so that
    an answer given by an uncalculated formula is reported as such (MV206), not as missing.
    """
    import xml.etree.ElementTree as ET

    try:
        with zipfile.ZipFile(path) as zf:
            wb = ET.fromstring(zf.read("xl/workbook.xml"))
            rid = next(
                (
                    s.get(f"{_NS_REL}id")
                    for s in wb.iter(f"{_NS_MAIN}sheet")
                    if s.get("name") == sheet
                ),
                None,
            )
            rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = next(
                (
                    r.get("Target", "")
                    for r in rels.iter(f"{_NS_PKG}Relationship")
                    if r.get("Id") == rid
                ),
                "",
            )
            name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            found = set()
            with zf.open(name) as fh:
                for _, elem in ET.iterparse(fh):
                    if elem.tag == f"{_NS_MAIN}c":
                        f = elem.find(f"{_NS_MAIN}f")
                        v = elem.find(f"{_NS_MAIN}v")
                        if f is not None and (v is None or not (v.text or "").strip()):
                            found.add(elem.get("r", ""))
                        elem.clear()
            return found
    except (KeyError, zipfile.BadZipFile, ET.ParseError, OSError):
        return set()


def is_lock_file(path: Path) -> bool:
    return path.name.startswith("~$") or path.name.startswith(".~lock.")


def _find_sheet(names: list[str], wanted: str) -> str | None:
    for n in names:
        if n.strip().casefold() == wanted.casefold():
            return n
    return None


def _header(rows: list[list[Any]]) -> tuple[int, dict[str, int]] | None:
    """The first row (in the first rows) that names the required columns, and the columns."""
    best: tuple[int, dict[str, int]] | None = None
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cols: dict[str, int] = {}
        for c, value in enumerate(row):
            k = _key(value)
            for key, aliases in ALIASES.items():
                if k in aliases and key not in cols:
                    cols[key] = c
        if "code" in cols and "answer" in cols:
            if all(k in cols for k in REQUIRED):
                return r, cols
            best = best or (r, cols)
    return best


def _identity(rows: list[list[Any]]) -> dict[str, tuple[str, str]]:
    """Label -> (value, cell) for every label cell followed by a value on its right."""
    found: dict[str, tuple[str, str]] = {}
    for r, row in enumerate(rows[:60]):
        for c, value in enumerate(row):
            k = _key(value)
            if not k or k in found:
                continue
            v = row[c + 1] if c + 1 < len(row) else ""
            text = repr(v) if isinstance(v, float) and not v.is_integer() else _text(v)
            found[k] = (text, cell_ref(r, c + 1))
    return found


def split_evidence(evidence: str) -> list[str]:
    """The pieces of an evidence cell: separated by new lines, semicolons or before a link."""
    return [p.strip() for p in re.split(r"[\n;]+|\s+(?=https?://)", evidence) if p.strip()]


def _evidence_problems(code: str, evidence: str, file: str, cell: str) -> list[Problem]:
    out = []
    for part in split_evidence(evidence):
        if part.lower().startswith(("http://", "https://")):
            if DRIVE_SHARING.search(part):
                out.append(Problem.make("MV303", file, SHEET_QUESTIONS, cell, code=code))
        elif not EVIDENCE_FILE.match(part):
            out.append(
                Problem.make("MV302", file, SHEET_QUESTIONS, cell, code=code, evidence=part[:60])
            )
    return out


def read_questionnaire(
    path: str | Path, rubric: Rubric, *, display_name: str | None = None
) -> Questionnaire:
    """Read one filled workbook and check it against ``rubric``. Never raises on bad input."""
    path = Path(path)
    name = display_name or path.name
    pre = scan_workbook(path, name, (SHEET_QUESTIONS, SHEET_IDENTITY))  # limits before work
    q = Questionnaire(file=name, sha256=pre.sha256, office=Office(name=path.stem))
    if pre.problem:
        q.problems.append(pre.problem)
        return q
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        sheet_names = list(wb.sheet_names)
        qname = _find_sheet(sheet_names, SHEET_QUESTIONS)
        if qname is None:
            close = difflib.get_close_matches(SHEET_QUESTIONS, sheet_names, n=1, cutoff=0.5)
            q.problems.append(
                Problem.make(
                    "MV105",
                    name,
                    SHEET_QUESTIONS,
                    "",
                    sheet=SHEET_QUESTIONS,
                    found=", ".join(sheet_names) or "-",
                    suggestion=f" (mungkin '{close[0]}'?)" if close else "",
                )
            )
            return q
        rows = wb.get_sheet_by_name(qname).to_python(skip_empty_area=False)
        iname = _find_sheet(sheet_names, SHEET_IDENTITY)
        id_rows = wb.get_sheet_by_name(iname).to_python(skip_empty_area=False) if iname else []
        wb.close()
    except Exception as exc:  # calamine raises many types for broken files
        if type(exc).__name__ == "PasswordError":
            q.problems.append(Problem.make("MV104", name))
        else:
            q.problems.append(
                Problem.make("MV101", name, reason=f"{type(exc).__name__}: {str(exc)[:80]}")
            )
        return q
    _read_identity(q, id_rows, rubric, path)
    _read_answers(q, rows, rubric)
    if any(p.code == "MV202" for p in q.problems) and pre.kind == "xlsx":
        _formulas_without_values(q, path, qname)
    return q


def _formulas_without_values(q: Questionnaire, path: Path, sheet: str) -> None:
    """Turn 'missing answer' into 'formula without a value' where the cell holds a formula."""
    cells = formula_cells_without_value(path, sheet)
    if not cells:
        return
    q.problems = [
        Problem(p.file, p.sheet, p.cell, "MV206", p.params)
        if p.code == "MV202" and p.cell in cells
        else p
        for p in q.problems
    ]


def _read_identity(q: Questionnaire, rows: list[list[Any]], rubric: Rubric, path: Path) -> None:
    ident = _identity(rows)

    def get(label: str) -> tuple[str, str]:
        return ident.get(label.casefold(), ("", ""))

    office = q.office
    office.name = get(IDENTITY["office"])[0] or ""
    if not office.name:
        office.name = path.stem.replace("_", " ")
        q.problems.append(
            Problem.make(
                "MV401", q.file, SHEET_IDENTITY, get(IDENTITY["office"])[1], name=office.name
            )
        )
    unit, unit_cell = get(IDENTITY["unit_type"])
    if unit:
        match = next((u for u in UNIT_TYPES if u.casefold() == unit.casefold()), None)
        if match is None:
            q.problems.append(
                Problem.make(
                    "MV406",
                    q.file,
                    SHEET_IDENTITY,
                    unit_cell,
                    value=unit,
                    allowed=", ".join(UNIT_TYPES),
                )
            )
        office.unit_type = match or unit
    office.kecamatan = get(IDENTITY["kecamatan"])[0]
    office.respondent = get(IDENTITY["respondent"])[0]
    office.position = get(IDENTITY["position"])[0]
    office.filled_on = get(IDENTITY["filled_on"])[0]
    q.rubric_id, rid_cell = get(IDENTITY["rubric_id"])
    q.rubric_version, ver_cell = get(IDENTITY["rubric_version"])
    if q.rubric_id and q.rubric_id != rubric.id:
        q.problems.append(
            Problem.make(
                "MV402", q.file, SHEET_IDENTITY, rid_cell, found=q.rubric_id, used=rubric.id
            )
        )
    elif q.rubric_version and _older(q.rubric_version, rubric.version):
        q.problems.append(
            Problem.make(
                "MV403",
                q.file,
                SHEET_IDENTITY,
                ver_cell,
                found=q.rubric_version,
                used=rubric.version,
            )
        )
    missing = []
    for stage in rubric.stages[1:]:
        raw, cell = get(stage_label(stage.code))
        if not raw:
            missing.append(stage.code)
            continue
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            value = Decimal(-1)
        if not (0 <= value <= 100) or not value.is_finite():
            q.problems.append(
                Problem.make("MV404", q.file, SHEET_IDENTITY, cell, stage=stage.code, value=raw)
            )
            missing.append(stage.code)
            continue
        q.stage_scores[stage.code] = value
    if q.stage_scores and missing:
        q.problems.append(
            Problem.make("MV405", q.file, SHEET_IDENTITY, "", missing=", ".join(missing))
        )


def _older(found: str, used: str) -> bool:
    try:
        return tuple(int(p) for p in found.split(".")) < tuple(int(p) for p in used.split("."))
    except ValueError:
        return False


def _read_answers(q: Questionnaire, rows: list[list[Any]], rubric: Rubric) -> None:
    header = _header(rows)
    if header is None or not all(k in header[1] for k in REQUIRED):
        have = header[1] if header else {}
        missing = [COLUMNS[k] for k in REQUIRED if k not in have]
        q.problems.append(
            Problem.make("MV106", q.file, SHEET_QUESTIONS, missing=", ".join(missing))
        )
        return
    head_row, cols = header
    specs = {}
    headings = set()
    for ind, item in rubric.rows():
        if item is None and isinstance(ind.answer, Checklist):
            headings.add(ind.code)
        specs[item.code if item else ind.code] = ind

    def cell(row: list[Any], key: str) -> Any:
        c = cols.get(key)
        return row[c] if c is not None and c < len(row) else ""

    first_seen: dict[str, str] = {}
    acol = cols["answer"]
    for r in range(head_row + 1, len(rows)):
        row = rows[r]
        code = _text(cell(row, "code")).upper()
        if not code:
            continue
        where = cell_ref(r, acol)
        if code not in specs:
            q.problems.append(
                Problem.make("MV203", q.file, SHEET_QUESTIONS, cell_ref(r, cols["code"]), code=code)
            )
            continue
        if code in first_seen:
            q.problems.append(
                Problem.make(
                    "MV205",
                    q.file,
                    SHEET_QUESTIONS,
                    cell_ref(r, cols["code"]),
                    code=code,
                    first=first_seen[code],
                )
            )
            continue
        first_seen[code] = cell_ref(r, cols["code"])
        raw = cell(row, "answer")
        raw_text = _text(raw)
        evidence = str(cell(row, "evidence") or "").strip()
        if code in headings:
            if raw_text:
                q.problems.append(Problem.make("MV207", q.file, SHEET_QUESTIONS, where, code=code))
            continue
        indicator = specs[code]
        spec = indicator.answer
        parsed: Parsed | None = None
        if raw_text == "":
            if spec.type != "info":
                q.problems.append(Problem.make("MV202", q.file, SHEET_QUESTIONS, where, code=code))
        else:
            try:
                parsed = spec.parse(raw)
            except AnswerError as exc:
                q.problems.append(
                    Problem.make(
                        "MV201",
                        q.file,
                        SHEET_QUESTIONS,
                        where,
                        code=code,
                        answer=raw_text[:40],
                        allowed=exc.allowed,
                    )
                )
        verdict_raw = _key(cell(row, "verification"))
        answer = Answer(
            code=code,
            row=r + 1,
            parsed=parsed,
            raw=raw_text,
            evidence=evidence,
            note=_text(cell(row, "note")),
            verification=VERDICTS.get(verdict_raw),
            verifier_note=_text(cell(row, "verifier_note")),
            evidence_cell=cell_ref(r, cols["evidence"]),
        )
        q.answers[code] = answer
        ecell = answer.evidence_cell
        if evidence:
            q.problems.extend(_evidence_problems(code, evidence, q.file, ecell))
        elif (
            parsed and parsed.value and indicator.evidence_required and answer.verification is None
        ):
            q.problems.append(Problem.make("MV301", q.file, SHEET_QUESTIONS, ecell, code=code))
    for code in specs:
        if code not in first_seen and code not in headings:
            q.problems.append(Problem.make("MV204", q.file, SHEET_QUESTIONS, code=code))
