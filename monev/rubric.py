"""Step 1 of the pipeline: load and validate a rubric (the scoring rules, kept as YAML data).

A rubric names its aspects with their weights, its indicators with their answer types, the
predicate bands and the stages of the monev. Everything is checked at load; a bad file fails with
a :class:`RubricError` that names the file and the path to each bad value (``aspects[2].weight``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from monev.resources import data_dir


class RubricError(Exception):
    """A rubric file that cannot be used. ``errors`` holds ``(path, message)`` pairs."""

    def __init__(self, file: str, errors: list[tuple[str, str]]):
        self.file = file
        self.errors = errors
        # The validator's own text, as before: library users and logs keep it whole.
        lines = [f"{file}: {path or '(root)'}: {msg}" for path, msg in errors]
        super().__init__("\n".join(lines))

    def lines(self, lang: str = "id") -> list[str]:
        """One line per bad value in ``lang``: the sentence from the catalogue first, then the
        validator's own (English) text as a detail when it says more than the sentence."""
        from monev.i18n import t

        out = []
        for path, msg in self.errors:
            where = _WHERE_LINE.sub(lambda m: t("rubric.err.line", lang, line=m[1]), path)
            where = where or t("rubric.err.root", lang)
            key, params = _error_key(msg)
            sentence = t(key, lang, **params)
            if key == "rubric.err.value" and lang == "en":
                sentence = msg  # the validator's text is already the English sentence
            elif key == "rubric.err.value":
                sentence += " (" + t("rubric.err.detail", lang, detail=msg) + ")"
            out.append(f"{self.file}: {where}: {sentence}")
        return out


_WHERE_LINE = re.compile(r"^line (\d+)$")
#: Validator messages said in the run's language: pattern -> catalogue key (its groups fill it).
_ERROR_KEYS = [
    (
        re.compile(r"^no shipped rubric with this id \(known: (?P<known>.*)\)$"),
        "rubric.err.unknown_id",
    ),
    (re.compile(r"^aspect weights add up to (?P<total>\S+), not 100$"), "rubric.err.aspect_total"),
    (re.compile(r"^stage weights add up to (?P<total>\S+), not 100$"), "rubric.err.stage_total"),
    (re.compile(r"^this is a folder, not a rubric file$"), "rubric.err.folder"),
    (re.compile(r"^Field required$"), "rubric.err.required"),
    (re.compile(r"^Extra inputs are not permitted$"), "rubric.err.extra"),
    (re.compile(r"^Input should be a valid (decimal|number|integer)"), "rubric.err.number"),
    (re.compile(r"^this is not a rubric file .*: not a regular file$"), "rubric.err.not_regular"),
    (re.compile(r"^this is not a rubric file .*: not UTF-8 text$"), "rubric.err.not_utf8"),
    (re.compile(r"^this is not a rubric file \(a rubric is"), "rubric.err.not_rubric"),
    (re.compile(r"^not valid YAML: (?P<detail>.*)$"), "rubric.err.yaml"),
    (re.compile(r"^cannot read the file: (?P<detail>.*)$"), "rubric.err.unreadable"),
    (re.compile(r"^the document is nested too deeply$"), "rubric.err.too_deep"),
    (re.compile(r"^the document has more than (?P<limit>\d+) values$"), "rubric.err.too_many"),
    (re.compile(r"^the file is larger than (?P<mb>\d+) MB$"), "rubric.err.too_large"),
    (re.compile(r"^aliases \(\*name\) are not allowed in this file$"), "rubric.err.alias"),
]


def _error_key(msg: str) -> tuple[str, dict[str, str]]:
    for pattern, key in _ERROR_KEYS:
        m = pattern.match(msg)
        if m:
            return key, m.groupdict()
    return "rubric.err.value", {}


# Limits on a rubric file, checked before any validation work (the README's "Limits and safety").
MAX_RUBRIC_BYTES = 2_000_000
MAX_YAML_NODES = 500_000  # values in the document, aliases counted as often as they are used
MAX_COUNTS = {
    "aspects": 200,
    "indicators": 2_000,
    "predicates": 20,
    "stages": 10,
    "options": 50,  # per indicator
    "items": 100,  # checklist items per indicator
}
MAX_INTEGER_DIGITS = 10
MAX_DECIMAL_PLACES = 10


class YamlLimitError(ValueError):
    """A YAML document beyond the limits of :func:`load_yaml_limited`."""


class AliasError(YamlLimitError):
    """An alias (``*name``) in a file that is read without aliases."""


class DuplicateKeyError(YamlLimitError):
    """One mapping with the same key twice (YAML would silently keep the last)."""

    def __init__(self, key: str, line: int):
        self.key, self.line = key, line
        super().__init__(f"line {line}: the key {key!r} appears twice in one mapping")


