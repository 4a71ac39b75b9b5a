"""Step 3 of the pipeline: score one questionnaire against its rubric. Pure and exact.

No I/O here. Every intermediate value is an exact fraction (:class:`fractions.Fraction`); a figure
is rounded once, at the end, half up, to two decimals (:func:`round2`). So the same answers give the
same figure on any machine, and an auditor can recompute it from the indicator points.

Definitions (all from the rubric):

* indicator value ``v`` in 0..1 (Ya = 1, Tidak = 0, an option's value, a checklist's fraction ...);
* ``max_points`` of an indicator = aspect weight x indicator weight / sum of the aspect's weights
  (with nested groups, the same share is taken at each level: see ``Rubric.max_points``);
* ``points`` = ``max_points`` x ``v``; aspect score = sum of its points; SAQ = sum of aspect scores;
* **claimed**: the answers as given; **verifiable**: a positive answer without evidence, or whose
  evidence has no item a verifier can open (a URL or a document's file name), counts 0 (as KI
  verifiers do), unless a verifier marked it ``Sesuai``; ``Tidak Sesuai`` counts 0; a rubric with
  graded ``verification`` levels keeps the answer's value x the level's value instead, and an
  ungraded positive answer that passes the evidence rules gets the ``ungraded`` level;
* final score: when every later stage has a score and its gate is passed, the stage-weighted sum
  (SAQ verifiable x its weight + each stage x its weight) / 100; otherwise the verifiable SAQ
  (``missing_stage: fallback_to_saq``), or the same sum with a missing stage counted 0
  (``missing_stage: zero``);
* predicate: from the rounded final score, lower-bound cut-offs (none when the rubric has no bands);
  a band may also require minimum (rounded) verifiable points per aspect or group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from monev.evidence_items import EvidenceItem
from monev.rounding import round_half_up
from monev.rubric import Checklist, Indicator, Rubric, derived
from monev.workbook import Answer, Questionnaire

# Why an indicator is below its claimed value in the verifiable score, or not scored at all.
STATUS_OK = "ok"
STATUS_NO_EVIDENCE = "no_evidence"
STATUS_EVIDENCE_FAILED = "evidence_failed"
STATUS_UNVERIFIABLE = "evidence_unverifiable"  # evidence given, but nothing a verifier can open
STATUS_VERIFIER_UNCLEAR = "verifier_unclear"  # the Verifikasi cell holds no known decision
STATUS_REJECTED = "verifier_rejected"
STATUS_MISSING = "missing"
STATUS_INVALID = "invalid"
STATUS_INFO = "info"


def round2(value: Fraction | Decimal | int) -> Decimal:
    """Round half up to two decimals: every published figure (see :mod:`monev.rounding`)."""
    return round_half_up(value, 2)


def _rounded(value: Fraction, places: int | None) -> Fraction:
    """``value`` rounded half up to ``places`` decimals where a rubric says the instrument rounds
    (``rounding``); unchanged when ``places`` is None (monev's own rule: exact until the end)."""
    return value if places is None else Fraction(round_half_up(value, places))


_ZERO = Fraction(0)


def _times(a: Fraction, b: Fraction) -> Fraction:
    """``a * b``; where ``b`` is 0 or 1 (most answers) without the general product."""
    if type(a) is Fraction and type(b) is Fraction:
        if b == 1:
            return a
        if b == 0:
            return _ZERO
    return a * b


def _sum(values: Iterable[Fraction]) -> Fraction:
    """The exact sum of fractions: numerators added per denominator, then one fraction per
    denominator (points share a few denominators: 51 additions become 4)."""
    by_den: dict[int, int] = {}
    for v in values:
        d = v.denominator
        by_den[d] = by_den.get(d, 0) + v.numerator
    total = _ZERO
    for d, n in by_den.items():
        total += Fraction(n, d)
    return total


@dataclass(frozen=True)
class _Plan:
    """What scoring needs of a rubric and that no answer changes, computed once per rubric."""

    shares: dict[str, Fraction]  # Rubric.max_points()
    indicators: tuple[Indicator, ...]  # in the order of the aspects
    where: dict[str, str | None]  # indicator code -> its group


def _build_plan(rubric: Rubric) -> _Plan:
    return _Plan(
        shares=rubric.max_points(),
        indicators=tuple(i for a in rubric.aspects for i in rubric.indicators_of(a.code)),
        where={i.code: i.group for i in rubric.indicators},
    )


def _plan(rubric: Rubric) -> _Plan:
    return derived(rubric, "scoring.plan", _build_plan)


def indicator_points(max_points: Fraction, value: Fraction, places: int | None) -> Fraction:
    """An indicator's points: its maximum x its value, rounded where the instrument rounds."""
    return _rounded(_times(max_points, value), places)


@dataclass(frozen=True)
class ItemScore:
    """One checklist sub-item."""

    code: str
    label: str
    answer: str | None
    evidence: str
    evidence_items: tuple[EvidenceItem, ...]
    claimed: bool
    verified: bool
    verification: str | None = None
    verifier_note: str = ""


@dataclass(frozen=True)
class IndicatorScore:
    code: str
    aspect: str
    answer: str | None
    evidence: str
    note: str
    value_claimed: Fraction
    value: Fraction  # verifiable
    max_points: Fraction
    status: str
    verification: str | None = None
    verifier_note: str = ""
    items: tuple[ItemScore, ...] = ()
    evidence_items: tuple[EvidenceItem, ...] = ()
    #: Decimals the instrument rounds this criterion's points to (``rounding.indicators``).
    places: int | None = None

    @property
    def points_claimed(self) -> Fraction:
        return indicator_points(self.max_points, self.value_claimed, self.places)

    @property
    def points(self) -> Fraction:
        return indicator_points(self.max_points, self.value, self.places)

    @property
    def scored(self) -> bool:
        return self.status != STATUS_INFO

    @property
    def gap(self) -> Fraction:
        """Verifiable points this indicator still lacks."""
        return self.max_points - self.points


@dataclass(frozen=True)
class AspectScore:
    code: str
    name: str
    weight: Decimal
    claimed: Fraction
    verifiable: Fraction


@dataclass(frozen=True)
class GroupScore:
    """A group under an aspect (nested groups): its share of the aspect and the points it got."""

    code: str
    name: str
    parent: str
    max_points: Fraction
    claimed: Fraction
    verifiable: Fraction


@dataclass(frozen=True)
class OfficeScore:
    """Everything the scorer computed for one office. Exact values plus rounded figures."""

    aspects: tuple[AspectScore, ...]
    indicators: tuple[IndicatorScore, ...]
    saq_claimed_exact: Fraction
    saq_verifiable_exact: Fraction
    stage_scores: dict[str, Decimal]
    gate_passed: bool
    staged: bool  # final score includes later stages
    final_exact: Fraction
    predicate: str  # "": the rubric has no bands (ranking only); results.json says null
    stage_weights: dict[str, Decimal] = field(default_factory=dict)
    groups: tuple[GroupScore, ...] = ()  # nested groups, when the rubric has any
    #: The assessor tracks this figure combines (:func:`combine_tracks`); (): one workbook.
    tracks: tuple[str, ...] = ()

    @property
    def saq_claimed(self) -> Decimal:
        return round2(self.saq_claimed_exact)

    @property
    def saq_verifiable(self) -> Decimal:
        return round2(self.saq_verifiable_exact)

    @property
    def score(self) -> Decimal:
        return round2(self.final_exact)

    @property
    def evidence_loss(self) -> Decimal:
        """Points lost to missing or rejected evidence (claimed minus verifiable SAQ)."""
        return round2(self.saq_claimed_exact - self.saq_verifiable_exact)


def _value_and_status(
    ind: Indicator, ans: Answer | None, rubric: Rubric | None = None
) -> tuple[Fraction, Fraction, str]:
    if not ind.scored:
        return Fraction(0), Fraction(0), STATUS_INFO
    if ans is None:
        return Fraction(0), Fraction(0), STATUS_MISSING
    if ans.parsed is None or ans.parsed.value is None:
        return Fraction(0), Fraction(0), STATUS_INVALID if ans.raw else STATUS_MISSING
    claimed = ans.parsed.value
    if ans.verification_unclear:
        return claimed, Fraction(0), STATUS_VERIFIER_UNCLEAR if claimed else STATUS_OK
    if ans.verification is not None and not ans.verification_trusted:
        # Written in the office's own workbook: a decision may lower the value, never raise it.
        by_decision = _value_and_status(ind, replace(ans, verification_trusted=True), rubric)
        by_evidence = _value_and_status(ind, replace(ans, verification=None), rubric)
        return min(by_decision, by_evidence, key=lambda v: v[1])
    if rubric is not None and rubric.verification is not None:
        return _graded(ind, ans, claimed, rubric)
    if ans.verification == "Tidak Sesuai":
        return claimed, Fraction(0), STATUS_REJECTED if claimed else STATUS_OK
    if ans.verification == "Sesuai":
        return claimed, claimed, STATUS_OK
    if claimed and ind.evidence_required and not ans.has_evidence:
        return claimed, Fraction(0), STATUS_NO_EVIDENCE
    if claimed and ind.evidence_required and not ans.verifiable_evidence:
        return claimed, Fraction(0), STATUS_UNVERIFIABLE
    if claimed and ind.evidence_required and ans.evidence_failed:
        return claimed, Fraction(0), STATUS_EVIDENCE_FAILED
    return claimed, claimed, STATUS_OK


def _graded(
    ind: Indicator, ans: Answer, claimed: Fraction, rubric: Rubric
) -> tuple[Fraction, Fraction, str]:
    """A rubric with graded levels: the answer's value x the level's value."""
    assert rubric.verification is not None
    level = ans.verification
    if level is not None:
        kept = claimed * rubric.level_value(ind, level)
        return claimed, kept, STATUS_REJECTED if claimed and not kept else STATUS_OK
    claimed, verifiable, status = _value_and_status(ind, ans)  # the evidence rules
    if verifiable and rubric.verification.ungraded is not None:
        verifiable *= rubric.level_value(ind, rubric.verification.ungraded)
    return claimed, verifiable, status


def score_indicator(
    ind: Indicator,
    answers: dict[str, Answer],
    max_points: Fraction,
    rubric: Rubric | None = None,
) -> IndicatorScore:
    """One indicator's values; ``rubric`` is needed only for graded verification levels."""
    ans = answers.get(ind.code)
    if isinstance(ind.answer, Checklist):
        items = []
        statuses = []
        kept: list[Fraction] = []
        given: list[Fraction] = []
        for item in ind.answer.items:
            a = answers.get(item.code)
            claimed, verifiable, item_status = _value_and_status(ind, a, rubric)
            statuses.append(item_status)
            kept.append(verifiable)
            given.append(claimed)
            items.append(
                ItemScore(
                    code=item.code,
                    label=item.label,
                    answer=a.parsed.text if a and a.parsed else None,
                    evidence=a.evidence if a else "",
                    evidence_items=a.evidence_items if a else (),
                    claimed=bool(claimed),
                    verified=bool(verifiable),
                    verification=a.verification if a else None,
                    verifier_note=a.verifier_note if a else "",
                )
            )
        n = len(items)
        # Items answered on the rubric's own scale (A/B/C/D) may count part of their share.
        claimed_v = sum(given, Fraction(0)) / n
        verifiable_v = sum(kept, Fraction(0)) / n  # a graded item may keep part of its value
        worst = (
            STATUS_INVALID,
            STATUS_MISSING,
            STATUS_REJECTED,
            STATUS_VERIFIER_UNCLEAR,
            STATUS_EVIDENCE_FAILED,
            STATUS_UNVERIFIABLE,
            STATUS_NO_EVIDENCE,
        )
        status = next((s for s in worst if s in statuses), STATUS_OK)
        return IndicatorScore(
            code=ind.code,
            aspect=ind.aspect,
            answer=f"{sum(i.claimed for i in items)}/{n}",
            evidence="",
            note=ans.note if ans else "",
            value_claimed=claimed_v,
            value=verifiable_v,
            max_points=max_points,
            status=status,
            items=tuple(items),
        )
    claimed, verifiable, status = _value_and_status(ind, ans, rubric)
    return IndicatorScore(
        code=ind.code,
        aspect=ind.aspect,
        answer=ans.parsed.text if ans and ans.parsed else (ans.raw if ans and ans.raw else None),
        evidence=ans.evidence if ans else "",
        note=ans.note if ans else "",
        value_claimed=claimed,
        value=verifiable,
        max_points=max_points if ind.scored else Fraction(0),
        status=status,
        verification=ans.verification if ans else None,
        verifier_note=ans.verifier_note if ans else "",
        evidence_items=ans.evidence_items if ans else (),
    )


def final_score(
    rubric: Rubric, saq_verifiable: Fraction, stage_scores: dict[str, Decimal]
) -> tuple[Fraction, bool, bool]:
    """(final exact score, gate passed, later stages used) for a verifiable SAQ and stage scores.

    Gates compare the *rounded* figure of their stage, as published figures are compared.
    """
    rounded = {"saq": round2(saq_verifiable)}
    gate_passed = True
    for stage in rubric.stages[1:]:
        if stage.gate is not None:
            figure = rounded.get(stage.gate.stage)
            if figure is None or figure < stage.gate.min:
                gate_passed = False
        if stage.code in stage_scores:
            rounded[stage.code] = stage_scores[stage.code]
    later = rubric.stages[1:]
    complete = bool(later) and all(s.code in stage_scores for s in later)
    # A missing stage counts 0 under ``missing_stage: zero``; a failed gate still gives the SAQ.
    zero = rubric.missing_stage == "zero" and bool(later)
    if not (gate_passed and (complete or zero)):
        return saq_verifiable, gate_passed, False
    total = saq_verifiable * Fraction(rubric.stages[0].weight)
    for s in later:
        total += Fraction(stage_scores.get(s.code, 0)) * Fraction(s.weight)
    return total / 100, True, True


def score(rubric: Rubric, q: Questionnaire) -> OfficeScore:
    """Score a questionnaire that was read (and checked) against ``rubric``."""
    plan = _plan(rubric)
    shares = plan.shares
    answers = q.answers
    indicators = [
        score_indicator(i, answers, shares.get(i.code, _ZERO), rubric) for i in plan.indicators
    ]
    return _totals(rubric, indicators, q.stage_scores, shares)


def _totals(
    rubric: Rubric,
    indicators: list[IndicatorScore],
    stage_scores: dict[str, Decimal],
    shares: dict[str, Fraction],
    tracks: tuple[str, ...] = (),
) -> OfficeScore:
    """Aspects, groups, SAQ, final score and predicate from the indicators' values."""
    places = rubric.rounding
    if places.indicators is not None:
        indicators = [replace(s, places=places.indicators) for s in indicators]
    groups = _group_scores(rubric, indicators, shares)
    # An aspect adds its own indicators and its top groups (each group the sum of what is under
    # it): without rounding that is the sum of every indicator under the aspect.
    parts: dict[str, tuple[list[Fraction], list[Fraction]]] = {
        a.code: ([], []) for a in rubric.aspects
    }
    where = _plan(rubric).where
    for s in indicators:
        if where.get(s.code) is None and s.aspect in parts:
            into = parts[s.aspect]
            into[0].append(s.points_claimed)
            into[1].append(s.points)
    for g in groups:
        if g.parent in parts:
            into = parts[g.parent]
            into[0].append(g.claimed)
            into[1].append(g.verifiable)
    claimed = {code: _sum(c) for code, (c, _) in parts.items()}
    kept = {code: _sum(k) for code, (_, k) in parts.items()}
    aspects = [
        AspectScore(
            code=a.code,
            name=a.name,
            weight=a.weight,
            claimed=_rounded(claimed[a.code], places.aspects),
            verifiable=_rounded(kept[a.code], places.aspects),
        )
        for a in rubric.aspects
    ]
    saq_claimed = sum((a.claimed for a in aspects), Fraction(0))
    saq_verifiable = sum((a.verifiable for a in aspects), Fraction(0))
    final, gate_passed, staged = final_score(rubric, saq_verifiable, stage_scores)
    points = {a.code: round2(a.verifiable) for a in aspects}
    points.update({g.code: round2(g.verifiable) for g in groups})
    return OfficeScore(
        aspects=tuple(aspects),
        indicators=tuple(indicators),
        saq_claimed_exact=saq_claimed,
        saq_verifiable_exact=saq_verifiable,
        stage_scores=dict(stage_scores),
        gate_passed=gate_passed,
        staged=staged,
        final_exact=final,
        predicate=rubric.band_for(round2(final), points),
        stage_weights={s.code: s.weight for s in rubric.stages},
        groups=groups,
        tracks=tracks,
    )


def tracks_used(rubric: Rubric, present: Iterable[str]) -> tuple[str, ...]:
    """The assessor tracks whose workbooks make an office's figure, by ``assessors.combine``:
    every track present (``mean``), the last present in the rubric's order (``last``), or the
    named track (the last present while the named one has sent nothing)."""
    if rubric.assessors is None:
        raise ValueError(f"rubric {rubric.id!r} has no assessor tracks")
    have = set(present)
    order = tuple(t.code for t in rubric.assessors.tracks if t.code in have)
    if not order:
        raise ValueError("no workbook of a known track")
    how = rubric.assessors.combine
    if how == "mean":
        return order
    if how != "last" and how in have:
        return (how,)
    return order[-1:]


def combine_tracks(rubric: Rubric, scores: Mapping[str, OfficeScore]) -> OfficeScore:
    """One office's score from its assessors' scores (track code -> score), by the rubric's
    ``assessors.combine``. Each indicator's claimed and verifiable values are the mean over the
    tracks used (one track: its own values), so every aspect, group and the final score are that
    mean too (points are linear in the values), exact, and rounded once. Statuses, answers and
    evidence are those of the last track used (the latest decision); stage scores likewise.
    """
    used = tracks_used(rubric, scores)
    ref = scores[used[-1]]
    n = len(used)
    indicators = []
    for k, ind in enumerate(ref.indicators):
        claimed = sum((scores[t].indicators[k].value_claimed for t in used), Fraction(0)) / n
        kept = sum((scores[t].indicators[k].value for t in used), Fraction(0)) / n
        indicators.append(replace(ind, value_claimed=claimed, value=kept))
    return _totals(rubric, indicators, ref.stage_scores, _plan(rubric).shares, used)


def _group_scores(
    rubric: Rubric, indicators: list[IndicatorScore], shares: dict[str, Fraction]
) -> tuple[GroupScore, ...]:
    """Claimed and verifiable points of each group: its own indicators plus its sub-groups,
    bottom up, each rounded where the rubric says the instrument rounds (``rounding.groups``)."""
    if not rubric.groups:
        return ()
    places = rubric.rounding.groups
    where = _plan(rubric).where
    own: dict[str, tuple[list[Fraction], list[Fraction]]] = {
        g.code: ([], []) for g in rubric.groups
    }
    for s in indicators:
        node = where.get(s.code)
        if node in own:
            own[node][0].append(s.points_claimed)
            own[node][1].append(s.points)
    claimed = {code: _sum(c) for code, (c, _) in own.items()}
    verifiable = {code: _sum(v) for code, (_, v) in own.items()}
    children: dict[str, list[str]] = {}
    for g in rubric.groups:
        children.setdefault(g.parent, []).append(g.code)
    done: dict[str, tuple[Fraction, Fraction]] = {}
    # Deepest first: a group's sum needs its sub-groups' (rounded) sums. The tree has no cycles
    # (checked at load), so an explicit stack visits each group once.
    for top in [g.code for g in rubric.groups if g.parent not in claimed]:
        stack = [(top, False)]
        while stack:
            code, expanded = stack.pop()
            if expanded:
                below = children.get(code, [])
                c = claimed[code] + sum((done[k][0] for k in below), Fraction(0))
                v = verifiable[code] + sum((done[k][1] for k in below), Fraction(0))
                done[code] = (_rounded(c, places), _rounded(v, places))
            else:
                stack.append((code, True))
                stack.extend((k, False) for k in children.get(code, []))
    return tuple(
        GroupScore(
            code=g.code,
            name=g.name,
            parent=g.parent,
            max_points=shares[g.code],
            claimed=done[g.code][0],
            verifiable=done[g.code][1],
        )
        for g in rubric.groups
    )
