"""The improvement plan: what to fix first, and how much each fix is worth. Pure and exact.

Every scored indicator below its full verifiable value is a candidate. Fixing it (answering it
fully, with evidence a verifier accepts) adds its gap to the verifiable SAQ. Candidates are ordered
by that gain, largest first: the first k of them are the fewest fixes that reach any target, since
no other k indicators add more. The cumulative final score is recomputed exactly at each step with
the rubric's stage rule, so crossing the SAQ gate shows up where it happens.

Every gate is followed: each distinct SAQ gate of a later stage is a target, and a band is
reached only when the rubric's :meth:`~monev.rubric.Rubric.band_for` gives it, so a band that
also requires minimum points per aspect or group (Zona Integritas: WBK) is marked where those are
met too, not where the total alone passes its bound.

When the band just above the office's own has such minimums, the order by gain alone can spend
many fixes on other aspects before the one the band is waiting for. The plan then also tries the
order that first covers each minimum that is short (largest fixes of that aspect or group first)
and then goes on by gain, and keeps whichever reaches that band in fewer fixes (the order by gain
when they tie). For minimums on disjoint aspects this is the fewest fixes that reach the band.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from monev.rubric import Band, Rubric
from monev.scoring import IndicatorScore, OfficeScore, final_score, round2


@dataclass(frozen=True)
class Step:
    indicator: IndicatorScore
    gain: Fraction  # added to the final score by this fix, given the fixes above it
    cumulative: Decimal  # final score after this and every fix above it, rounded
    band: str = ""  # the predicate after this and every fix above it ("" without bands)


@dataclass(frozen=True)
class Target:
    key: str  # "next", "top", "gate"
    label: str  # band name or stage code
    threshold: Decimal
    steps: int | None  # how many fixes from the top of the plan reach it; None: out of reach
    reached_already: bool = False


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    targets: tuple[Target, ...]
    #: When the plan covers the next band's short minimums first: (band, the aspects or groups).
    minimums_first: tuple[str, tuple[str, ...]] | None = None

    def marks(self) -> dict[int, list[Target]]:
        """Step index (0-based) -> the targets first reached at that step."""
        out: dict[int, list[Target]] = {}
        for t in self.targets:
            if t.steps:
                out.setdefault(t.steps - 1, []).append(t)
        return out


def band_above(rubric: Rubric, predicate: str) -> Band | None:
    """The band just above ``predicate`` in the rubric's list; None at the top or without bands.

    Unlike :meth:`Rubric.next_band` (by the total alone) this starts from the band an office
    has, which a band's ``requires`` may keep below the one its total reaches."""
    names = [b.name for b in rubric.predicates]
    if predicate not in names:
        return None
    k = names.index(predicate)
    return rubric.predicates[k - 1] if k > 0 else None


def _codes(rubric: Rubric) -> dict[str, tuple[str, ...]]:
    """Indicator code -> the aspect and every group (and group above it) its points count in."""
    parents = {g.code: g.parent for g in rubric.groups}
    out = {}
    for ind in rubric.indicators:
        codes = [ind.aspect]
        g = ind.group
        while g is not None and g in parents:
            codes.append(g)
            g = parents[g]
        out[ind.code] = tuple(codes)
    return out


def _minimums_first(
    band: Band,
    todo: list[IndicatorScore],
    codes: dict[str, tuple[str, ...]],
    points: dict[str, Fraction],
) -> list[IndicatorScore]:
    """``todo`` (by gain) reordered so that the fixes covering ``band``'s short minimums come
    first, the largest of each aspect or group first, then the rest by gain."""
    pts = dict(points)
    first: list[IndicatorScore] = []
    for code, need in band.requires.items():
        for ind in todo:
            if round2(pts.get(code, Fraction(0))) >= need:
                break
            if ind in first or code not in codes.get(ind.code, (ind.aspect,)):
                continue
            first.append(ind)
            for c in codes.get(ind.code, (ind.aspect,)):
                pts[c] = pts.get(c, Fraction(0)) + ind.gap
    return first + [i for i in todo if i not in first]


def build_plan(rubric: Rubric, s: OfficeScore) -> Plan:
    by_gain = sorted(
        (i for i in s.indicators if i.scored and i.gap > 0), key=lambda i: (-i.gap, i.code)
    )
    # Verifiable points per aspect and group, for the bands' ``requires``: each fix adds its
    # gap to its aspect and to its group and every group above it.
    codes = _codes(rubric)
    start: dict[str, Fraction] = {a.code: a.verifiable for a in s.aspects}
    start.update({g.code: g.verifiable for g in s.groups})
    rank = {b.name: k for k, b in enumerate(rubric.predicates)}

    def walk(
        todo: list[IndicatorScore],
    ) -> tuple[list[Step], list[Decimal], list[str]]:
        points = dict(start)
        saq = s.saq_verifiable_exact
        before = s.final_exact
        steps = []
        saqs = [round2(saq)]
        bands = [s.predicate]
        for ind in todo:
            saq += ind.gap
            for c in codes.get(ind.code, (ind.aspect,)):
                points[c] = points.get(c, Fraction(0)) + ind.gap
            after, _, _ = final_score(rubric, saq, s.stage_scores)
            rounded = round2(after)
            bands.append(rubric.band_for(rounded, {c: round2(v) for c, v in points.items()}))
            steps.append(Step(ind, after - before, rounded, bands[-1]))
            saqs.append(round2(saq))
            before = after
        return steps, saqs, bands

    def first_band(bands: list[str], target: Band) -> int | None:
        want = rank[target.name]
        return next((k for k, b in enumerate(bands) if rank.get(b, len(rank)) <= want), None)

    steps, saqs, bands = walk(by_gain)
    minimums_first = None
    nxt = band_above(rubric, s.predicate)
    if nxt is not None and nxt.requires:
        other = walk(_minimums_first(nxt, by_gain, codes, start))
        k_gain, k_other = first_band(bands, nxt), first_band(other[2], nxt)
        if k_other is not None and (k_gain is None or k_other < k_gain):
            steps, saqs, bands = other
            short = tuple(
                code for code, need in nxt.requires.items() if round2(start.get(code, 0)) < need
            )
            minimums_first = (nxt.name, short)

    def first(values: list[Decimal], threshold: Decimal) -> int | None:
        return next((k for k, v in enumerate(values) if v >= threshold), None)

    targets = []
    top = rubric.predicates[0] if rubric.predicates else None
    if nxt is not None:
        targets.append(Target("next", nxt.name, nxt.min, first_band(bands, nxt)))
    if top is not None and (nxt is None or nxt.name != top.name):
        k = first_band(bands, top)
        targets.append(Target("top", top.name, top.min, k, reached_already=k == 0))
    seen: set[Decimal] = set()
    for stage in rubric.stages[1:]:
        # Every SAQ gate, once per bound (KI Jatim's two stages share one gate at 80).
        if stage.gate and stage.gate.stage == "saq" and stage.gate.min not in seen:
            seen.add(stage.gate.min)
            k = first(saqs, stage.gate.min)
            targets.append(Target("gate", stage.code, stage.gate.min, k, reached_already=k == 0))
    return Plan(tuple(steps), tuple(targets), minimums_first)
