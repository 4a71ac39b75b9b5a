"""Step 1 of the pipeline: load and validate a rubric (the scoring rules, kept as YAML data).

A rubric names its aspects with their weights, its indicators with their answer types, the
predicate bands and the stages of the monev. Everything is checked at load; a bad file fails with
a :class:`RubricError` that names the file and the path to each bad value (``aspects[2].weight``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from monev.resources import data_dir


class RubricError(Exception):
    """A rubric file that cannot be used. ``errors`` holds ``(path, message)`` pairs."""

    def __init__(self, file: str, errors: list[tuple[str, str]]):
        self.file = file
        self.errors = errors
        lines = [f"{file}: {path or '(root)'}: {msg}" for path, msg in errors]
        super().__init__("\n".join(lines))


class AnswerError(ValueError):
    """A raw cell value that is not an allowed answer for an indicator.

    ``kind`` says why: ``choice`` (not one of the listed answers), ``number`` (a number was
    expected), ``range`` (a number outside what the item allows).
    """

    def __init__(self, allowed: str, kind: str = "choice"):
        self.allowed = allowed
        self.kind = kind
        super().__init__(allowed)


@dataclass(frozen=True)
class Parsed:
    """An accepted answer: its normalised text and its value between 0 and 1 (None: not scored)."""

    text: str
    value: Fraction | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _norm(raw: object) -> str:
    """An answer as compared: Unicode compatibility forms folded (full-width ``Ｙａ``), invisible
    format and control characters removed (``Y\u200ba``), spaces collapsed, case ignored."""
    text = unicodedata.normalize("NFKC", str(raw))
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\t\n"
    )
    return " ".join(text.split()).casefold()


def _number(raw: object) -> Decimal:
    """A number from a cell: a float/int, or text like ``4``, ``85,5`` or ``85%``."""
    if isinstance(raw, bool):
        raise InvalidOperation
    if isinstance(raw, int | float | Decimal):
        number = Decimal(str(raw))
        if not number.is_finite():
            raise InvalidOperation
        return number
    text = str(raw).strip().rstrip("%").strip().replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})", text):
        raise InvalidOperation
    return Decimal(text)


def _plain(d: Decimal) -> str:
    """``Decimal('4.0')`` -> ``4``, ``Decimal('85.50')`` -> ``85.5``."""
    text = format(d.normalize(), "f")
    return text


class YaTidak(_Model):
    """Ya = 1, Tidak = 0."""

    type: Literal["ya_tidak"]

    def choices(self) -> list[str]:
        return ["Ya", "Tidak"]

    def parse(self, raw: object) -> Parsed:
        key = _norm(raw)
        if key == "ya":
            return Parsed("Ya", Fraction(1))
        if key == "tidak":
            return Parsed("Tidak", Fraction(0))
        raise AnswerError("Ya, Tidak")


class Option(_Model):
    label: str = Field(min_length=1)
    value: Decimal = Field(ge=0, le=1)


class Options(_Model):
    """A scale of labelled options, each with a value from 0 to 1 (e.g. A-E = 1 .. 0)."""

    type: Literal["options"]
    options: list[Option] = Field(min_length=2)

    def choices(self) -> list[str]:
        return [o.label for o in self.options]

    def parse(self, raw: object) -> Parsed:
        key = _norm(raw)
        for option in self.options:
            if _norm(option.label) == key:
                return Parsed(option.label, Fraction(option.value))
        raise AnswerError(", ".join(self.choices()))


class Threshold(_Model):
    """A number (count, frequency) that scores 1 when it reaches ``min``, else 0."""

    type: Literal["threshold"]
    min: Decimal = Field(gt=0)
    unit: str = ""

    def choices(self) -> list[str]:
        return []

    def parse(self, raw: object) -> Parsed:
        try:
            n = _number(raw)
        except InvalidOperation:
            raise AnswerError(">= 0", "number") from None
        if n < 0:
            raise AnswerError(">= 0", "number")
        return Parsed(_plain(n), Fraction(1 if n >= self.min else 0))


class Percent(_Model):
    """A percentage from 0 to 100 (percent points); value / 100. Outside 0..100 is refused."""

    type: Literal["percent"]

    def choices(self) -> list[str]:
        return []

    def parse(self, raw: object) -> Parsed:
        try:
            n = _number(raw)
        except InvalidOperation:
            raise AnswerError("0–100", "number") from None
        if not 0 <= n <= 100:
            raise AnswerError("0–100", "range")
        return Parsed(_plain(n), Fraction(n) / 100)


class ChecklistItem(_Model):
    code: str = Field(min_length=1)
    label: str = Field(min_length=1)


class Checklist(_Model):
    """Sub-items answered Ya/Tidak each; the value is the fraction present."""

    type: Literal["checklist"]
    items: list[ChecklistItem] = Field(min_length=1)

    def choices(self) -> list[str]:
        return ["Ya", "Tidak"]

    def parse(self, raw: object) -> Parsed:
        return YaTidak(type="ya_tidak").parse(raw)


class Info(_Model):
    """Asked for information; any answer is accepted and nothing is scored."""

    type: Literal["info"]

    def choices(self) -> list[str]:
        return []

    def parse(self, raw: object) -> Parsed:
        return Parsed(" ".join(str(raw).split()), None)


AnswerSpec = Annotated[
    YaTidak | Options | Threshold | Percent | Checklist | Info, Field(discriminator="type")
]


class Aspect(_Model):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    weight: Decimal = Field(gt=0, le=100)


class Indicator(_Model):
    code: str = Field(min_length=1)
    aspect: str
    question: str = Field(min_length=1)
    answer: AnswerSpec
    weight: Decimal = Field(default=Decimal(1), gt=0)
    evidence_required: bool = True
    evidence_hint: str = ""
    legal_basis: str | None = None
    source: str | None = None

    @property
    def scored(self) -> bool:
        return self.answer.type != "info"


class Band(_Model):
    name: str = Field(min_length=1)
    min: Decimal = Field(ge=0, le=100)


class Gate(_Model):
    stage: str
    min: Decimal = Field(ge=0, le=100)


class Stage(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    weight: Decimal = Field(gt=0, le=100)
    gate: Gate | None = None


class Rubric(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str = Field(min_length=1)
    year: int = Field(ge=2008, le=2100)
    category: str = Field(min_length=1)
    version: str = Field(pattern=r"^\d+(\.\d+)*$")
    reconstructed: bool = False
    source_notes: str = ""
    aspects: list[Aspect] = Field(min_length=1)
    indicators: list[Indicator] = Field(min_length=1)
    predicates: list[Band] = Field(min_length=1)
    stages: list[Stage] = Field(min_length=1)

    _path: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")

    @property
    def path(self) -> str:
        return self._path

    @property
    def sha256(self) -> str:
        return self._sha256

    def aspect(self, code: str) -> Aspect:
        return next(a for a in self.aspects if a.code == code)

    def indicators_of(self, aspect_code: str) -> list[Indicator]:
        return [i for i in self.indicators if i.aspect == aspect_code]

    def predicate(self, score: Decimal) -> str:
        """The band whose lower bound the (rounded) score reaches."""
        for band in self.predicates:
            if score >= band.min:
                return band.name
        return self.predicates[-1].name

    def next_band(self, score: Decimal) -> Band | None:
        """The lowest band above the one ``score`` is in, or None at the top."""
        higher = [b for b in self.predicates if b.min > score]
        return higher[-1] if higher else None

    def rows(self) -> Iterator[tuple[Indicator, ChecklistItem | None]]:
        """Every questionnaire row in order: each indicator, then its checklist items."""
        for ind in self.indicators:
            yield ind, None
            if isinstance(ind.answer, Checklist):
                for item in ind.answer.items:
                    yield ind, item


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    previous: Any = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif previous == "answer" and part in _TAGS:
            pass  # the discriminator's tag, not part of the file's path
        else:
            out += f".{part}" if out else str(part)
        previous = part
    return out


_TAGS = {"ya_tidak", "options", "threshold", "percent", "checklist", "info"}


def _cross_checks(r: Rubric) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []

    def dupes(items: list[str], path: str) -> None:
        seen: set[str] = set()
        for i, code in enumerate(items):
            if code in seen:
                errors.append((f"{path}[{i}]", f"duplicate code {code!r}"))
            seen.add(code)

    dupes([a.code for a in r.aspects], "aspects")
    row_codes = [item.code if item else ind.code for ind, item in r.rows()]
    dupes(row_codes, "indicators")
    total = sum((a.weight for a in r.aspects), Decimal(0))
    if total != 100:
        errors.append(("aspects", f"aspect weights add up to {total}, not 100"))
    aspect_codes = {a.code for a in r.aspects}
    for i, ind in enumerate(r.indicators):
        if ind.aspect not in aspect_codes:
            errors.append(
                (
                    f"indicators[{i}].aspect",
                    f"unknown aspect {ind.aspect!r} (known: {', '.join(sorted(aspect_codes))})",
                )
            )
        if isinstance(ind.answer, Options):
            dupes([o.label for o in ind.answer.options], f"indicators[{i}].answer.options")
    for j, a in enumerate(r.aspects):
        if not any(ind.scored for ind in r.indicators_of(a.code)):
            errors.append((f"aspects[{j}]", f"aspect {a.code!r} has no scored indicator"))
    mins = [b.min for b in r.predicates]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        errors.append(("predicates", "bands must be listed from the highest lower bound down"))
    if mins and mins[-1] != 0:
        errors.append((f"predicates[{len(mins) - 1}].min", "the lowest band must start at 0"))
    stage_total = sum((s.weight for s in r.stages), Decimal(0))
    if stage_total != 100:
        errors.append(("stages", f"stage weights add up to {stage_total}, not 100"))
    if r.stages[0].code != "saq" or r.stages[0].gate is not None:
        errors.append(("stages[0]", "the first stage must be 'saq', without a gate"))
    dupes([s.code for s in r.stages], "stages")
    for k, s in enumerate(r.stages):
        earlier = {x.code for x in r.stages[:k]}
        if s.gate and s.gate.stage not in earlier:
            errors.append(
                (f"stages[{k}].gate.stage", f"gate names {s.gate.stage!r}, not an earlier stage")
            )
    return errors


def parse_rubric(text: str, file: str = "<string>") -> Rubric:
    """Validate rubric YAML text; raise :class:`RubricError` naming every bad value."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise RubricError(
            file, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(data, dict):
        raise RubricError(file, [("", "a rubric must be a mapping of keys to values")])
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricError(file, [(_loc(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    errors = _cross_checks(rubric)
    if errors:
        raise RubricError(file, errors)
    rubric._path = file
    rubric._sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return rubric


def shipped() -> dict[str, Path]:
    """The rubrics that come with monev, by id (the file name without ``.yaml``)."""
    folder = data_dir("scoring_rules")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


DEFAULT_RUBRIC = "ki-jatim-2024"


def load_rubric(ref: str | Path = DEFAULT_RUBRIC) -> Rubric:
    """Load a shipped rubric by id, or any rubric file by path."""
    path = Path(ref)
    if not path.suffix:
        known = shipped()
        if str(ref) not in known:
            raise RubricError(
                str(ref), [("", f"no shipped rubric with this id (known: {', '.join(known)})")]
            )
        path = known[str(ref)]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RubricError(
            str(ref), [("", f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RubricError(str(path), [("", "the file is not UTF-8 text")]) from None
    shipped_file = path.resolve().parent == data_dir("scoring_rules").resolve()
    return parse_rubric(text, file=path.name if shipped_file else str(path))
