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

from dataclasses import dataclass, field
from typing import Any, Literal

from monev.i18n import DEFAULT_LANG, t

Severity = Literal["fatal", "error", "warning"]

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
    # Identity and stages.
    "MV401": ("warning", "office-name-missing"),
    "MV402": ("warning", "rubric-id-mismatch"),
    "MV403": ("warning", "rubric-version-older"),
    "MV404": ("error", "stage-score-invalid"),
    "MV405": ("warning", "stage-incomplete"),
    "MV406": ("warning", "unit-type-unknown"),
    # Identity: one office, one rank.
    "MV430": ("warning", "office-copy-skipped"),
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
}


class Key(str):
    """A parameter that is itself a catalogue key (e.g. a file kind), translated when shown.

    ``Problem.make("MV108", name, kind=Key("kind.text"))``. Plain strings are always shown as
    they are, whatever their first character (an office may type ``@ppid_kota``).
    """


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong in one input, with its place and what to do.

    Problems sort by file, sheet, row and column of their cell, then code, so that a list of them
    reads top to bottom like the workbook.
    """

    file: str
    sheet: str = ""
    cell: str = ""
    code: str = ""
    #: (name, value, is_key): ``is_key`` marks a value that is a catalogue key (:class:`Key`).
    params: tuple[tuple[str, str, bool], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise ValueError(f"unknown problem code {self.code!r}")

    @classmethod
    def make(
        cls, code: str, file: str, sheet: str = "", cell: str = "", /, **params: Any
    ) -> Problem:
        return cls(
            file=file,
            sheet=sheet,
            cell=cell,
            code=code,
            params=tuple(sorted((k, str(v), isinstance(v, Key)) for k, v in params.items())),
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
        """Parameters, with :class:`Key` values translated into ``lang``."""
        return {k: t(v, lang) if is_key else v for k, v, is_key in self.params}

    def param(self, name: str) -> str:
        """One parameter's raw value ("" when absent)."""
        return next((v for k, v, _ in self.params if k == name), "")

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(f"problem.{self.code}", lang, **self._params(lang))

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


def sort_key(p: Problem) -> tuple[int, str, str, int, str, str]:
    """Reading order inside one file: sheet, then row, then column."""
    row = int("".join(ch for ch in p.cell if ch.isdigit()) or 0)
    col = "".join(ch for ch in p.cell if ch.isalpha())
    return (0, p.file, p.sheet, row, col.rjust(3), p.code)


def catalogue_markdown(lang: str = "en") -> str:
    """The problem catalogue as a Markdown table (used to generate docs/problems.md)."""
    lines = ["| code | severity | name | message | what to do |", "|---|---|---|---|---|"]
    for code, (severity, name) in CATALOGUE.items():
        entry_msg = t(f"problem.{code}", lang).replace("|", "\\|")
        entry_todo = t(f"todo.{code}", lang).replace("|", "\\|")
        lines.append(f"| {code} | {severity} | {name} | {entry_msg} | {entry_todo} |")
    return "\n".join(lines) + "\n"
