"""One problem type for everything wrong in user input, and the catalogue of its codes.

A :class:`Problem` names where (file, sheet, cell), what (a stable code with a severity) and what to
do. Codes never change meaning; new ones get new numbers. Texts live in ``messages.yaml`` under
``problem.<CODE>`` (what is wrong) and ``todo.<CODE>`` (what to do).

Severities:

* ``fatal``: the file cannot be scored at all; it is listed under ``rejected``.
* ``error``: one answer cannot be scored; it counts 0 and the office is still scored.
* ``warning``: scored, but a verifier will likely not accept it, or something looks off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from monev.i18n import DEFAULT_LANG, Detail, t

Severity = Literal["fatal", "error", "warning"]
_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")

#: code -> (severity, short English name). The README's catalogue is generated from this table.
CATALOGUE: dict[str, tuple[Severity, str]] = {
    # File-level: the file is rejected, the batch goes on.
    "MV101": ("fatal", "file-unreadable"),
    "MV102": ("fatal", "file-empty"),
    "MV103": ("fatal", "legacy-xls"),
    "MV104": ("fatal", "password-protected"),
    "MV105": ("fatal", "sheet-missing"),
    "MV106": ("fatal", "header-missing"),
    "MV107": ("fatal", "file-too-large"),
    "MV108": ("fatal", "not-a-workbook"),
    "MV109": ("warning", "lock-file-skipped"),
    # Hostile input (issue 9): limits and isolation.
    "MV110": ("fatal", "file-stopped-reader"),
    "MV111": ("fatal", "limit-exceeded"),
    # Answers.
    "MV201": ("error", "answer-invalid"),
    "MV202": ("error", "answer-missing"),
    "MV203": ("warning", "code-unknown"),
    "MV204": ("error", "indicator-missing"),
    "MV205": ("error", "code-duplicated"),
    "MV206": ("error", "formula-without-value"),
    "MV207": ("warning", "answer-on-heading-row"),
    "MV208": ("error", "percent-out-of-range"),
    "MV209": ("warning", "percent-as-fraction"),
    "MV210": ("error", "number-expected"),
    "MV211": ("error", "questionnaire-empty"),
    "MV212": ("error", "answer-near-miss"),
    "MV213": ("error", "verifier-decision-unknown"),
    "MV214": ("error", "answer-excel-error"),
    "MV215": ("warning", "verifier-decision-from-office-ignored"),
    "MV216": ("error", "verifier-decision-near-miss"),
    # Evidence.
    "MV301": ("warning", "claim-without-evidence"),
    "MV302": ("warning", "evidence-not-link-or-file"),  # retired in 0.2: see MV310
    "MV303": ("warning", "evidence-drive-sharing-link"),
    "MV304": ("warning", "evidence-link-failed"),
    "MV305": ("warning", "evidence-file-failed"),
    "MV306": ("warning", "evidence-link-internal"),
    "MV307": ("warning", "evidence-link-not-reached"),
    "MV310": ("warning", "evidence-unverifiable"),
    "MV311": ("warning", "evidence-local-path"),
    "MV312": ("warning", "evidence-link-without-scheme"),
    "MV313": ("warning", "evidence-link-mistyped"),
    # Identity and stages.
    "MV401": ("warning", "office-name-missing"),
    "MV407": ("warning", "office-name-formula"),
    "MV402": ("warning", "rubric-id-mismatch"),
    "MV403": ("warning", "rubric-version-older"),
    "MV404": ("error", "stage-score-invalid"),
    "MV405": ("warning", "stage-incomplete"),
    "MV406": ("warning", "unit-type-unknown"),
    # wp-rfmt: computed answers (issue 12).
    "MV630": ("error", "computed-number-missing"),
    "MV631": ("error", "computed-division-by-zero"),
    "MV632": ("error", "computed-out-of-range"),
    "MV633": ("warning", "computed-answer-typed"),
    # wp-rfmt: assessor tracks (issue 12).
    "MV634": ("warning", "track-unknown"),
    "MV635": ("warning", "track-missing"),
    # wp-rfmt: stage parts and variants in the stages file (issue 12).
    "MV636": ("error", "stages-variant-unknown"),
    "MV637": ("error", "stages-variant-missing"),
    "MV638": ("error", "stages-part-missing"),
    "MV639": ("error", "stages-part-invalid"),
    "MV640": ("warning", "stages-whole-score-not-used"),
    # Identity: one office, one rank.
    "MV430": ("warning", "office-copy-skipped"),
    # The verifier's stages file (monev score --stages) and stage scores typed in workbooks.
    "MV410": ("warning", "stage-in-workbook-ignored"),
    "MV411": ("warning", "stage-in-workbook-differs"),
    "MV412": ("warning", "stages-row-missing"),
    "MV413": ("warning", "stages-row-unknown-office"),
    "MV414": ("error", "stages-row-duplicated"),
    "MV415": ("error", "stages-column-unknown"),
    "MV416": ("warning", "stages-column-missing"),
    "MV417": ("fatal", "stages-file-unusable"),
    "MV418": ("error", "stages-column-duplicated"),
    "MV419": ("warning", "stages-row-without-office"),
    # Output: values as they are written (wp-rounding).
    "MV501": ("warning", "text-cut-in-xlsx"),
    "MV502": ("warning", "problems-not-listed"),
    # The city's office registry (--offices).
    "MV440": ("fatal", "registry-unreadable"),
    "MV441": ("fatal", "registry-header-missing"),
    "MV442": ("error", "registry-name-missing"),
    "MV443": ("error", "registry-unit-type-invalid"),
    "MV444": ("error", "registry-kecamatan-missing"),
    "MV445": ("error", "registry-name-duplicated"),
    "MV446": ("fatal", "office-not-in-registry"),
    "MV447": ("warning", "registry-identity-differs"),
    "MV448": ("warning", "registry-old-name-used"),
    "MV449": ("fatal", "registry-empty"),
    # 6xx rubric files: a rubric workbook read by `monev rubric import` (wp-rbook).
    "MV601": ("fatal", "rubric-sheet-missing"),
    "MV602": ("error", "rubric-column-unknown"),
    "MV603": ("error", "rubric-field-unknown"),
    "MV604": ("error", "rubric-row-parent-unknown"),
    "MV605": ("error", "rubric-value-invalid"),
    "MV606": ("error", "rubric-code-duplicated"),
    "MV607": ("error", "rubric-reference-unknown"),
    "MV608": ("error", "rubric-weights-total"),
    "MV609": ("error", "rubric-answer-type-unknown"),
    "MV610": ("error", "rubric-value-required"),
    "MV611": ("error", "rubric-number-expected"),
    "MV612": ("error", "rubric-value-not-used"),
    "MV613": ("error", "rubric-column-duplicated"),
    "MV614": ("error", "rubric-key-column-missing"),
    "MV615": ("error", "rubric-sheet-empty"),
    "MV616": ("error", "rubric-field-duplicated"),
    # Rubric workbooks as staff really edit them (wp-rbook2): what a cell's value hides.
    "MV617": ("error", "rubric-formula-without-value"),
    "MV618": ("error", "rubric-excel-error"),
    "MV619": ("error", "rubric-percent-typed"),
    "MV620": ("error", "rubric-date-in-cell"),
    "MV621": ("error", "rubric-merged-cells"),
    "MV622": ("error", "rubric-sheet-renamed"),
    "MV623": ("error", "rubric-too-many-rows"),
    "MV624": ("error", "rubric-number-inexact"),
    "MV625": ("error", "rubric-number-ambiguous"),
}


class Key(str):
    """A parameter that is itself a catalogue key (e.g. a file kind), translated when shown.

    ``Problem.make("MV108", name, kind=Key("kind.text"))``. Plain strings are always shown as
    they are, whatever their first character (an office may type ``@ppid_kota``).
    """


@dataclass(frozen=True)
class Problem:
    """Something wrong in one input, with its place and what to do.

    The place is typed: ``file``, ``sheet``, ``cell`` (A1 form) and, derived from it, ``row`` and
    ``column`` (1-based, as Excel numbers them; 0 when the problem has no cell), plus the
    ``indicator`` it concerns. Problems have one ordering (:meth:`sort_key`): by file, sheet, row,
    column, then code, so that a list of them reads top to bottom like the workbook.
    """

    file: str
    sheet: str = ""
    cell: str = ""
    code: str = ""
    #: (name, value, kind): kind ``"key"`` marks a catalogue key (:class:`Key`), ``"detail"`` a
    #: library's own text (:class:`Detail`), ``""`` a value shown as it is.
    params: tuple[tuple[str, str, str], ...] = field(default=(), compare=False)
    row: int = field(default=0, init=False, compare=False)
    column: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"unknown problem code {self.code!r}")
        m = _CELL.match(self.cell)
        if m:
            column = 0
            for ch in m.group(1).upper():
                column = column * 26 + ord(ch) - 64
            object.__setattr__(self, "row", int(m.group(2)))
            object.__setattr__(self, "column", column)

    @property
    def indicator(self) -> str:
        """The indicator (or checklist item) code the problem concerns, "" when none."""
        return self.param("code")

    def sort_key(self) -> tuple[str, str, int, int, str]:
        return (self.file, self.sheet, self.row, self.column, self.code)

    def __lt__(self, other: Problem) -> bool:
        return self.sort_key() < other.sort_key()

    @classmethod
    def make(
        cls, code: str, file: str, sheet: str = "", cell: str = "", /, **params: Any
    ) -> Problem:
        return cls(
            file=file,
            sheet=sheet,
            cell=cell,
            code=code,
            params=tuple(sorted((k, str(v), _kind(v)) for k, v in map(_bool, params.items()))),
        )

    @property
    def severity(self) -> Severity:
        return CATALOGUE[self.code][0]

    @property
    def name(self) -> str:
        return CATALOGUE[self.code][1]

    @property
    def location(self) -> str:
        """``dinkes.xlsx: Kuesioner!F17`` or just the file name."""
        where = f"{self.sheet}!{self.cell}" if self.sheet and self.cell else self.sheet
        return f"{self.file}: {where}" if where else self.file

    def _params(self, lang: str) -> dict[str, str]:
        """Parameters, with :class:`Key` values translated into ``lang`` (a key's text may name
        the problem's other parameters: ``{count} bagian zip``)."""
        raw = {k: v for k, v, kind in self.params if kind != "key"}
        return {k: t(v, lang, **raw) if kind == "key" else v for k, v, kind in self.params}

    def details(self) -> list[str]:
        """The library's own texts kept as technical detail (:class:`Detail`)."""
        return [v for _, v, kind in self.params if kind == "detail" and v]

    def param(self, name: str) -> str:
        """One parameter's raw value ("" when absent)."""
        return next((v for k, v, _ in self.params if k == name), "")

    def message(self, lang: str = DEFAULT_LANG) -> str:
        """What is wrong, in ``lang``; a library's own text only after it, as a detail."""
        text = t(f"problem.{self.code}", lang, **self._params(lang))
        details = self.details()
        if details:
            text += " (" + t("text.technical", lang, detail="; ".join(details)) + ")"
        return text

    def todo(self, lang: str = DEFAULT_LANG) -> str:
        return t(f"todo.{self.code}", lang, **self._params(lang))

    def text(self, lang: str = DEFAULT_LANG) -> str:
        """One line that starts with the location and ends with what to do."""
        return f"[{self.location}] {self.code} {self.message(lang)}. {self.todo(lang)}"

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "sheet": self.sheet,
            "cell": self.cell,
            "message": self.message(lang),
            "todo": self.todo(lang),
        }


