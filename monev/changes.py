"""Two versions of one office's workbook, indicator by indicator: what changed between them.

An office uploads its questionnaire again and again before the deadline; this says, for each
indicator of the rubric, what differs between two of those uploads: the answer, the evidence and
its note, the claimed and verifiable points, and the problems that appeared or disappeared.
Problems about no indicator (the Identitas sheet, the file itself) are compared on their own.

Plain data from the reader's and the scorer's results (:class:`~monev.results.OfficeResult`, or
:class:`~monev.results.Rejected` for a file that could not be scored); nothing is read or scored
here. Year over year across a city is :mod:`monev.compare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import PurePath

from monev.problems import Problem, sort_key
from monev.results import OfficeResult, Rejected
from monev.rubric import Rubric
from monev.scoring import IndicatorScore

#: The fields of :class:`Side` compared, in the order a page shows them.
FIELDS = ("answer", "evidence", "note", "claimed", "verifiable", "status")


@dataclass(frozen=True)
class Side:
    """One indicator as one version has it."""

    answer: str  # "" when not answered; a checklist's count of items ticked ("2/4")
    evidence: str  # the evidence cell's text and links; a checklist's items, one a line
    note: str
    claimed: Fraction  # points claimed
    verifiable: Fraction  # points a verifier can check
    max_points: Fraction
    status: str  # the scorer's status (``ok``, ``no_evidence``, ...)


@dataclass(frozen=True)
class IndicatorChange:
    """One indicator in both versions (``None``: that version was not scored)."""

    code: str
    aspect: str
    before: Side | None
    after: Side | None
    appeared: tuple[Problem, ...] = ()
    disappeared: tuple[Problem, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of :data:`FIELDS` that differ (every one when only one side is scored)."""
        if self.before is None and self.after is None:
            return ()
        if self.before is None or self.after is None:
            return FIELDS
        return tuple(f for f in FIELDS if getattr(self.before, f) != getattr(self.after, f))

    @property
    def changed(self) -> bool:
        return bool(self.fields or self.appeared or self.disappeared)

    @property
    def delta(self) -> Fraction:
        """Change of verifiable points (an unscored side counts 0)."""
        after = self.after.verifiable if self.after else Fraction(0)
        return after - (self.before.verifiable if self.before else Fraction(0))

    @property
    def delta_claimed(self) -> Fraction:
        after = self.after.claimed if self.after else Fraction(0)
        return after - (self.before.claimed if self.before else Fraction(0))


@dataclass(frozen=True)
class Changes:
    """Everything that differs between two versions, in the rubric's order."""

    indicators: tuple[IndicatorChange, ...]
    #: Problems tied to no indicator of the rubric.
    appeared: tuple[Problem, ...] = ()
    disappeared: tuple[Problem, ...] = ()
    score_before: Decimal | None = None  # the published (rounded) score; None: not scored
    score_after: Decimal | None = None
    predicate_before: str = ""
    predicate_after: str = ""

    @property
    def changed(self) -> tuple[IndicatorChange, ...]:
        return tuple(c for c in self.indicators if c.changed)

    @property
    def unchanged(self) -> tuple[IndicatorChange, ...]:
        return tuple(c for c in self.indicators if not c.changed)

    @property
    def score_delta(self) -> Decimal | None:
        """Difference of the published scores (None unless both versions were scored)."""
        if self.score_before is None or self.score_after is None:
            return None
        return self.score_after - self.score_before


def _evidence(i: IndicatorScore) -> str:
    """The evidence as a reader sees it: the cell's text, then any link target it hides."""
    if i.items:  # a checklist: each item's code, answer and evidence
        return "\n".join(
            f"{it.code}: {it.answer or '–'}"
            + (f" — {it.evidence.strip()}" if it.evidence.strip() else "")
            for it in i.items
        )
    parts = [i.evidence.strip()] if i.evidence.strip() else []
    for e in i.evidence_items:
        if e.from_link and e.target and e.target not in parts:
            parts.append(e.target)
    return "\n".join(parts)


def _side(i: IndicatorScore) -> Side:
    return Side(
        answer=i.answer or "",
        evidence=_evidence(i),
        note=i.note.strip(),
        claimed=i.points_claimed,
        verifiable=i.points,
        max_points=i.max_points,
        status=i.status,
    )


def _problem_key(p: Problem) -> tuple[str, str, str, tuple[tuple[str, str, str], ...]]:
    """Problems are the same in two versions when code, place and parameters agree. The file
    name differs between uploads and is not compared, nor a parameter taken from it (MV401 uses
    the file's name when the office name is empty)."""
    stem = PurePath(p.file).stem
    params = tuple((k, "" if v in (p.file, stem) else v, kind) for k, v, kind in p.params)
    return (p.code, p.sheet, p.cell, params)


def _difference(before: list[Problem], after: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """(appeared, disappeared), each in reading order."""
    old = {_problem_key(p) for p in before}
    new = {_problem_key(p) for p in after}
    appeared = sorted((p for p in after if _problem_key(p) not in old), key=sort_key)
    disappeared = sorted((p for p in before if _problem_key(p) not in new), key=sort_key)
    return appeared, disappeared


def compare_versions(
    rubric: Rubric,
    before: OfficeResult | Rejected,
    after: OfficeResult | Rejected,
    *,
    rubric_before: Rubric | None = None,
) -> Changes:
    """What changed from ``before`` to ``after`` (two workbooks of one office).

    ``rubric`` scored ``after``; ``rubric_before`` scored ``before`` when it was another one (an
    upload of an earlier period): the indicators are those of both, in ``rubric``'s order, then
    the ones only the earlier rubric has, so that their changes add up to the score's change.
    """
    rubrics = [rubric] if rubric_before is None else [rubric, rubric_before]
    owner: dict[str, str] = {}  # row code (indicator or checklist item) -> indicator
    order: dict[str, str] = {}  # indicator -> aspect
    for rb in rubrics:
        for ind, item in rb.rows():
            owner.setdefault(item.code if item else ind.code, ind.code)
        for ind in rb.indicators:
            order.setdefault(ind.code, ind.aspect)

    def sides(r: OfficeResult | Rejected) -> dict[str, Side]:
        if not isinstance(r, OfficeResult):
            return {}
        return {i.code: _side(i) for i in r.score.indicators}

    old, new = sides(before), sides(after)
    appeared, disappeared = _difference(before.problems, after.problems)
    by_code: dict[str, tuple[list[Problem], list[Problem]]] = {}
    general: tuple[list[Problem], list[Problem]] = ([], [])
    for k, found in enumerate((appeared, disappeared)):
        for p in found:
            code = owner.get(p.indicator, "")
            target = by_code.setdefault(code, ([], [])) if code else general
            target[k].append(p)
    changes = tuple(
        IndicatorChange(
            code=code,
            aspect=aspect,
            before=old.get(code),
            after=new.get(code),
            appeared=tuple(by_code.get(code, ([], []))[0]),
            disappeared=tuple(by_code.get(code, ([], []))[1]),
        )
        for code, aspect in order.items()
    )

    def figure(r: OfficeResult | Rejected) -> tuple[Decimal | None, str]:
        if isinstance(r, OfficeResult):
            return r.score.score, r.score.predicate
        return None, ""

    (sb, pb), (sa, pa) = figure(before), figure(after)
    return Changes(
        indicators=changes,
        appeared=tuple(general[0]),
        disappeared=tuple(general[1]),
        score_before=sb,
        score_after=sa,
        predicate_before=pb,
        predicate_after=pa,
    )
