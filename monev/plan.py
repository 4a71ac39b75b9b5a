"""The improvement plan: what to fix first, and how much each fix is worth. Pure and exact.

Every scored indicator below its full verifiable value is a candidate. Fixing it (answering it
fully, with evidence a verifier accepts) adds its gap to the verifiable SAQ. Candidates are ordered
by that gain, largest first: the first k of them are the fewest fixes that reach any target, since
no other k indicators add more. The cumulative final score is recomputed exactly at each step with
the rubric's stage rule, so crossing the SAQ gate shows up where it happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from monev.rubric import Rubric
from monev.scoring import IndicatorScore, OfficeScore, final_score, round2


@dataclass(frozen=True)
class Step:
    indicator: IndicatorScore
    gain: Fraction  # added to the final score by this fix, given the fixes above it
    cumulative: Decimal  # final score after this and every fix above it, rounded


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

    def marks(self) -> dict[int, list[Target]]:
        """Step index (0-based) -> the targets first reached at that step."""
        out: dict[int, list[Target]] = {}
        for t in self.targets:
            if t.steps:
                out.setdefault(t.steps - 1, []).append(t)
        return out


def build_plan(rubric: Rubric, s: OfficeScore) -> Plan:
    todo = sorted(
        (i for i in s.indicators if i.scored and i.gap > 0), key=lambda i: (-i.gap, i.code)
    )
    saq = s.saq_verifiable_exact
    before = s.final_exact
    steps = []
    finals = [round2(before)]
    saqs = [round2(saq)]
    for ind in todo:
        saq += ind.gap
        after, _, _ = final_score(rubric, saq, s.stage_scores)
        rounded = round2(after)
        steps.append(Step(ind, after - before, rounded))
        finals.append(rounded)
        saqs.append(round2(saq))
        before = after

    def first(values: list[Decimal], threshold: Decimal) -> int | None:
        return next((k for k, v in enumerate(values) if v >= threshold), None)

    current = round2(s.final_exact)
    targets = []
    nxt = rubric.next_band(current)
    top = rubric.predicates[0] if rubric.predicates else None
    if nxt is not None:
        targets.append(Target("next", nxt.name, nxt.min, first(finals, nxt.min)))
    if top is not None and (nxt is None or nxt.name != top.name):
        k = first(finals, top.min)
        targets.append(Target("top", top.name, top.min, k, reached_already=k == 0))
    for stage in rubric.stages[1:]:
        if stage.gate and stage.gate.stage == "saq":
            k = first(saqs, stage.gate.min)
            targets.append(Target("gate", stage.code, stage.gate.min, k, reached_already=k == 0))
            break
    return Plan(tuple(steps), tuple(targets))
