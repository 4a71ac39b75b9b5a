"""The library's check of one stored upload, and what the office's result page shows.

Reading goes through :func:`monev.batch.read_one` (the reader with its bad-file and zip-bomb
guards) and :func:`monev.batch.finish` (the scorer); the plan is :func:`monev.plan.build_plan`.
Nothing here decides a score. Results are recomputed from the stored bytes when shown (a few
tens of milliseconds) and cached per blob, so the database keeps only the summary figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from monev.batch import finish, read_one
from monev.identity import office_key
from monev.plan import Plan, build_plan
from monev.problems import Problem, sort_key, tally
from monev.results import OfficeResult
from monev.rubric import Rubric, load_rubric
from monev.scoring import round2


@dataclass(frozen=True)
class Outcome:
    """One upload as the library sees it."""

    problems: list[Problem]
    result: OfficeResult | None  # None: rejected, cannot be scored
    plan: Plan | None

    @property
    def rejected(self) -> bool:
        return self.result is None

    @property
    def errors(self) -> int:
        return tally(self.problems)[0]

    @property
    def warnings(self) -> int:
        return tally(self.problems)[1]

    def summary(self) -> dict[str, Any]:
        """The figures an :class:`~monev.web.db.Upload` row keeps (Decimals as text)."""
        s = self.result.score if self.result else None
        return {
            "status": "rejected" if s is None else "checked",
            "errors": self.errors,
            "warnings": self.warnings,
            "saq_claimed": str(s.saq_claimed) if s else None,
            "saq_verifiable": str(s.saq_verifiable) if s else None,
            "score": str(s.score) if s else None,
            "predicate": s.predicate if s else None,
        }


@lru_cache(maxsize=8)
def rubric(rubric_id: str) -> Rubric:
    return load_rubric(rubric_id)


@lru_cache(maxsize=256)
def check_blob(path: Path, rubric_id: str, name: str) -> Outcome:
    """Read, check and score one stored upload (``name``: the display name in problems)."""
    rb = rubric(rubric_id)
    res = finish(read_one(path, rb, name), rb)
    if isinstance(res, OfficeResult):
        return Outcome(sorted(res.problems, key=sort_key), res, build_plan(rb, res.score))
    return Outcome(sorted(res.problems, key=sort_key), None, None)


def other_office(outcome: Outcome, office_name: str) -> str:
    """The office named in the workbook when it is not the uploader's office, else ""."""
    if outcome.result is None:
        return ""
    named = outcome.result.office.name
    return named if named and office_key(named) != office_key(office_name) else ""


def page_context(rb: Rubric, outcome: Outcome) -> dict[str, Any]:
    """Questions, evidence hints and aspect bars for the result page (same as the report's)."""
    questions = {}
    for ind, item in rb.rows():
        questions[item.code if item else ind.code] = item.label if item else ind.question
    aspects = []
    if outcome.result is not None:
        for a in outcome.result.score.aspects:
            aspects.append(
                {
                    "code": a.code,
                    "name": a.name,
                    "weight": a.weight,
                    "score": round2(a.verifiable),
                    "pct": float(a.verifiable / Fraction(a.weight)) * 100,
                }
            )
    return {
        "questions": questions,
        "hints": {i.code: i.evidence_hint for i in rb.indicators},
        "aspects": aspects,
    }


def warm_up(rubric_ids: list[str]) -> None:
    """Load these rubrics and run the whole check once on a blank template of each, so that
    the first uploads after a start do not each pay for imports and rubric loading (measured
    with scripts/web_load.py: a cold first upload took 0.8–1 s, a warm one about 0.1 s)."""
    import tempfile

    from monev.template import build_template

    for rubric_id in rubric_ids:
        rb = rubric(rubric_id)
        with tempfile.TemporaryDirectory(prefix="monev-warm-") as tmp:
            path = Path(tmp) / "kosong.xlsx"
            build_template(rb).save(path)
            check_blob.__wrapped__(path, rubric_id, path.name)