def _nesting_bound(text: str) -> int:
    """An upper bound on the document's nesting depth, from the characters that can open a level.

    A flow level needs a ``[`` or ``{``; a block level needs more indentation or an indicator
    (``-``, ``?``, ``:``) on its line. Quoted text only makes the bound larger, never smaller.
    """
    block = max(
        (
            2 * (len(line) - len(line.lstrip(" ")) + sum(line.count(c) for c in "-?:"))
            for line in text.splitlines()
        ),
        default=0,
    )
    return text.count("[") + text.count("{") + block + 2


def _loader(text: str) -> yaml.SafeLoader:
    """libyaml's loader when the nesting is known to be shallow, else the pure-Python one.

    libyaml composes ten times faster, but its composer recurses in C: a deeply nested document
    (``[[[[...``) crashes the process. The Python composer stops at the recursion limit instead.
    """
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and _nesting_bound(text) <= 500:
        return fast(text)
    return yaml.SafeLoader(text)


def load_yaml_limited(
    text: str, *, max_nodes: int = MAX_YAML_NODES, allow_aliases: bool = True
) -> Any:
    """``yaml.safe_load`` with a bound on the document's expanded size.

    PyYAML shares the object behind an alias, so an alias bomb loads fast but explodes for every
    consumer that walks it. The composed node graph is walked first, counting every use of an
    alias, and refused beyond ``max_nodes``; ``allow_aliases=False`` refuses any alias at all
    (a file that never needs them). Raises :class:`yaml.YAMLError` or :class:`YamlLimitError`.
    """
    loader = _loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlLimitError("the document is nested too deeply") from None
        if node is None:
            return None
        seen: set[int] = set()
        count = 0
        stack = [node]
        while stack:
            n = stack.pop()
            count += 1
            if count > max_nodes:
                raise YamlLimitError(f"the document has more than {max_nodes} values")
            if id(n) in seen:
                if not allow_aliases:
                    raise AliasError("aliases (*name) are not allowed in this file")
            elif isinstance(n, yaml.MappingNode):
                keys: set[str] = set()
                for k, _ in n.value:
                    if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                        if k.value in keys:
                            raise DuplicateKeyError(k.value, k.start_mark.line + 1)
                        keys.add(k.value)
            seen.add(id(n))
            if isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)
            elif isinstance(n, yaml.MappingNode):
                for k, v in n.value:
                    stack.extend((k, v))
        try:
            return loader.construct_document(node)
        except RecursionError:
            raise YamlLimitError("the document is nested too deeply") from None
    finally:
        loader.dispose()


def _bounded(d: Decimal) -> Decimal:
    """Refuse numbers no rubric needs and that make exact arithmetic slow (``1e999999999``)."""
    if not d.is_finite():
        raise ValueError("must be a finite number")
    _, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    if exp + len(digits) > MAX_INTEGER_DIGITS or exp < -MAX_DECIMAL_PLACES:
        raise ValueError(
            f"a number with at most {MAX_INTEGER_DIGITS} digits before and "
            f"{MAX_DECIMAL_PLACES} after the decimal point"
        )
    return d


Num = Annotated[Decimal, AfterValidator(_bounded)]


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
    # defer_build: each model's validator is built when a rubric is first validated, not when
    # this module is imported (about 0.06 s of every command's start, issue 13).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _norm(raw: object) -> str:
    """An answer as compared: Unicode compatibility forms folded (full-width ``Ｙａ``), invisible
    format and control characters removed (``Y\u200ba``), spaces collapsed, case ignored."""
    if type(raw) is str and raw.isascii() and raw.isprintable():
        return " ".join(raw.split()).casefold()  # NFKC keeps such text, and it has no Cf or Cc
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


_EXACT_TEXT = re.compile(r"\s*(\d{1,30}(?:\.\d{1,30})?)\s*(?:/\s*(\d{1,30}(?:\.\d{1,30})?)\s*)?")


def _share(v: Exact, what: str) -> Exact:
    """A value from 0 to 1 (an option's or a verification level's share of the answer)."""
    if not 0 <= v <= 1:
        raise ValueError(f"{what} must be greater than or equal to 0 and less than or equal to 1")
    return v


