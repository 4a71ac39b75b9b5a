"""Year over year: compare this run with last year's ``results.json`` (or workbooks).

Offices are matched by name (case, spaces and punctuation ignored), with an optional mapping of
renamed offices (old name -> new name). The comparison is plain data added to the results and the
reports: the change of score, predicate and rank per office, per aspect and per indicator; the
offices that moved band; the city's distribution then and now. Comparing across rubric versions is
allowed, and said.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from monev.i18n import technical
from monev.identity import office_key
from monev.results import SCHEMA_VERSION, RunResult, num, round_places
from monev.scoring import round2

# Limits on the side files read before a run (the README's "Limits and safety").
MAX_PREVIOUS_BYTES = 20_000_000  # last year's results.json (about 500 offices)
MAX_MAPPING_BYTES = 1_000_000  # a rename map


class PreviousError(Exception):
    """Last year's results or the rename map cannot be used (a usage error).

    ``key`` names a message (``previous.*`` / ``rename.*`` in messages.yaml) and ``params`` fill
    it, so the CLI can say it in the run's language with :meth:`text`.
    """

    def __init__(self, key: str, **params: Any):
        self.key = key
        self.params = params
        super().__init__(self.text("en"))

    def text(self, lang: str = "id") -> str:
        from monev.i18n import t

        params = {k: t(v.key, lang) if isinstance(v, _Why) else v for k, v in self.params.items()}
        return t(self.key, lang, **params)


@dataclass(frozen=True)
class _Why:
    """A message key used as a parameter (what a field should be)."""

    key: str


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
    #: Scored now from a folder of last year's workbooks (``as_of`` is then today's run, not the
    #: old set's date): named by ``source``, the folder's name.
    rescored: bool = False
    source: str = ""


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

    def to_dict(self, run: RunResult) -> dict[str, Any]:
        """The run-level ``previous`` of results.json."""
        return comparison_dict(self, run)

    def office_dict(self, file: str) -> dict[str, Any] | None:
        """The ``previous`` of one office of results.json (None: new this year)."""
        delta = self.offices.get(file)
        return office_delta_dict(delta) if delta else None


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Fields:
    """Field-by-field checks of a parsed results.json, naming the field and the office."""

    def __init__(self, file: Path):
        self.file = file

    def fail(self, field: str, why: str, office: str = "") -> PreviousError:
        key = "previous.bad_field_office" if office else "previous.bad_field"
        return PreviousError(key, path=self.file, field=field, office=office, why=_Why(why))

    def obj(self, value: Any, field: str, office: str = "") -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "expect.object", office)
        return value

    def items(self, value: Any, field: str, office: str = "") -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(field, "expect.list", office)
        return value

    def text(self, value: Any, field: str, office: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "expect.text", office)
        return value

    def number(self, value: Any, field: str, office: str = "") -> Decimal:
        """A figure from 0 to 100 with at most 4 decimals (as monev writes them)."""
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise self.fail(field, "expect.score", office)
        d = Decimal(value)
        exp = d.as_tuple().exponent
        if not d.is_finite() or not isinstance(exp, int) or exp < -10 or not 0 <= d <= 100:
            raise self.fail(field, "expect.score", office)
        return d

    def rank(self, value: Any, field: str, office: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**6:
            raise self.fail(field, "expect.rank", office)
        return value

    def count(self, value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**6:
            raise self.fail(field, "expect.count")
        return value

    def date(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise self.fail(field, "expect.date")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise self.fail(field, "expect.date") from None
        return value


def previous_from_results(data: Any, file: Path | str = "results.json") -> PreviousRun:
    """Last year's run from parsed results.json, checking every field the comparison reads.

    Files without ``schema_version`` (written by monev 0.1) have the same fields and are read
    the same way. Raises :class:`PreviousError` naming the first bad field and its office.
    """
    f = _Fields(Path(file))
    root = f.obj(data, "(root)")
    version = root.get("schema_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise f.fail("schema_version", "expect.count")
    if version > SCHEMA_VERSION:
        raise PreviousError("previous.newer", path=f.file, found=version, known=SCHEMA_VERSION)
    rubric = f.obj(root.get("rubric"), "rubric")
    summary = f.obj(root.get("summary"), "summary")
    predicates = f.obj(summary.get("predicates"), "summary.predicates")
    distribution = {
        f.text(k, "summary.predicates"): f.count(v, f"summary.predicates.{k}")
        for k, v in predicates.items()
    }
    offices: dict[str, PreviousOffice] = {}
    for n, raw in enumerate(f.items(root.get("offices"), "offices")):
        where = f"offices[{n}]"
        o = f.obj(raw, where)
        name = f.text(o.get("name"), f"{where}.name")
        aspects = {}
        for k, a in enumerate(f.items(o.get("aspects"), f"{where}.aspects", name)):
            a = f.obj(a, f"{where}.aspects[{k}]", name)
            code = f.text(a.get("code"), f"{where}.aspects[{k}].code", name)
            aspects[code] = f.number(a.get("score"), f"{where}.aspects[{k}].score", name)
        indicators = {}
        for k, i in enumerate(f.items(o.get("indicators"), f"{where}.indicators", name)):
            i = f.obj(i, f"{where}.indicators[{k}]", name)
            code = f.text(i.get("code"), f"{where}.indicators[{k}].code", name)
            indicators[code] = f.number(i.get("points"), f"{where}.indicators[{k}].points", name)
        office = PreviousOffice(
            name=name,
            score=f.number(o.get("score"), f"{where}.score", name),
            predicate=f.text(o.get("predicate"), f"{where}.predicate", name),
            rank=f.rank(o.get("rank"), f"{where}.rank", name),
            aspects=aspects,
            indicators=indicators,
        )
        key = name_key(name)
        if not key:
            raise f.fail(f"{where}.name", "expect.text")
        if key in offices:
            raise PreviousError(
                "previous.same_office", path=f.file, first=offices[key].name, second=name
            )
        offices[key] = office
    return PreviousRun(
        rubric_id=f.text(rubric.get("id"), "rubric.id"),
        rubric_version=f.text(rubric.get("version"), "rubric.version"),
        as_of=f.date(root["as_of"], "as_of") if "as_of" in root else "",
        offices=offices,
        distribution=distribution,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_results_json(text: str, file: Path | str = "results.json") -> PreviousRun:
    """Parse results.json text strictly (numbers as Decimal; NaN and Infinity refused)."""
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise PreviousError("previous.too_deep", path=file) from None
    except ValueError as exc:
        raise PreviousError("previous.not_json", path=file, error=technical(exc)) from None
    return previous_from_results(data, file)


def _read_limited(path: Path, limit: int, too_large: str) -> str:
    """A file's text, refused before reading when it is over ``limit`` bytes."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise PreviousError("previous.unreadable", path=path, error=technical(exc)) from None
    if len(raw) > limit:
        raise PreviousError(too_large, path=path, mb=limit // 1_000_000)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PreviousError("previous.not_utf8", path=path) from None


def load_previous(path: Path, rubric: Any = None) -> PreviousRun:
    """Last year's run: a results.json, a folder holding one, or a folder of its workbooks.

    Everything is checked before this year's run starts; a bad file raises
    :class:`PreviousError`.
    """
    path = Path(path)
    if path.is_dir() and (path / "results.json").is_file():
        path = path / "results.json"
    if path.is_file() and path.suffix.lower() == ".json":
        return parse_results_json(
            _read_limited(path, MAX_PREVIOUS_BYTES, "previous.too_large"), path
        )
    if path.is_dir():
        from monev.batch import score_paths

        if rubric is None:
            raise PreviousError("previous.rubric_needed", path=path)
        run = score_paths([path], rubric)
        previous = parse_results_json(run.to_json(), path)
        return replace(previous, rescored=True, source=path.name)
    raise PreviousError("previous.not_found", path=path)


def load_mapping(path: Path | None) -> dict[str, str]:
    """Renamed offices: a YAML mapping ``old name: new name``, as ``{new key: old key}``.

    Names are strings; aliases are refused (a rename map never needs them, and an alias bomb
    must not cost minutes); two old names onto one new name, or one old name listed twice, is
    an error rather than a silent overwrite.
    """
    if path is None:
        return {}
    from monev.rubric import AliasError, DuplicateKeyError, YamlLimitError, load_yaml_limited

    path = Path(path)
    if not path.is_file():  # missing, a folder, a FIFO or a device
        raise PreviousError("rename.not_found", path=path)
    text = _read_limited(path, MAX_MAPPING_BYTES, "rename.too_large")
    try:
        data = load_yaml_limited(text, max_nodes=100_000, allow_aliases=False)
    except DuplicateKeyError as exc:
        raise PreviousError("rename.twice", path=path, old=exc.key, line=exc.line) from None
    except AliasError:
        raise PreviousError("rename.aliases", path=path) from None
    except (yaml.YAMLError, YamlLimitError) as exc:
        raise PreviousError("rename.not_yaml", path=path, error=technical(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PreviousError("rename.not_mapping", path=path)
    renamed: dict[str, str] = {}
    old_names: dict[str, str] = {}  # old key -> old name as written
    new_names: dict[str, str] = {}  # new key -> old name as written
    for old, new in data.items():
        for value in (old, new):
            if not isinstance(value, str) or not name_key(value):
                raise PreviousError("rename.not_text", path=path, value=repr(value))
        old_key, new_key = name_key(old), name_key(new)
        if old_key in old_names:
            raise PreviousError("rename.twice", path=path, old=old, line="-")
        old_names[old_key] = old
        if new_key in new_names:
            raise PreviousError(
                "rename.two_old", path=path, first=new_names[new_key], second=old, new=new
            )
        new_names[new_key] = old
        if old_key != new_key:
            renamed[new_key] = old_key
    return renamed


def compare(
    run: RunResult, previous: PreviousRun, renamed: dict[str, str] | None = None
) -> Comparison:
    """Match this run's offices with last year's and compute every change.

    Raises :class:`PreviousError` (``rename.merges``) when two offices of this run, with
    different identities, would be matched with one office of last year: matching across years
    never merges two offices.
    """
    renamed = renamed or {}
    bands = [b.name for b in run.rubric.predicates]
    cmp = Comparison(
        previous=previous,
        same_rubric=(
            previous.rubric_id == run.rubric.id and previous.rubric_version == run.rubric.version
        ),
    )
    matched: dict[str, Any] = {}  # last year's key -> this run's office matched with it
    for o in run.offices:
        key = name_key(o.name)
        old_key = renamed.get(key, key)
        prev = previous.offices.get(old_key)
        if prev is None:
            cmp.new.append(o.name)
            continue
        first = matched.get(old_key)
        if first is not None and name_key(first.name) != key:
            # Two offices of this run (not copies of one) would take one office's history:
            # the rename map says an office was renamed, yet the old name is still here.
            raise PreviousError(
                "rename.merges", first=first.name, second=o.name, previous=prev.name
            )
        matched[old_key] = o
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


# --- the change as a reader sees it (terminal table, city and kecamatan rankings) -------------

MINUS = "\u2212"  # the minus sign: "−1,00", as wide as "+"


def signed(value: Decimal | int, lang: str = "id", places: int = 2) -> str:
    """``+3,25`` / ``−1,00`` / ``0,00`` (``+2`` / ``−1`` / ``0`` with ``places=0``)."""
    from monev.i18n import fmt_number

    text = fmt_number(-value if value < 0 else value, lang, places)
    return ("+" if value > 0 else MINUS if value < 0 else "") + text


def previous_label(previous: PreviousRun, lang: str = "id") -> str:
    """The old set, named by its own year, rubric and date: ``2023 (ki-jatim-2024 1.0.0, per
    1 Desember 2023)``; a folder scored again now: ``contoh-2023 (dinilai ulang dengan
    ki-jatim-2024 1.0.0)`` (its date would be today's); a results.json without a date (monev
    0.1): ``hasil sebelumnya (ki-jatim-2024 1.0.0)``."""
    from monev.i18n import fmt_date, t

    rubric = {"rubric": previous.rubric_id, "version": previous.rubric_version}
    if previous.rescored:
        return t("yoy.label_rescored", lang, folder=previous.source, **rubric)
    if not previous.as_of:
        return t("yoy.label_undated", lang, **rubric)
    day = dt.date.fromisoformat(previous.as_of)
    return t("yoy.label", lang, year=str(day.year), date=fmt_date(day, lang), **rubric)


def office_change(cmp: Comparison, file: str, rank: int, lang: str = "id") -> tuple[str, str]:
    """One office's change as shown in a ranking: (score change, rank change), ``+`` up; an
    office not in the old set is ``baru`` (new) in both. Differences of the published figures."""
    d = cmp.offices.get(file)
    if d is None:
        from monev.i18n import t

        new = t("yoy.new_mark", lang)
        return new, new
    return signed(d.score_delta, lang), signed(d.previous.rank - rank, lang, 0)


def gone_note(cmp: Comparison, lang: str = "id") -> str:
    """The offices of the old set not in this run, in one sentence ("" when none)."""
    from monev.i18n import t

    if not cmp.gone:
        return ""
    label = previous_label(cmp.previous, lang)
    return t("yoy.gone", lang, label=label, names=", ".join(cmp.gone))
