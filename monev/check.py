"""``monev check``: one office checks its own workbook before sending it.

:func:`check_file` returns a :class:`CheckReport`: every problem with its cell, and the
provisional claimed and verifiable SAQ when the file could be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monev.batch import ReadOptions, read_one
from monev.evidence import LinkChecker, apply_checks, evidence_targets
from monev.i18n import DEFAULT_LANG, fmt_number, t
from monev.problems import Problem, sort_key, tally
from monev.results import OfficeResult, Rejected, RunResult
from monev.rubric import Rubric
from monev.scoring import OfficeScore, score
from monev.text import capped, for_terminal


@dataclass
class CheckReport:
    file: str
    office: str
    problems: list[Problem]
    score: OfficeScore | None
    #: The office as ``monev score`` would enter it in results.json (None when rejected).
    result: OfficeResult | None = None
    rubric: Rubric | None = None

    @property
    def errors(self) -> int:
        return tally(self.problems)[0]

    @property
    def warnings(self) -> int:
        return tally(self.problems)[1]

    def to_dict(self, lang: str = DEFAULT_LANG) -> dict[str, Any]:
        s = self.score
        return {
            "file": self.file,
            "office": self.office,
            "rejected": s is None,
            "problems": [p.to_dict(lang) for p in self.problems],
            "saq_claimed": float(s.saq_claimed) if s else None,
            "saq_verifiable": float(s.saq_verifiable) if s else None,
            "predicate": (s.predicate or None) if s else None,
            # The same entry as results.json's offices[] (rank 0: a check ranks nothing).
            "entry": self._entry(lang),
        }

    def _entry(self, lang: str) -> dict[str, Any] | None:
        if self.result is None or self.rubric is None:
            return None
        return RunResult(self.rubric, [self.result]).office_dict(self.result, lang)

    def text(self, lang: str = DEFAULT_LANG) -> str:
        """Plain text for a terminal: control characters shown as escapes, at most
        :data:`monev.text.PROBLEMS_SHOWN` problems, then how many more (``--json`` has all)."""
        head = f"{self.file} ({self.office})" if self.office else self.file
        if not self.problems:
            lines = [f"{head}: {t('cli.check.clean', lang)}"]
        else:
            lines = [
                f"{head}: {t('cli.check.count', lang, errors=self.errors, warnings=self.warnings)}"
            ]
            shown, more = capped(self.problems)
            if more:
                shown.append(Problem.make("MV502", self.file, count=more))
            width = max(len(t(f"severity.{p.severity}", lang)) for p in shown)
            lines += [
                f"  {t(f'severity.{p.severity}', lang):{width}} {p.text(lang)}" for p in shown
            ]
        if self.score:
            lines.append(
                "  "
                + t(
                    "cli.check.provisional",
                    lang,
                    claimed=fmt_number(self.score.saq_claimed, lang),
                    verifiable=fmt_number(self.score.saq_verifiable, lang),
                    predicate=self.score.predicate,
                )
            )
        # One value, one line: a newline or escape sequence in a cell never reaches the terminal.
        return "\n".join(for_terminal(line) for line in lines)


def check_file(
    path: str | Path,
    rubric: Rubric,
    links: LinkChecker | None = None,
    *,
    verifier_from_workbooks: bool = False,
) -> CheckReport:
    """Read and check one workbook; with ``links``, also check its evidence links and files.

    A decision in the workbook's Verifikasi column counts only with ``verifier_from_workbooks``
    (see :class:`monev.batch.ReadOptions`)."""
    path = Path(path)
    q = read_one(
        path, rubric, path.name, ReadOptions(verifier_from_workbooks=verifier_from_workbooks)
    )
    if isinstance(q, Rejected):
        return CheckReport(q.file, "", sorted(q.problems, key=sort_key), None)
    if links is not None:
        q = apply_checks(q, path.parent, links.check(evidence_targets(q)[0]))
    s = score(rubric, q)
    problems = sorted(q.problems, key=sort_key)
    result = OfficeResult(q.file, q.sha256, q.office, s, q.problems)
    return CheckReport(q.file, q.office.name, problems, s, result, rubric)