class Exact(Fraction):
    """An exact rubric number: ``1``, ``0.75``, ``"2/3"`` or ``"2.2/3"`` (a decimal over a decimal).

    Stored as a fraction, so 5/6 is 5/6 and not a 28-digit decimal. It prints like a decimal when
    it is one (``normalize()`` gives a :class:`~decimal.Decimal`, so ``f"{v.normalize():f}"`` shows
    ``0.75``) and as ``n/d`` otherwise (``2/3``).
    """

    @classmethod
    def parse(cls, raw: object) -> Exact:
        if isinstance(raw, bool):
            raise ValueError("expected a number or a fraction like '2/3'")
        if isinstance(raw, Fraction):
            return cls(raw)
        if isinstance(raw, int | float | Decimal):
            return cls(_bounded(Decimal(str(raw))))
        match = _EXACT_TEXT.fullmatch(str(raw)) if isinstance(raw, str) else None
        if match is None:
            raise ValueError(
                "expected a number (0.75) or a fraction of two numbers ('2/3', '2.2/3')"
            )
        top, bottom = match.groups()
        den = Fraction(Decimal(bottom)) if bottom else Fraction(1)
        if den == 0:
            raise ValueError("a fraction cannot divide by 0")
        return cls(Fraction(Decimal(top)) / den)

    def normalize(self) -> Decimal | Exact:
        """A Decimal when the value has a finite decimal form, else the fraction itself."""
        d = self.denominator
        for p in (2, 5):
            while d % p == 0:
                d //= p
        if d != 1:
            return self
        return (Decimal(self.numerator) / Decimal(self.denominator)).normalize()

    def __format__(self, spec: str) -> str:
        value = self.normalize()
        if isinstance(value, Decimal):
            # normalize() writes 40 as 4E+1: without a spec, a number prints as written
            return format(value, spec or "f")
        return f"{self.numerator}/{self.denominator}"

    def __str__(self) -> str:
        return format(self, "f")

    def __repr__(self) -> str:
        return f"Exact('{self}')"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls.parse, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": _EXACT_TEXT.pattern}]}


class YaTidak(_Model):
    """Ya = 1, Tidak = 0."""

    type: Literal["ya_tidak"]

    def choices(self) -> list[str]:
        return ["Ya", "Tidak"]

    def parse(self, raw: object) -> Parsed:
        key = _norm(raw)
        if key == "ya":
            return _YA
        if key == "tidak":
            return _TIDAK
        raise AnswerError("Ya, Tidak")


#: The two answers of a Ya/Tidak row (immutable: every row answered alike shares one).
_YA = Parsed("Ya", Fraction(1))
_TIDAK = Parsed("Tidak", Fraction(0))


class Option(_Model):
    label: str = Field(min_length=1)
    value: Exact

    _zero_to_one = field_validator("value")(lambda v: _share(v, "an option value"))


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
    min: Num = Field(gt=0)
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
    """Sub-items answered each; the value is the mean of the items' values.

    Items are answered Ya (1) / Tidak (0), or with the rubric's own ``options`` (SAKIP: Y / T, or
    A / B / C / D = 1 / 0.66 / 0.33 / 0 per evidence document).
    """

    type: Literal["checklist"]
    items: list[ChecklistItem] = Field(min_length=1)
    options: list[Option] | None = Field(default=None, min_length=2)

    def choices(self) -> list[str]:
        return [o.label for o in self.options] if self.options else ["Ya", "Tidak"]

    def parse(self, raw: object) -> Parsed:
        if self.options:
            return Options(type="options", options=self.options).parse(raw)
        return YaTidak(type="ya_tidak").parse(raw)


class Info(_Model):
    """Asked for information; any answer is accepted and nothing is scored."""

    type: Literal["info"]

    def choices(self) -> list[str]:
        return []

    def parse(self, raw: object) -> Parsed:
        return Parsed(" ".join(str(raw).split()), None)


class Number(_Model):
    """A count or amount typed for a computed answer (ZI: staff trained); not scored itself."""

    type: Literal["number"]
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
        return Parsed(_plain(n), None)


class Computed(_Model):
    """An answer monev computes from ``number`` rows (Zona Integritas: a ratio of two counts).

    ``numbers`` maps each name the ``formula`` uses to the code of a ``number`` indicator; the
    formula is of :mod:`monev.formula` (``+ - * /``, ``ratio``, ``sum``, ``min``, ``max``) and its
    result, the answer's value, must be from 0 to 1. Nothing is typed on the computed row itself.
    """

    type: Literal["computed"]
    numbers: dict[str, str] = Field(min_length=1, max_length=20)
    formula: str = Field(min_length=1)
    _tree: Any = PrivateAttr(default=None)

    @field_validator("formula")
    @classmethod
    def _parses(cls, v: str) -> str:
        from monev.formula import FormulaError, parse

        try:
            parse(v)
        except FormulaError as exc:
            raise ValueError(f"not a formula monev can compute: {exc}") from None
        return v

    @property
    def tree(self) -> Any:
        """The parsed formula (:class:`monev.formula.Node`), parsed once."""
        if self._tree is None:
            from monev.formula import parse

            self._tree = parse(self.formula)
        return self._tree

    def choices(self) -> list[str]:
        return []

    def parse(self, raw: object) -> Parsed:
        raise AnswerError("dihitung monev", "computed")


AnswerSpec = Annotated[
    YaTidak | Options | Threshold | Percent | Checklist | Info | Number | Computed,
    Field(discriminator="type"),
]


class Aspect(_Model):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    weight: Num = Field(gt=0, le=100)


class Level(_Model):
    """One graded verification level (Kemenhub: Kurang / Cukup / Hampir sesuai / Sesuai)."""

    name: str = Field(min_length=1)
    value: Exact  # the share of the answer's value the level keeps, 0..1

    _zero_to_one = field_validator("value")(lambda v: _share(v, "a level value"))