def _bool(item: tuple[str, Any]) -> tuple[str, Any]:
    """An Excel TRUE/FALSE (a bool read from a cell) is shown as Ya/Tidak, never ``True``."""
    name, value = item
    if isinstance(value, bool):
        return name, Key("value.true" if value else "value.false")
    return item


def _kind(value: Any) -> str:
    return "key" if isinstance(value, Key) else "detail" if isinstance(value, Detail) else ""


def tally(problems: Iterable[Problem]) -> tuple[int, int]:
    """(errors, warnings): fatal problems count as errors."""
    errors = warnings = 0
    for p in problems:
        if p.severity == "warning":
            warnings += 1
        else:
            errors += 1
    return errors, warnings


def sort_key(p: Problem) -> tuple[str, str, int, int, str]:
    """The one reading order of problems (:meth:`Problem.sort_key`)."""
    return p.sort_key()


def catalogue_markdown(lang: str = "en") -> str:
    """The problem catalogue as a Markdown table (used to generate docs/problems.md)."""
    lines = ["| code | severity | name | message | what to do |", "|---|---|---|---|---|"]
    for code, (severity, name) in CATALOGUE.items():
        entry_msg = t(f"problem.{code}", lang).replace("|", "\\|")
        entry_todo = t(f"todo.{code}", lang).replace("|", "\\|")
        lines.append(f"| {code} | {severity} | {name} | {entry_msg} | {entry_todo} |")
    return "\n".join(lines) + "\n"
