"""Year over year: compare this run with last year's ``results.json`` (or workbooks).

Offices are matched by name (case, spaces and punctuation ignored), with an optional mapping of
renamed offices (old name -> new name). The comparison is plain data added to the results and the
reports: the change of score, predicate and rank per office, per aspect and per indicator; the
offices that moved band; the city's distribution then and now. Comparing across rubric versions is
allowed, and said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from monev.identity import office_key
from monev.results import RunResult, round_places
from monev.scoring import round2


class PreviousError(Exception):
    """Last year's results cannot be read (a usage error)."""


def name_key(name: str) -> str:
    """The package's one identity rule (:func:`monev.identity.office_key`)."""
    return office_key(name)


@dataclass(frozen=True)
class PreviousOffice:
    name: str
    score: Decimal
    predicate: str
    rank: int
    aspects: dict[str, Decimal]
    indicators: dict[str, Decimal]  # code -> verifiable points


@dataclass(frozen=True)
class PreviousRun:
    rubric_id: str
    rubric_version: str
    as_of: str
    offices: dict[str, PreviousOffice]  # by name_key
    distribution: dict[str, int]


@dataclass(frozen=True)
class OfficeDelta:
    previous: PreviousOffice
    score_delta: Decimal
    band_move: int  # +1 moved up a band (or more), -1 down, 0 same
    aspects: dict[str, Decimal]  # code -> change of aspect score
    indicators: dict[str, Decimal]  # code -> change of points (only those that changed)


@dataclass
class Comparison:
    previous: PreviousRun
    same_rubric: bool
    offices: dict[str, OfficeDelta] = field(default_factory=dict)  # by current office file
    new: list[str] = field(default_factory=list)  # current offices without a match
    gone: list[str] = field(default_factory=list)  # last year's offices not in this run

    def moved(self, run: RunResult, direction: int) -> list[tuple[Any, OfficeDelta]]:
        return [
            (o, self.offices[o.file])
            for o in run.offices
            if o.file in self.offices and self.offices[o.file].band_move == direction
        ]


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def previous_from_results(data: dict[str, Any]) -> PreviousRun:
    offices = {}
    for o in data["offices"]:
        offices[name_key(o["name"])] = PreviousOffice(
            name=o["name"],
            score=_dec(o["score"]),
            predicate=o["predicate"],
            rank=int(o["rank"]),
            aspects={a["code"]: _dec(a["score"]) for a in o["aspects"]},
            indicators={i["code"]: _dec(i["points"]) for i in o["indicators"]},
        )
    return PreviousRun(
        rubric_id=data["rubric"]["id"],
        rubric_version=data["rubric"]["version"],
        as_of=data.get("as_of", ""),
        offices=offices,
        distribution=dict(data["summary"]["predicates"]),
    )


def load_previous(path: Path, rubric: Any = None) -> PreviousRun:
    """Last year's run from its results.json, or by scoring a folder of its workbooks."""
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            return previous_from_results(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PreviousError(f"{path}: {exc}") from None
    if path.is_dir():
        from monev.batch import score_paths

        if rubric is None:
            raise PreviousError(f"{path}: a rubric is needed to score last year's workbooks")
        run = score_paths([path], rubric)
        return previous_from_results(json.loads(run.to_json()))
    raise PreviousError(f"{path}: not a results.json file or a folder of workbooks")


def load_mapping(path: Path | None) -> dict[str, str]:
    """Renamed offices: a YAML mapping ``old name: new name`` (keys and values are names)."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PreviousError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise PreviousError(f"{path}: expected a mapping of old name -> new name")
    return {name_key(str(new)): name_key(str(old)) for old, new in data.items()}


def compare(
    run: RunResult, previous: PreviousRun, renamed: dict[str, str] | None = None
) -> Comparison:
    """Match this run's offices with last year's and compute every change."""
    renamed = renamed or {}
    bands = [b.name for b in run.rubric.predicates]
    cmp = Comparison(
        previous=previous,
        same_rubric=(
            previous.rubric_id == run.rubric.id and previous.rubric_version == run.rubric.version
        ),
    )
    matched: set[str] = set()
    for o in run.offices:
        key = name_key(o.name)
        old_key = renamed.get(key, key)
        prev = previous.offices.get(old_key)
        if prev is None:
            cmp.new.append(o.name)
            continue
        matched.add(old_key)
        s = o.score
        aspects = {
            a.code: round2(a.verifiable) - prev.aspects.get(a.code, Decimal(0)) for a in s.aspects
        }
        indicators = {}
        for i in s.indicators:
            now = round_places(i.points, 4)  # the 4 places results.json carries
            delta = now - prev.indicators.get(i.code, Decimal(0))
            if delta:
                indicators[i.code] = delta
        move = 0
        if prev.predicate in bands and s.predicate in bands:
            move = (bands.index(prev.predicate) > bands.index(s.predicate)) - (
                bands.index(prev.predicate) < bands.index(s.predicate)
            )
        cmp.offices[o.file] = OfficeDelta(prev, s.score - prev.score, move, aspects, indicators)
    cmp.gone = sorted(p.name for k, p in previous.offices.items() if k not in matched)
    return cmp


def comparison_dict(cmp: Comparison, run: RunResult) -> dict[str, Any]:
    """The run-level part for results.json."""
    p = cmp.previous
    return {
        "rubric": {"id": p.rubric_id, "version": p.rubric_version},
        "as_of": p.as_of,
        "same_rubric": cmp.same_rubric,
        "distribution": {"previous": p.distribution, "current": run.predicate_counts()},
        "moved_up": [o.name for o, _ in cmp.moved(run, 1)],
        "moved_down": [o.name for o, _ in cmp.moved(run, -1)],
        "new": cmp.new,
        "gone": cmp.gone,
        "matched": len(cmp.offices),
    }


def office_delta_dict(d: OfficeDelta) -> dict[str, Any]:
    from monev.results import num

    return {
        "name": d.previous.name,
        "score": num(d.previous.score),
        "predicate": d.previous.predicate,
        "rank": d.previous.rank,
        "score_delta": num(d.score_delta),
        "band_move": d.band_move,
        "aspects": {k: num(v) for k, v in d.aspects.items()},
        "indicators": {k: num(v, 4) for k, v in d.indicators.items()},
    }