class Verification(_Model):
    """Graded verifier decisions defined by the rubric.

    The ``Verifikasi`` column then takes these level names; a graded answer keeps its value x the
    level's value (an indicator may give its own values in ``levels``). ``ungraded``: the level a
    positive answer without a decision gets (after the evidence rules); None: its own value.
    """

    levels: list[Level] = Field(min_length=1)
    ungraded: str | None = None


#: The verifier decisions of a rubric without ``verification``: Sesuai keeps the answer's value
#: (whatever the evidence), Tidak Sesuai makes it 0.
DEFAULT_VERDICTS = ("Sesuai", "Tidak Sesuai")


def verdict_key(text: str) -> str:
    """A verifier's decision compared in any case and spacing, with -, _ and . as spaces."""
    return " ".join(re.sub(r"[-_.]+", " ", text).split()).casefold()


class Group(_Model):
    """A sub-group of an aspect or of another group (SAKIP: component -> sub-component).

    A node (aspect or group) shares its points among its children (sub-groups and the indicators
    placed directly in it) in proportion to their weights; only children with a scored indicator
    count. Without groups, an aspect shares its weight among its indicators, as before.
    """

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    parent: str = Field(min_length=1)
    weight: Exact = Exact(1)

    @field_validator("weight")
    @classmethod
    def _positive(cls, v: Exact) -> Exact:
        if not 0 < v <= 1_000_000:
            raise ValueError("a weight must be greater than 0 and at most 1000000")
        return v


class Indicator(_Model):
    code: str = Field(min_length=1)
    aspect: str
    group: str | None = None  # a group under ``aspect`` (at any depth); None: the aspect itself
    #: This indicator's own values for some verification levels (Kemenhub: each item's points).
    levels: dict[str, Exact] = Field(default_factory=dict)
    question: str = Field(min_length=1)
    answer: AnswerSpec
    weight: Exact = Exact(1)
    evidence_required: bool = True
    evidence_hint: str = ""
    legal_basis: str | None = None
    source: str | None = None

    @field_validator("weight")
    @classmethod
    def _positive(cls, v: Exact) -> Exact:
        if not 0 < v <= 1_000_000:
            raise ValueError("a weight must be greater than 0 and at most 1000000")
        return v

    @property
    def scored(self) -> bool:
        return self.answer.type not in ("info", "number")


class Band(_Model):
    name: str = Field(min_length=1)
    min: Num = Field(ge=0, le=100)
    colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")  # None: monev's colours
    colour_name: str | None = Field(default=None, min_length=1)  # the instrument's zone name
    #: Minimum (rounded) verifiable points per aspect or group, all needed for this band, on top
    #: of ``min`` (Zona Integritas: WBK needs each pillar at its own minimum).
    requires: dict[str, Num] = Field(default_factory=dict)


class Gate(_Model):
    stage: str
    min: Num = Field(ge=0, le=100)


class StagePart(_Model):
    """A part of a later stage's score (KI Kalbar's presentation: the leader, the programme)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    max: Decimal = Field(gt=0, le=100)


class StageVariant(_Model):
    """One way an office takes a stage (in person, by video), with parts whose maxima add to 100."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    parts: list[StagePart] = Field(min_length=1)


class Stage(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    weight: Num = Field(gt=0, le=100)
    gate: Gate | None = None
    #: How the stage's 0-100 score is made up, by variant (one chosen per office); empty: a whole.
    variants: list[StageVariant] = Field(default_factory=list)

    def score_from_parts(self, variant: str, parts: Mapping[str, Decimal]) -> Decimal:
        """The stage score (0-100, exact) from one office's part scores under ``variant``.

        Every part of the variant must be given, each from 0 to its maximum; raises ValueError
        naming what is wrong otherwise.
        """
        chosen = next((v for v in self.variants if v.code == variant), None)
        if chosen is None:
            known = ", ".join(v.code for v in self.variants) or "none"
            raise ValueError(f"stage {self.code!r} has no variant {variant!r} (known: {known})")
        codes = [p.code for p in chosen.parts]
        extra = sorted(set(parts) - set(codes))
        if extra:
            raise ValueError(
                f"variant {variant!r} has no part {extra[0]!r} (parts: {', '.join(codes)})"
            )
        total = Decimal(0)
        for part in chosen.parts:
            if part.code not in parts:
                raise ValueError(f"part {part.code!r} of variant {variant!r} has no score")
            value = parts[part.code]
            if not 0 <= value <= part.max:
                raise ValueError(f"part {part.code!r} must be from 0 to {part.max}, not {value}")
            total += value
        return total


#: Unit types of a rubric that names none (KI Jatim's): the city's lead PPID and its units.
DEFAULT_UNIT_TYPES = ("PPID Utama", "OPD", "Kecamatan", "Kelurahan")
DEFAULT_LEAD_UNIT = "PPID Utama"


class Track(_Model):
    """An assessor track (SAKIP: the unit's self-assessment, the evaluator, the quality assurer)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)


class Assessors(_Model):
    """Several assessors score one office, one workbook each (``Penilai`` on the Identitas sheet).

    ``combine``: ``mean`` (each indicator's value is the mean over the tracks that sent a
    workbook), ``last`` (the last track in this list that sent one: the latest decision), or a
    track's code (that track; the last one present while it has not sent its workbook).
    """

    tracks: list[Track] = Field(min_length=2, max_length=10)
    combine: str = "mean"

    def track(self, raw: str) -> Track | None:
        """The track a ``Penilai`` cell names, by code or name (any case and spacing)."""
        key = verdict_key(raw)
        return next(
            (t for t in self.tracks if key in (verdict_key(t.code), verdict_key(t.name))), None
        )


class Rounding(_Model):
    """Where the instrument itself rounds, half up, to how many decimals (None: exact there).

    monev's own rule is exact values rounded once; an instrument whose published figures round
    each criterion's points (``indicators``), each group's sum (``groups``) or each aspect's sum
    (``aspects``) on the way up is reproduced by saying so here.
    """

    indicators: int | None = Field(default=None, ge=0, le=6)
    groups: int | None = Field(default=None, ge=0, le=6)
    aspects: int | None = Field(default=None, ge=0, le=6)


class Titles(_Model):
    """Titles of the documents monev makes for this instrument; None: monev's own wording."""

    questionnaire: str | None = Field(default=None, min_length=1)
    office_report: str | None = Field(default=None, min_length=1)
    city_report: str | None = Field(default=None, min_length=1)
    #: ``{name}`` stands for the kecamatan's name; without it the name follows after a colon.
    kecamatan_report: str | None = Field(default=None, min_length=1)


class Rubric(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str = Field(min_length=1)
    year: int = Field(ge=2008, le=2100)
    category: str = Field(min_length=1)
    version: str = Field(pattern=r"^\d+(\.\d+)*$")
    reconstructed: bool = False
    source_notes: str = ""
    aspects: list[Aspect] = Field(min_length=1)
    groups: list[Group] = Field(default_factory=list)
    indicators: list[Indicator] = Field(min_length=1)
    predicates: list[Band] = Field(default_factory=list)  # none: an instrument that only ranks
    stages: list[Stage] = Field(min_length=1)
    #: What a later stage without a score counts: ``fallback_to_saq`` (the final score is the
    #: verifiable SAQ, KI Jatim) or ``zero`` (the stage counts 0, KI Bali's desa appreciation).
    missing_stage: Literal["fallback_to_saq", "zero"] = "fallback_to_saq"
    unit_types: list[str] = Field(default_factory=lambda: list(DEFAULT_UNIT_TYPES), min_length=1)
    #: The unit that leads the others (its own report section); None: every unit is alike.
    lead_unit: str | None = DEFAULT_LEAD_UNIT
    titles: Titles = Titles()
    verification: Verification | None = None  # None: Sesuai / Tidak Sesuai, as KI Jatim
    #: Where the instrument rounds on the way up; by default nowhere (exact, rounded once).
    rounding: Rounding = Rounding()
    #: Several assessor tracks per office and how they combine; None: one workbook per office.
    assessors: Assessors | None = None

    _path: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")
    _by_aspect: dict[str, list[Indicator]] | None = PrivateAttr(default=None)
    _aspects: dict[str, Aspect] | None = PrivateAttr(default=None)

    @property
    def path(self) -> str:
        return self._path

    @property
    def sha256(self) -> str:
        return self._sha256

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Rubric:
        """A copy; with ``update`` a changed rubric, which is no longer its file (no path, no
        sha256) and keeps none of the indexes built from the original. pydantic's own copy kept
        them: the copy's ``indicators_of`` listed the original's indicators and its sha256 named a
        file it no longer was, so a render cache could hand back the original's PDFs.

        A rubric is not changed in place (its lists included): make a changed copy instead.
        """
        copy = super().model_copy(update=update, deep=deep)
        if update:
            for name, attr in self.__private_attributes__.items():
                setattr(copy, name, attr.get_default())
        return copy

    def aspect(self, code: str) -> Aspect:
        if self._aspects is None:
            self._aspects = {}
            for a in self.aspects:
                self._aspects.setdefault(a.code, a)
        return self._aspects[code]

    def verdicts(self) -> dict[str, str]:
        """The decisions the ``Verifikasi`` column accepts: comparison key -> the rubric's name."""
        names = (
            [lv.name for lv in self.verification.levels] if self.verification else DEFAULT_VERDICTS
        )
        return {verdict_key(n): n for n in names}

    def level_value(self, ind: Indicator, level: str) -> Fraction:
        """The share of ``ind``'s answer value that a graded ``level`` keeps."""
        if level in ind.levels:
            return Fraction(ind.levels[level])
        for lv in self.verification.levels if self.verification else ():
            if lv.name == level:
                return Fraction(lv.value)
        raise ValueError(f"{level!r} is not a verification level of rubric {self.id!r}")

    def root_of(self, group_code: str) -> str | None:
        """The aspect a group belongs to (None: unknown code or a cycle)."""
        parents = {g.code: g.parent for g in self.groups}
        aspects = {a.code for a in self.aspects}
        code = group_code
        for _ in range(len(self.groups) + 1):
            if code in aspects:
                return code
            if code not in parents:
                return None
            code = parents[code]
        return None

    def max_points(self) -> dict[str, Fraction]:
        """Maximum points of every scored indicator and every group, by code (exact).

        Each aspect's weight is shared down the tree: a node gives each child (sub-group or
        indicator placed directly in it) node points x child weight / sum of its children's weights.
        """
        out: dict[str, Fraction] = {}
        sub: dict[str, list[Group]] = {}
        for g in self.groups:
            sub.setdefault(g.parent, []).append(g)
        direct: dict[str, list[Indicator]] = {}
        for i in self.indicators:
            if i.scored:
                direct.setdefault(i.group or i.aspect, []).append(i)
        todo: list[tuple[str, Fraction]] = [(a.code, Fraction(a.weight)) for a in self.aspects]
        while todo:
            node, points = todo.pop()
            parts: list[tuple[str, Fraction, bool]] = [
                (g.code, Fraction(g.weight), True) for g in sub.get(node, [])
            ] + [(i.code, Fraction(i.weight), False) for i in direct.get(node, [])]
            total = sum((w for _, w, _ in parts), Fraction(0))
            for code, w, is_group in parts:
                out[code] = points * w / total
                if is_group:
                    todo.append((code, out[code]))
        return out

    def indicators_of(self, aspect_code: str) -> list[Indicator]:
        """The aspect's indicators in rubric order (an index built once: linear, not A x I)."""
        if self._by_aspect is None:
            self._by_aspect = {}
            for i in self.indicators:
                self._by_aspect.setdefault(i.aspect, []).append(i)
        return list(self._by_aspect.get(aspect_code, ()))

    def predicate(self, score: Decimal) -> str:
        """The band whose lower bound the (rounded) score reaches; ``""`` without bands.

        Looks at the total only; the scorer uses :meth:`band_for`, which also checks ``requires``.
        """
        for band in self.predicates:
            if score >= band.min:
                return band.name
        return self.predicates[-1].name if self.predicates else ""

    def band_for(self, score: Decimal, points: Mapping[str, Decimal]) -> str:
        """The highest band whose ``min`` the rounded ``score`` reaches and whose ``requires`` the
        rounded verifiable ``points`` per aspect or group all reach; ``""`` without bands."""
        for band in self.predicates:
            if score >= band.min and all(
                points.get(code, Decimal(0)) >= need for code, need in band.requires.items()
            ):
                return band.name
        return self.predicates[-1].name if self.predicates else ""

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


_T = TypeVar("_T")
_DERIVED: dict[int, tuple[Rubric, dict[str, Any]]] = {}


def derived(rubric: Rubric, name: str, build: Callable[[Rubric], _T]) -> _T:
    """``build(rubric)``, computed once per rubric object and kept under ``name``: for what the
    reader and the scorer need of a rubric and no workbook changes (not to be changed by callers).

    Kept by the object itself: a rubric is never changed in place, and a copy with other values
    (``model_copy``) is another object with its own values.
    """
    hit = _DERIVED.get(id(rubric))
    if hit is None or hit[0] is not rubric:
        if len(_DERIVED) >= 16:  # a few rubrics per process; never grows without bound
            _DERIVED.clear()
        hit = _DERIVED[id(rubric)] = (rubric, {})
    values = hit[1]
    if name not in values:
        values[name] = build(rubric)
    return values[name]


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


_TAGS = {
    "ya_tidak",
    "options",
    "threshold",
    "percent",
    "checklist",
    "info",
    "number",
    "computed",
}


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
    # The reader takes a workbook's codes in upper case with spaces collapsed; a code written
    # otherwise here could never match a row, so it is refused rather than silently unanswered.
    for i, ind in enumerate(r.indicators):
        codes = [(f"indicators[{i}].code", ind.code)]
        if isinstance(ind.answer, Checklist):
            codes += [
                (f"indicators[{i}].answer.items[{k}].code", item.code)
                for k, item in enumerate(ind.answer.items)
            ]
        for path, code in codes:
            as_read = " ".join(code.split()).upper()
            if code != as_read:
                errors.append(
                    (path, f"code {code!r} must be written as workbooks are read: {as_read!r}")
                )
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
        if isinstance(ind.answer, Options | Checklist) and ind.answer.options:
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
    errors.extend(_instrument_checks(r))
    return errors


def _instrument_checks(r: Rubric) -> list[tuple[str, str]]:
    """Checks of the fields that describe an instrument other than KI Jatim's (issue 12)."""
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, unit in enumerate(r.unit_types):
        key = _norm(unit)
        if not key:
            errors.append((f"unit_types[{i}]", "a unit type cannot be empty"))
        elif key in seen:
            errors.append((f"unit_types[{i}]", f"duplicate unit type {unit!r}"))
        seen.add(key)
    errors.extend(_group_checks(r))
    errors.extend(_level_checks(r))
    errors.extend(_computed_checks(r))
    known: dict[str, Decimal | Fraction] = {a.code: a.weight for a in r.aspects}
    if r.groups and not any(e[0].startswith(("groups", "indicators")) for e in errors):
        shares = r.max_points()
        known.update({g.code: shares[g.code] for g in r.groups if g.code in shares})
    for k, band in enumerate(r.predicates):
        for code, need in band.requires.items():
            where = f"predicates[{k}].requires.{code}"
            if code not in known:
                errors.append((where, f"unknown aspect or group {code!r}"))
            elif not 0 <= need <= known[code]:
                top = known[code]
                shown = f"{top:f}" if isinstance(top, Decimal) else f"{float(top):.4g}"
                errors.append((where, f"must be from 0 to the points of {code!r} ({shown})"))
    if r.predicates and r.predicates[-1].requires:
        errors.append(
            (
                f"predicates[{len(r.predicates) - 1}].requires",
                "the lowest band cannot require minimums",
            )
        )
    for k, stage in enumerate(r.stages):
        if stage.variants and k == 0:
            errors.append(("stages[0].variants", "the SAQ stage is scored from its indicators"))
        codes = [v.code for v in stage.variants]
        for j, v in enumerate(stage.variants):
            where = f"stages[{k}].variants[{j}]"
            if v.code in codes[:j]:
                errors.append((f"{where}.code", f"duplicate variant {v.code!r}"))
            parts = [p.code for p in v.parts]
            if len(set(parts)) != len(parts):
                errors.append((f"{where}.parts", "duplicate part codes"))
            total = sum((p.max for p in v.parts), Decimal(0))
            if total != 100:
                errors.append((f"{where}.parts", f"part maxima add up to {total}, not 100"))
    if r.assessors is not None:
        codes = [t.code for t in r.assessors.tracks]
        keys = [verdict_key(t.name) for t in r.assessors.tracks]
        for j, code in enumerate(codes):
            if code in codes[:j] or keys[j] in keys[:j]:
                errors.append((f"assessors.tracks[{j}]", f"duplicate track {code!r}"))
        if r.assessors.combine not in ("mean", "last", *codes):
            errors.append(
                (
                    "assessors.combine",
                    f"{r.assessors.combine!r} is not mean, last or a track ({', '.join(codes)})",
                )
            )
    if r.lead_unit is not None and _norm(r.lead_unit) not in seen:
        errors.append(
            (
                "lead_unit",
                f"{r.lead_unit!r} is not one of the unit_types ({', '.join(r.unit_types)})",
            )
        )
    return errors


def _computed_checks(r: Rubric) -> list[tuple[str, str]]:
    """Computed answers: names that match the formula, each naming a ``number`` indicator."""
    from monev.formula import names

    errors: list[tuple[str, str]] = []
    kinds = {ind.code: ind.answer.type for ind in r.indicators}
    for i, ind in enumerate(r.indicators):
        if not isinstance(ind.answer, Computed):
            continue
        where = f"indicators[{i}].answer"
        used = names(ind.answer.tree)
        for name in sorted(used - set(ind.answer.numbers)):
            errors.append((f"{where}.formula", f"the formula uses {name!r}, not one of numbers"))
        for name, code in ind.answer.numbers.items():
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,39}", name):
                errors.append(
                    (f"{where}.numbers.{name}", "a name is lower case letters, digits and _")
                )
            elif name not in used:
                errors.append((f"{where}.numbers.{name}", "the formula does not use this name"))
            if kinds.get(code) != "number":
                errors.append(
                    (f"{where}.numbers.{name}", f"{code!r} is not an indicator of type number")
                )
    return errors


def _level_checks(r: Rubric) -> list[tuple[str, str]]:
    """Verification levels: unique names, a known ``ungraded`` level, indicators' own values."""
    errors: list[tuple[str, str]] = []
    names: set[str] = set()
    if r.verification:
        seen: set[str] = set()
        for k, lv in enumerate(r.verification.levels):
            key = verdict_key(lv.name)
            if not key or key in seen:
                errors.append((f"verification.levels[{k}].name", f"duplicate level {lv.name!r}"))
            seen.add(key)
            names.add(lv.name)
        if r.verification.ungraded is not None and r.verification.ungraded not in names:
            errors.append(
                ("verification.ungraded", f"{r.verification.ungraded!r} is not one of the levels")
            )
    for i, ind in enumerate(r.indicators):
        for name, value in ind.levels.items():
            where = f"indicators[{i}].levels.{name}"
            if name not in names:
                errors.append((where, "not a level of the rubric's verification"))
            elif not 0 <= value <= 1:
                errors.append((where, "must be from 0 to 1"))
    return errors


def _group_checks(r: Rubric) -> list[tuple[str, str]]:
    """Groups: unique codes, known parents, no cycles; indicators placed in their aspect's tree."""
    errors: list[tuple[str, str]] = []
    aspects = {a.code for a in r.aspects}
    seen: set[str] = set()
    for k, g in enumerate(r.groups):
        if g.code in aspects or g.code in seen:
            errors.append((f"groups[{k}].code", f"duplicate code {g.code!r}"))
        seen.add(g.code)
    for k, g in enumerate(r.groups):
        if g.parent not in aspects and g.parent not in seen:
            errors.append((f"groups[{k}].parent", f"unknown aspect or group {g.parent!r}"))
        elif r.root_of(g.code) is None:
            errors.append((f"groups[{k}].parent", f"group {g.code!r} is its own ancestor"))
    if errors:
        return errors
    for i, ind in enumerate(r.indicators):
        if ind.group is None:
            continue
        if ind.group not in seen:
            errors.append((f"indicators[{i}].group", f"unknown group {ind.group!r}"))
        elif r.root_of(ind.group) != ind.aspect:
            errors.append(
                (
                    f"indicators[{i}].group",
                    f"group {ind.group!r} is not under aspect {ind.aspect!r}",
                )
            )
    if errors:
        return errors
    has_scored = {i.group for i in r.indicators if i.scored and i.group}
    parents = {g.code: g.parent for g in r.groups}
    for code in list(has_scored):
        while code in parents:
            code = parents[code]
            has_scored.add(code)
    for k, g in enumerate(r.groups):
        if g.code not in has_scored:
            errors.append((f"groups[{k}]", f"group {g.code!r} has no scored indicator"))
    return errors


def _count_errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Lists longer than any rubric needs, found before the (per-item) validation starts."""
    errors: list[tuple[str, str]] = []

    def check(value: Any, path: str, key: str) -> None:
        if isinstance(value, list) and len(value) > MAX_COUNTS[key]:
            errors.append((path, f"{len(value)} entries, more than the limit of {MAX_COUNTS[key]}"))

    for key in ("aspects", "indicators", "predicates", "stages"):
        check(data.get(key), key, key)
    indicators = data.get("indicators")
    if isinstance(indicators, list) and len(indicators) <= MAX_COUNTS["indicators"]:
        for i, ind in enumerate(indicators):
            answer = ind.get("answer") if isinstance(ind, dict) else None
            if isinstance(answer, dict):
                for key in ("options", "items"):
                    check(answer.get(key), f"indicators[{i}].answer.{key}", key)
    return errors


NOT_A_RUBRIC = (
    "this is not a rubric file (a rubric is a YAML mapping with id, title, aspects, "
    "indicators, predicates and stages)"
)


def parse_rubric(text: str, file: str = "<string>") -> Rubric:
    """Validate rubric YAML text; raise :class:`RubricError` naming every bad value."""
    try:
        data = load_yaml_limited(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise RubricError(
            file, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    except YamlLimitError as exc:
        raise RubricError(file, [("", str(exc))]) from None
    if not isinstance(data, dict):
        raise RubricError(file, [("", NOT_A_RUBRIC)])
    errors = _count_errors(data)
    if errors:
        raise RubricError(file, errors)
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
    """Load a shipped rubric by id, or any rubric file by path (at most ``MAX_RUBRIC_BYTES``)."""
    path = Path(ref)
    known = shipped()
    if str(ref) in known and not path.exists():
        path = known[str(ref)]
    elif not path.exists() and not path.suffix and len(path.parts) == 1:
        raise RubricError(
            str(ref), [("", f"no shipped rubric with this id (known: {', '.join(known)})")]
        )
    if path.is_dir():
        raise RubricError(str(ref), [("", "this is a folder, not a rubric file")])
    if path.exists() and not path.is_file():  # a FIFO or a device: reading could never end
        raise RubricError(str(ref), [("", f"{NOT_A_RUBRIC}: not a regular file")])
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_RUBRIC_BYTES + 1)
    except OSError as exc:
        raise RubricError(
            str(ref), [("", f"cannot read the file: {exc.strerror or exc}")]
        ) from None
    if len(raw) > MAX_RUBRIC_BYTES:
        raise RubricError(
            str(path), [("", f"the file is larger than {MAX_RUBRIC_BYTES // 1_000_000} MB")]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RubricError(str(path), [("", f"{NOT_A_RUBRIC}: not UTF-8 text")]) from None
    shipped_file = path.resolve().parent == data_dir("scoring_rules").resolve()
    return parse_rubric(text, file=path.name if shipped_file else str(path))
