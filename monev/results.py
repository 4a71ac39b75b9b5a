"""Step 4 of the pipeline: the result of a run, ranked, and its JSON / CSV / XLSX forms.

``results.json`` is a documented contract (schema: ``monev/results.schema.json``). Scores are JSON
numbers with two decimals; indicator points carry four decimals and their exact fraction, so an
auditor can recompute every figure.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import io
import json
import os
import re
import secrets
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from monev import __version__
from monev.i18n import fmt_number
from monev.outputs import write_atomic
from monev.problems import Problem, sort_key
from monev.registry import Coverage, Entry, Registry
from monev.rounding import round_half_up
from monev.rubric import Rubric
from monev.scoring import OfficeScore, indicator_points, round2
from monev.text import for_csv, for_xlsx, formula_safe
from monev.workbook import Office

# The layout of results.json: raised when a field changes meaning or is removed (adding one does
# not). ``--previous`` reads this version and files without it (monev 0.1).
SCHEMA_VERSION = 1


def num(value: Decimal | Fraction | int, places: int = 2) -> Decimal:
    """An exact value rounded half up to ``places`` decimals, kept as a Decimal with those places.

    :func:`dumps` writes it as a JSON number with exactly those decimals (``95.00``, ``2.8571``).
    """
    if type(value) is Fraction:  # most figures: remembered by their two integers (issue 13)
        return _rounded_fraction(value.numerator, value.denominator, places)
    return _rounded(value, places)


@functools.lru_cache(maxsize=4096)
def _rounded_fraction(numerator: int, denominator: int, places: int) -> Decimal:
    """:func:`_rounded` of ``Fraction(numerator, denominator)``, remembered by two integers: a
    Fraction as the key is hashed and compared in Python, about a microsecond each, on the
    200,000 figures of 1,000 offices' results.json."""
    return round_half_up(Fraction(numerator, denominator), places)


@functools.lru_cache(maxsize=4096)
def _rounded(value: Decimal | Fraction | int, places: int) -> Decimal:
    """:func:`round_half_up`, remembered: the same few exact values (0, 1, 1/2, an indicator's
    weight) recur on every office, and each rounding goes through a Fraction (issue 13).

    Equal keys give equal results: ``Fraction(1, 2)`` and ``Decimal("0.5")`` compare and hash
    equal and round to the same Decimal.
    """
    return round_half_up(value, places)


def round_places(value: Fraction | Decimal | int, places: int) -> Decimal:
    """Round an exact value half up to ``places`` decimals (the one rule: :mod:`monev.rounding`)."""
    return round_half_up(value, places)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


# Numbers msgspec may write otherwise than the json module: in exponent form (a Decimal such as
# ``1E+1``, a float such as ``1e16``: json writes ``10``, ``1e+16``) or a small float written out
# (``0.00001``: json writes ``1e-05``). Text holding one is written again by the json module. In
# indented JSON every value ends its line and a string ends with a quote, so only a number can
# end a line this way (a sha256 with ``3e5`` in it does not match; num() gives at most 4 decimals).
# Checked against 200,000 random floats: every difference is caught.
# Two searches, each starting with what a regular expression finds fast (a letter, a literal),
# about 2x faster than one search for ``[0-9.][eE]...`` (issue 13): the first also matches an
# ``e`` after any character, which in indented JSON can only be a number's.
_EXPONENT = re.compile(rb"[eE][+-]?[0-9]+,?$", re.MULTILINE)
_SMALL = re.compile(rb"0\.0000[0-9]+,?$", re.MULTILINE)
# _EXPONENT on the text read backwards: the search then starts at a line break (a literal, which
# the regular expression engine finds fast) instead of at every "e" of the text; about 3x
# faster on an office's 36 KB (issue 13). :func:`_has_exponent` is True exactly when
# ``_EXPONENT.search`` finds something (tests/test_bulk.py checks it on random texts).
_EXPONENT_BACKWARDS = re.compile(rb"\n,?[0-9]+[+-]?[eE]")
_EXPONENT_BACKWARDS_END = re.compile(rb",?[0-9]+[+-]?[eE]")


def _has_exponent(raw: bytes) -> bool:
    backwards = raw[::-1]
    return bool(_EXPONENT_BACKWARDS_END.match(backwards) or _EXPONENT_BACKWARDS.search(backwards))


def dumps(data: Any) -> str:
    """JSON text in which Decimals are numbers written with their own decimals (``95.00``).

    The text is that of ``json.dumps(data, ensure_ascii=False, indent=2)`` with each finite
    Decimal written as a number with its digits (:func:`_dumps_json`). msgspec writes the same text
    about 10x faster (issue 13: results.json of 1,000 offices, 38 MB), so it is used when it can
    only agree: on anything it writes differently (a number in exponent form, a small float, a lone
    surrogate, a key that is not text or a number, a Decimal that is not finite) the json module
    writes it. (A float NaN, which the data never holds, would be ``null`` instead of ``NaN``.)
    """
    import msgspec

    try:
        raw = msgspec.json.format(_fast_encoder().encode(data), indent=2)
    except (TypeError, ValueError, UnicodeEncodeError, OverflowError):
        return _dumps_json(data)
    if _has_exponent(raw) or _SMALL.search(raw):
        return _dumps_json(data)
    return raw.decode("utf-8")


@functools.cache
def _fast_encoder() -> Any:
    """msgspec's encoder, writing a Decimal as a number with its own digits (``str(value)``)."""
    import msgspec

    return msgspec.json.Encoder(decimal_format="number")


def _dumps_json(data: Any) -> str:
    """:func:`dumps` through the json module.

    The json module cannot write a number with trailing zeros, so each Decimal goes through a
    placeholder string that cannot occur in the data (a fresh random tag per call) and is then
    replaced by its digits. Lone surrogates (a file name that is not UTF-8) are written as
    ``\\uXXXX`` escapes, so the text always encodes as UTF-8 and reads back to the same value.
    """
    tag = f"\x00{secrets.token_hex(8)}:"
    placeholder = re.compile(r'"\\u0000' + tag[1:] + r'(-?\d+(?:\.\d+)?)"')

    def encode(value: Any) -> str:
        if isinstance(value, Decimal) and value.is_finite():
            return f"{tag}{value:f}"
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")

    text = json.dumps(data, ensure_ascii=False, indent=2, default=encode)
    text = placeholder.sub(r"\1", text)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: What results-publik.json leaves out of each office / each of its indicators (UU PDP).
_PRIVATE_OFFICE = frozenset({"respondent"})
_PRIVATE_INDICATOR = frozenset({"verifier_note"})


def public_office(d: dict[str, Any]) -> dict[str, Any]:
    """An office of results.json (:meth:`RunResult.office_dict`) as results-publik.json gives
    it: without the respondent's name and the verifier's notes, keys in the same order."""
    out = {k: v for k, v in d.items() if k not in _PRIVATE_OFFICE}
    out["indicators"] = [_without(i, _PRIVATE_INDICATOR) for i in d["indicators"]]
    return out


def _without(d: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    """``d`` without ``keys``, the others in the same order (a copy, then deletions: a fifth of
    the cost of a comprehension on an indicator's 15 keys; issue 13)."""
    out = d.copy()
    for k in keys:
        out.pop(k, None)
    return out


@dataclass
class OfficeResult:
    file: str
    sha256: str
    office: Office
    score: OfficeScore
    problems: list[Problem]
    rank: int = 0

    @property
    def name(self) -> str:
        return self.office.name


@dataclass
class Rejected:
    """A file that is not ranked: rejected (cannot be scored) or skipped (a lock file, an older
    copy of an office's workbook)."""

    file: str
    sha256: str
    problems: list[Problem]
    skipped: bool = False


@dataclass
class RunResult:
    rubric: Rubric
    offices: list[OfficeResult]
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[Rejected] = field(default_factory=list)
    as_of: dt.date = field(default_factory=dt.date.today)
    #: A monev.compare.Comparison when --previous was given (results never import compare: the
    #: comparison gives its own JSON forms, ``to_dict(run)`` and ``office_dict(file)``).
    comparison: Any = None
    #: Report files a renderer could not make (it died on them); the other outputs are whole.
    pdf_failed: list[str] = field(default_factory=list)
    #: The city's office registry (--offices), and its offices that sent no workbook.
    registry: Registry | None = None
    missing: list[Entry] = field(default_factory=list)
    #: A monev.stages.StagesSource when stage scores came from a stages file or the workbooks.
    stages_source: Any = None

    @property
    def received(self) -> int:
        return len(self.offices) + len(self.rejected) + len(self.skipped)

    @property
    def copies(self) -> int:
        """Workbooks set aside as older copies of an office's workbook."""
        return sum(x.problems[0].code == "MV430" for x in self.skipped)

    @property
    def needs_attention(self) -> bool:
        """Files rejected, copies of one office, errors in the stages file, or PDFs that could not
        be rendered: a person should look (exit code 1)."""
        stages_bad = self.stages_source is not None and any(
            p.severity in ("error", "fatal") for p in self.stages_source.problems
        )
        return bool(self.rejected) or self.copies > 0 or stages_bad or bool(self.pdf_failed)

    @property
    def coverage(self) -> Coverage | None:
        """Registry offices that sent a workbook, of those expected (None without a registry)."""
        if self.registry is None:
            return None
        from monev.identity import office_key

        return self.registry.coverage({office_key(o.name) for o in self.offices})

    def kecamatan_groups(self) -> list[KecamatanGroup]:
        """Per kecamatan: the kecamatan office, its kelurahan ranked, and who has not sent."""
        return kecamatan_groups(self)

    def _registry_part(self, public: bool = False) -> dict[str, Any]:
        """``missing`` and ``coverage`` for results.json (only with a registry)."""
        cov = self.coverage
        if cov is None:
            return {}
        return {
            "missing": [missing_dict(e, public) for e in self.missing],
            "coverage": cov.to_dict(),
        }

    def predicate_counts(self) -> dict[str, int]:
        counts = Counter(o.score.predicate for o in self.offices)
        return {b.name: counts.get(b.name, 0) for b in self.rubric.predicates}

    def office_dict(
        self, o: OfficeResult, lang: str = "id", public: bool = False
    ) -> dict[str, Any]:
        """One office of results.json; ``public`` leaves out the respondent's name and the
        verifier's notes (results-publik.json, the attachments of kota.pdf and the kecamatan
        PDFs: UU PDP)."""
        d = self._office_dict(o, lang)
        return public_office(d) if public else d

    def _office_dict(self, o: OfficeResult, lang: str) -> dict[str, Any]:
        s = o.score
        return {
            "name": o.office.name,
            "unit_type": o.office.unit_type,
            "kecamatan": o.office.kecamatan,
            "respondent": o.office.respondent,
            "file": o.file,
            "sha256": o.sha256,
            "rank": o.rank,
            "score": num(s.final_exact),
            "predicate": s.predicate or None,  # null: a rubric without bands
            "saq": {
                "claimed": num(s.saq_claimed_exact),
                "verifiable": num(s.saq_verifiable_exact),
                "evidence_loss": num(s.saq_claimed_exact - s.saq_verifiable_exact),
            },
            "stages": {k: num(v) for k, v in s.stage_scores.items()},
            "gate_passed": s.gate_passed,
            "staged": s.staged,
            "aspects": [
                {
                    "code": a.code,
                    "name": a.name,
                    "weight": num(a.weight),
                    "score": num(a.verifiable),
                    "claimed": num(a.claimed),
                }
                for a in s.aspects
            ],
            "indicators": [_indicator_dict(i) for i in s.indicators],
            "problems": [p.to_dict(lang) for p in sorted(o.problems, key=sort_key)],
            **self._previous_of(o),
        }

    def _previous_of(self, o: OfficeResult) -> dict[str, Any]:
        if self.comparison is None:
            return {}
        return {"previous": self.comparison.office_dict(o.file)}

    def to_dict(self, lang: str = "id", public: bool = False) -> dict[str, Any]:
        """The whole run as plain data; :func:`dumps` turns it into ``results.json`` (with
        ``public``: ``results-publik.json``, see :meth:`office_dict`)."""
        return self._dict(lang, [self.office_dict(o, lang, public) for o in self.offices], public)

    def _dict(self, lang: str, offices: list[Any], public: bool = False) -> dict[str, Any]:
        r = self.rubric
        return {
            "schema_version": SCHEMA_VERSION,
            **({"public": True} if public else {}),
            "monev_version": __version__,
            "as_of": self.as_of.isoformat(),
            "rubric": {
                "id": r.id,
                "version": r.version,
                "title": r.title,
                "sha256": r.sha256,
                "reconstructed": r.reconstructed,
            },
            "summary": {
                "received": self.received,
                "scored": len(self.offices),
                "rejected": len(self.rejected),
                "skipped": len(self.skipped),
                "predicates": self.predicate_counts(),
            },
            "offices": offices,
            "rejected": [
                {
                    "file": x.file,
                    "sha256": x.sha256,
                    "problems": [p.to_dict(lang) for p in x.problems],
                }
                for x in self.rejected
            ],
            "skipped": [
                {"file": x.file, "problems": [p.to_dict(lang) for p in x.problems]}
                for x in self.skipped
            ],
            **self._previous_run(),
            **(
                {"stages_source": self.stages_source.to_dict(lang)}
                if self.stages_source is not None
                else {}
            ),
            **self._registry_part(public),
        }

    def _previous_run(self) -> dict[str, Any]:
        if self.comparison is None:
            return {}
        return {"previous": self.comparison.to_dict(self)}

    def to_json(self, lang: str = "id", public: bool = False) -> str:
        return "".join(self.iter_json(lang, public))

    def iter_json(self, lang: str = "id", public: bool = False) -> Iterator[str]:
        """``results.json`` in pieces, one office at a time: the same text as
        ``dumps(self.to_dict(lang)) + "\\n"`` without ever holding all of it (issue 13: 10,000
        offices make 380 MB of JSON). Write the pieces as they come (:func:`write_outputs`)."""
        for full, pub in self.iter_json_both(lang, (not public, public)):
            yield pub if public else full

    def iter_json_both(
        self, lang: str = "id", which: tuple[bool, bool] = (True, True)
    ) -> Iterator[tuple[str, str]]:
        """(piece of ``results.json``, piece of ``results-publik.json``) as :meth:`iter_json`
        gives them, each office's data built once for both files (issue 13); ``which`` says
        which of the two to write (the other piece is "")."""
        full, pub = which
        if not self.offices:
            yield (
                dumps(self._dict(lang, [])) + "\n" if full else "",
                dumps(self._dict(lang, [], True)) + "\n" if pub else "",
            )
            return
        # The rest of the run is written with one placeholder office (a string no data holds);
        # the offices are written one by one in its place, indented two levels deeper.
        mark = f"monev-office-{secrets.token_hex(16)}"
        heads = [
            dumps(self._dict(lang, [mark], public)).split(f'"{mark}"') if want else ["", ""]
            for want, public in ((full, False), (pub, True))
        ]
        yield heads[0][0], heads[1][0]
        for k, o in enumerate(self.offices):
            d = self._office_dict(o, lang)
            texts = [
                dumps(data).replace("\n", "\n    ") if want else ""
                for want, data in ((full, d), (pub, public_office(d) if pub else d))
            ]
            if k:
                texts = [",\n    " + t if t else t for t in texts]
            yield texts[0], texts[1]
        yield (heads[0][1] + "\n" if full else "", heads[1][1] + "\n" if pub else "")

    def to_frame(self):  # -> pandas.DataFrame
        """One row per office and indicator, for analysis in pandas."""
        import pandas as pd

        rows = [
            {
                "rank": o.rank,
                "office": o.name,
                "unit_type": o.office.unit_type,
                "score": float(o.score.score),
                "predicate": o.score.predicate,
                "code": i.code,
                "aspect": i.aspect,
                "answer": i.answer,
                "status": i.status,
                "points": float(i.points),
                "max_points": float(i.max_points),
            }
            for o in self.offices
            for i in o.score.indicators
        ]
        return pd.DataFrame(rows)


@dataclass
class KecamatanGroup:
    """One kecamatan as its camat sees it."""

    name: str
    #: The kecamatan office's own result (None when it sent nothing or is not a scored office).
    office: OfficeResult | None
    #: Its kelurahan, in rank order.
    kelurahan: list[OfficeResult]
    #: Its registry offices (the kecamatan office or kelurahan) with no workbook.
    missing: list[Entry]

    @property
    def sent(self) -> int:
        """Offices of this kecamatan that sent a workbook (its own office and its kelurahan)."""
        return (self.office is not None) + len(self.kelurahan)

    @property
    def expected(self) -> int:
        """Offices expected from this kecamatan (those that sent and those missing)."""
        return self.sent + len(self.missing)


def _indicator_figures(i: Any) -> tuple[Decimal, Decimal, Decimal, Decimal, str]:
    """An indicator's value, claimed value, points and maximum as results.json writes them (4
    decimals), and its exact points. Remembered by the fractions' integers: an instrument's
    indicators have a few maxima and values each, and every office repeats them (issue 13)."""
    v, c, m = i.value, i.value_claimed, i.max_points
    if type(v) is Fraction and type(c) is Fraction and type(m) is Fraction:
        return _figures(
            v.numerator,
            v.denominator,
            c.numerator,
            c.denominator,
            m.numerator,
            m.denominator,
            i.places,
        )
    return _figures_of(v, c, m, i.places)


@functools.lru_cache(maxsize=8192)
def _figures(
    vn: int, vd: int, cn: int, cd: int, mn: int, md: int, places: int | None
) -> tuple[Decimal, Decimal, Decimal, Decimal, str]:
    return _figures_of(Fraction(vn, vd), Fraction(cn, cd), Fraction(mn, md), places)


def _figures_of(
    value: Any, claimed: Any, max_points: Any, places: int | None
) -> tuple[Decimal, Decimal, Decimal, Decimal, str]:
    points = indicator_points(max_points, value, places)
    return num(value, 4), num(claimed, 4), num(points, 4), num(max_points, 4), str(points)


def _indicator_dict(i: Any) -> dict[str, Any]:
    """One indicator of results.json."""
    value, claimed, points, max_points, exact = _indicator_figures(i)
    return {
        "code": i.code,
        "aspect": i.aspect,
        "answer": i.answer,
        "evidence": i.evidence,
        "evidence_items": [e.to_dict() for e in i.evidence_items],
        "note": i.note,
        "status": i.status,
        "verification": i.verification,
        "verifier_note": i.verifier_note,
        "value": value,
        "value_claimed": claimed,
        "points": points,
        "max_points": max_points,
        "points_exact": exact,
        "items": [
            {
                "code": it.code,
                "label": it.label,
                "answer": it.answer,
                "evidence": it.evidence,
                "evidence_items": [e.to_dict() for e in it.evidence_items],
                "claimed": it.claimed,
                "verified": it.verified,
                "verification": it.verification,
            }
            for it in i.items
        ],
    }


def kecamatan_groups(run: RunResult) -> list[KecamatanGroup]:
    """Kecamatan by name (from the registry when there is one, else from the workbooks)."""
    from monev.identity import office_key

    names: dict[str, str] = {}
    for e in run.registry.entries if run.registry else []:
        if e.kecamatan:
            names.setdefault(office_key(e.kecamatan), e.kecamatan)
    for o in run.offices:
        if o.office.kecamatan and o.office.unit_type in ("Kecamatan", "Kelurahan"):
            names.setdefault(office_key(o.office.kecamatan), o.office.kecamatan)
    groups = []
    for key, name in sorted(names.items(), key=lambda kv: kv[1].casefold()):
        mine = [o for o in run.offices if office_key(o.office.kecamatan) == key]
        groups.append(
            KecamatanGroup(
                name=name,
                office=next((o for o in mine if o.office.unit_type == "Kecamatan"), None),
                kelurahan=[o for o in mine if o.office.unit_type == "Kelurahan"],
                missing=[e for e in run.missing if office_key(e.kecamatan) == key],
            )
        )
    return groups


#: The public results beside results.json: the same schema without the respondent's name, the
#: verifier's notes and the registry's contacts (UU PDP); kota.pdf attaches this one.
PUBLIC_RESULTS = "results-publik.json"


def missing_dict(e: Entry, public: bool = False) -> dict[str, Any]:
    """A registry office that sent no workbook; ``public`` leaves out its contact."""
    return {
        "name": e.name,
        "unit_type": e.unit_type,
        "kecamatan": e.kecamatan,
        **({} if public else {"contact": e.contact}),
    }


def rank(offices: list[OfficeResult]) -> list[OfficeResult]:
    """Score descending; equal rounded scores share a rank (1, 2, 2, 4); then by name."""
    ordered = sorted(offices, key=lambda o: (-o.score.score, o.name.casefold(), o.file))
    previous: Decimal | None = None
    for position, o in enumerate(ordered, start=1):
        if o.score.score != previous:
            current = position
            previous = o.score.score
        o.rank = current
    return ordered


# --- writing ---------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (kept for callers; see monev.text)."""
    return formula_safe(value)


RANKING_COLUMNS = [
    "rank",
    "name",
    "unit_type",
    "kecamatan",
    "score",
    "predicate",
    "saq_claimed",
    "saq_verifiable",
    "evidence_loss",
    "errors",
    "warnings",
    "file",
]


def ranking_rows(run: RunResult) -> list[list[Any]]:
    rows = []
    for o in run.offices:
        s = o.score
        rows.append(
            [
                o.rank,
                o.name,
                o.office.unit_type,
                o.office.kecamatan,
                s.score,
                s.predicate,
                s.saq_claimed,
                s.saq_verifiable,
                s.evidence_loss,
                sum(p.severity == "error" for p in o.problems),
                sum(p.severity == "warning" for p in o.problems),
                o.file,
            ]
            + [round2(a.verifiable) for a in s.aspects]
        )
    return rows


def to_csv(run: RunResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(RANKING_COLUMNS + [f"aspect_{a.code}" for a in run.rubric.aspects])
    for row in ranking_rows(run):
        w.writerow([for_csv(v) for v in row])
    return buf.getvalue()


@dataclass
class SheetSpec:
    """One sheet of rekap.xlsx as plain data, so the writer behind :func:`to_xlsx` can change.

    ``formats`` maps a column (0-based) to its number format; a Decimal or Fraction in a column
    without one is written with 4 decimals. ``freeze`` is the top-left cell that scrolls.
    """

    title: str
    header: list[str]
    rows: list[list[Any]]
    formats: dict[int, str] = field(default_factory=dict)
    freeze: str = "A2"
    #: Printed landscape, every column on one page width (a list printed for phone calls).
    landscape: bool = False


#: Number formats: Excel and LibreOffice show them with the reader's decimal separator.
FMT_2 = "0.00"
FMT_4 = "0.0000"
FMT_SIGNED_2 = "+0.00;-0.00;0.00"
FMT_SIGNED_INT = "+0;-0;0"
_WIDTH_MIN, _WIDTH_MAX = 8, 60


def _status_label(status: str, lang: str) -> str:
    from monev.i18n import t

    key = "rekap.status.ok" if status == "ok" else f"report.status.{status}"
    try:
        return t(key, lang)
    except KeyError:
        return status


def _ranking_sheet(run: RunResult, lang: str) -> SheetSpec:
    from monev.i18n import t

    cmp = run.comparison
    head = [
        t("rekap.col.rank", lang),
        t("rekap.col.office", lang),
        t("rekap.col.unit", lang),
        t("rekap.col.kecamatan", lang),
        t("rekap.col.score", lang),
        t("rekap.col.predicate", lang),
    ]
    if cmp is not None:
        head += [
            t("rekap.col.previous_score", lang),
            t("rekap.col.score_change", lang),
            t("rekap.col.previous_predicate", lang),
            t("rekap.col.previous_rank", lang),
            t("rekap.col.rank_change", lang),
        ]
    first_saq = len(head)
    head += [
        t("rekap.col.saq_claimed", lang),
        t("rekap.col.saq_verifiable", lang),
        t("rekap.col.evidence_loss", lang),
        t("rekap.col.errors", lang),
        t("rekap.col.warnings", lang),
        t("rekap.col.file", lang),
    ]
    first_aspect = len(head)
    head += [f"{a.code} {a.name}" for a in run.rubric.aspects]
    formats = {4: FMT_2, first_saq: FMT_2, first_saq + 1: FMT_2, first_saq + 2: FMT_2}
    formats.update({k: FMT_2 for k in range(first_aspect, len(head))})
    if cmp is not None:
        formats.update({6: FMT_2, 7: FMT_SIGNED_2, 10: FMT_SIGNED_INT})
    rows = []
    for o, values in zip(run.offices, ranking_rows(run), strict=True):
        change: list[Any] = []
        if cmp is not None:
            d = cmp.offices.get(o.file)
            change = (
                [
                    round2(d.previous.score),
                    round2(d.score_delta),
                    d.previous.predicate,
                    d.previous.rank,
                    d.previous.rank - o.rank,
                ]
                if d is not None
                else [None, None, t("yoy.new_mark", lang), None, None]  # "baru": new this year
            )
        rows.append(values[:6] + change + values[6:])
    return SheetSpec(t("rekap.sheet.ranking", lang), head, rows, formats, freeze="C2")


def _indicator_sheet(run: RunResult, lang: str) -> SheetSpec:
    rows = [
        [
            o.rank,
            o.name,
            i.code,
            i.aspect,
            i.answer or "",
            i.evidence,
            _status_label(i.status, lang),
            i.value,
            i.points,
            i.max_points,
        ]
        for o in run.offices
        for i in o.score.indicators
    ]
    return _indicator_spec(rows, lang)


def _indicator_spec(rows: list[list[Any]], lang: str) -> SheetSpec:
    from monev.i18n import t

    cols = ["rank", "office", "code", "aspect", "answer", "evidence", "status"]
    cols += ["value", "points", "max_points"]
    return SheetSpec(
        t("rekap.sheet.indicators", lang),
        [t(f"rekap.col.{c}", lang) for c in cols],
        rows,
        {7: FMT_4, 8: FMT_4, 9: FMT_4},
        freeze="D2",
    )


def indicator_sheet_from_json(data: dict[str, Any], lang: str = "id") -> SheetSpec:
    """rekap.xlsx's indicator sheet from a run's results.json (read with
    ``parse_float=Decimal``): the same cells :func:`to_xlsx` writes, without scoring again
    (``monev rekap``; issue 13 item 1). results.json's figures are the ones the sheet shows
    (four decimals, rounded half up), so the numbers are equal to the last digit."""
    rows = [
        [
            o["rank"],
            o["name"],
            i["code"],
            i["aspect"],
            i["answer"] or "",
            i["evidence"],
            _status_label(i["status"], lang),
            Decimal(i["value"]),
            Decimal(i["points"]),
            Decimal(i["max_points"]),
        ]
        for o in data["offices"]
        for i in o["indicators"]
    ]
    return _indicator_spec(rows, lang)


def _problem_sheet(run: RunResult, lang: str) -> SheetSpec:
    """The follow-up list: one row per problem of a scored office, in reading order."""
    from monev.i18n import t

    cols = ("office", "file", "code", "where", "severity", "message", "todo")
    rows = [
        [
            o.name,
            o.file,
            p.code,
            f"{p.sheet}!{p.cell}" if p.sheet and p.cell else p.sheet,
            t(f"severity.{p.severity}", lang),
            p.message(lang),
            p.todo(lang),
        ]
        for o in run.offices
        for p in sorted(o.problems, key=sort_key)
    ]
    return SheetSpec(
        t("rekap.sheet.problems", lang), [t(f"rekap.col.{c}", lang) for c in cols], rows
    )


def _rejected_sheet(run: RunResult, lang: str) -> SheetSpec:
    from monev.i18n import t

    cols = ("file", "outcome", "code", "message", "todo")
    rows = [
        [
            x.file,
            t("rekap.outcome.skipped" if x.skipped else "rekap.outcome.rejected", lang),
            p.code,
            p.message(lang),
            p.todo(lang),
        ]
        for x in run.rejected + run.skipped
        for p in x.problems
    ]
    return SheetSpec(
        t("rekap.sheet.rejected", lang), [t(f"rekap.col.{c}", lang) for c in cols], rows
    )


#: Up to this many scored offices (a province: KI Jatim assesses about 300 public bodies)
#: rekap.xlsx carries the indicator sheet; above it, by default, the sheet holds only a note
#: naming the command that writes it (issue 13 item 1: for 1,000 offices its 52,000 rows were
#: most of the whole run's CPU, for a sheet nobody scrolls; results.json has every figure).
INDICATOR_SHEET_OFFICES = 300


def indicator_sheet_wanted(run: RunResult, indicators: bool | None = None) -> bool:
    """Whether rekap.xlsx gets the indicator sheet: ``indicators`` when given (``monev score
    --indicator-sheet / --no-indicator-sheet``), else up to :data:`INDICATOR_SHEET_OFFICES`."""
    if indicators is not None:
        return indicators
    return len(run.offices) <= INDICATOR_SHEET_OFFICES


def _indicator_note_sheet(run: RunResult, lang: str) -> SheetSpec:
    """The indicator sheet's place when it is not written: one line saying why and how to get
    it (``monev rekap results.json``, or ``monev score --indicator-sheet``)."""
    from monev.i18n import t

    rows = sum(len(o.score.indicators) for o in run.offices)
    text = t(
        "rekap.indicators_skipped",
        lang,
        offices=fmt_number(len(run.offices), lang, 0),
        limit=fmt_number(INDICATOR_SHEET_OFFICES, lang, 0),
        rows=fmt_number(rows, lang, 0),
    )
    return SheetSpec(
        t("rekap.sheet.indicators", lang),
        [t("rekap.col.note", lang)],
        [[line] for line in text.split("\n")],
        freeze="A2",
    )


def rekap_sheets(
    run: RunResult, lang: str = "id", indicators: bool | None = None
) -> list[SheetSpec]:
    """The sheets of rekap.xlsx, in order, as plain data (the ``Catatan`` sheet is added while
    writing, from the cells that had to be cut). ``indicators``: see
    :func:`indicator_sheet_wanted`; without the sheet its place holds a note."""
    sheets = [
        _ranking_sheet(run, lang),
        _indicator_sheet(run, lang)
        if indicator_sheet_wanted(run, indicators)
        else _indicator_note_sheet(run, lang),
        _problem_sheet(run, lang),
        _rejected_sheet(run, lang),
    ]
    if run.registry is not None:
        sheets += _registry_sheets(run, lang)
    return sheets


def _column_widths(spec: SheetSpec) -> list[float]:
    """Width of each column in characters: the longest value shown, within bounds."""
    widths = [len(h) for h in spec.header]
    for values in spec.rows:
        for k, v in enumerate(values):
            tp = type(v)  # the common types first: isinstance on Fraction is an ABC check
            if tp is str:
                n = len(v)
            elif tp is Decimal or tp is Fraction or isinstance(v, Decimal | Fraction | float):
                n = 8
            else:
                n = len(str(v)) if v else 0
            if n > widths[k]:
                widths[k] = n
    return [min(max(w + 2, _WIDTH_MIN), _WIDTH_MAX) for w in widths]


def to_xlsx(run: RunResult, lang: str = "id", indicators: bool | None = None) -> bytes:
    """rekap.xlsx, the staff's working file, in the run's language.

    Sheets (:func:`rekap_sheets`): ranking (with last year's figures when the run has a
    comparison), indicators (above :data:`INDICATOR_SHEET_OFFICES` offices only a note, unless
    ``indicators`` is True), problems (the follow-up list) and rejected files; each with a bold,
    frozen header row, an autofilter and column widths. Numbers are the rounded figures
    results.json carries (2 or 4 decimals) with a number format, so Excel shows the reader's
    decimal comma; text goes through :func:`monev.text.for_xlsx`, and every cell cut at Excel's
    limit is listed on a ``Catatan`` sheet (problem MV501).

    Written with XlsxWriter in constant-memory mode: rows go to a temporary file as they are
    written, so memory does not grow with the number of offices, and it is about 4-5x faster than
    openpyxl's write-only mode on the 52,000 indicator rows of 1,000 offices (issue 13; the
    figures are in the README's Speed section). Rows are written top to bottom per sheet.
    """
    return write_xlsx(rekap_sheets(run, lang, indicators), lang)


def write_xlsx(sheets: Iterable[SheetSpec], lang: str = "id") -> bytes:
    """A workbook of ``sheets`` as :func:`to_xlsx` writes them (plus ``Catatan`` for cut cells)."""
    import xlsxwriter
    from xlsxwriter.utility import xl_rowcol_to_cell

    from monev.i18n import t

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "constant_memory": True,
            # Text is text: never turned into a formula, a link or a number by the writer.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    bold = wb.add_format({"bold": True})
    formats: dict[str, Any] = {}

    def number_format(code: str) -> Any:
        if code not in formats:
            formats[code] = wb.add_format({"num_format": code})
        return formats[code]

    notes: list[Problem] = []

    def cut_note(title: str, r: int, k: int, cut: int) -> None:
        cell = xl_rowcol_to_cell(r, k)
        length = fmt_number(cut, lang, 0)
        notes.append(Problem.make("MV501", "rekap.xlsx", title, cell, length=length))

    def write(spec: SheetSpec) -> None:
        ws = wb.add_worksheet(spec.title[:31])
        for k, width in enumerate(_column_widths(spec)):
            ws.set_column(k, k, width)
        ws.freeze_panes(spec.freeze)
        if spec.landscape:  # a list printed for phone calls: every column on one page width
            ws.set_landscape()
            ws.fit_to_pages(1, 0)
        for k, name in enumerate(spec.header):
            ws.write_string(0, k, name, bold)
        exact: dict[int, tuple[str, int]] = {}  # column -> (number format, decimal places)
        write_string, write_number = ws.write_string, ws.write_number
        for r, values in enumerate(spec.rows, start=1):
            for k, v in enumerate(values):
                tp = type(v)
                if tp is str:  # most cells: text; the same short texts recur on every office
                    value, cut = _xlsx_text(v, lang) if len(v) <= _SHORT else for_xlsx(v, lang)
                    write_string(r, k, value)
                    if cut:
                        cut_note(spec.title, r, k, cut)
                elif tp is Decimal or tp is Fraction or isinstance(v, Decimal | Fraction):
                    if k not in exact:
                        fmt = spec.formats.get(k, FMT_4)
                        exact[k] = (fmt, len(fmt.split(";")[0].partition(".")[2]))
                    fmt, places = exact[k]
                    write_number(r, k, float(num(v, places)), number_format(fmt))
                elif v is None:
                    continue
                elif isinstance(v, bool):
                    ws.write_string(r, k, t("value.yes" if v else "value.no", lang))
                elif isinstance(v, int | float):
                    if k in spec.formats:
                        ws.write_number(r, k, v, number_format(spec.formats[k]))
                    else:
                        ws.write_number(r, k, v)
                else:
                    value, cut = for_xlsx(v, lang)
                    ws.write_string(r, k, value if isinstance(value, str) else str(value))
                    if cut:
                        cut_note(spec.title, r, k, cut)
        ws.autofilter(0, 0, len(spec.rows), max(len(spec.header), 1) - 1)

    for spec in sheets:
        write(spec)
    if notes:
        cols = ("sheet", "cell", "code", "message")
        write(
            SheetSpec(
                t("rekap.sheet.notes", lang),
                [t(f"rekap.col.{c}", lang) for c in cols],
                [[p.sheet, p.cell, p.code, f"{p.message(lang)}. {p.todo(lang)}"] for p in notes],
            )
        )
    wb.close()
    return buf.getvalue()


#: Texts up to this length are remembered by :func:`_xlsx_text` (8,192 of them at most).
_SHORT = 200


@functools.lru_cache(maxsize=8192)
def _xlsx_text(value: str, lang: str) -> tuple[str, int]:
    """:func:`monev.text.for_xlsx` of a text, remembered: codes, aspects, statuses, answers and
    office names recur on every row of the indicator sheet (issue 13)."""
    text, cut = for_xlsx(value, lang)
    return str(text), cut


def _registry_sheets(run: RunResult, lang: str = "id") -> list[SheetSpec]:
    """With a registry: ``Belum Mengirim``, the registry offices with no workbook, with contacts,
    for the calls; then ``Cakupan``, the coverage counts."""
    from monev.i18n import t

    cols = ["registry_name", "registry_unit", "registry_kecamatan", "registry_contact"]
    missing = SheetSpec(
        t("rekap.sheet.missing", lang),
        [t(f"rekap.col.{c}", lang) for c in cols],
        [[e.name, e.unit_type, e.kecamatan, e.contact] for e in run.missing],
        landscape=True,
    )
    cov = run.coverage
    if cov is None:
        return [missing]
    rows: list[list[Any]] = [[t("registry.xlsx.all", lang), cov.total.sent, cov.total.expected]]
    rows += [[name, c.sent, c.expected] for name, c in cov.by_unit_type.items()]
    rows += [[f"Kecamatan {name}", c.sent, c.expected] for name, c in cov.by_kecamatan.items()]
    coverage = SheetSpec(
        t("rekap.sheet.coverage", lang),
        [t(f"registry.xlsx.{k}", lang) for k in ("group", "sent", "expected")],
        rows,
    )
    return [missing, coverage]


#: From this many offices on, rekap.xlsx is written by a forked copy of the process while this
#: one writes the JSON files and ranking.csv (issue 13; below it a fork is not worth its cost).
FORK_OFFICES = 100


def write_outputs(
    run: RunResult,
    out: Path,
    lang: str = "id",
    indicators: bool | None = None,
    *,
    fork: bool = True,
) -> list[Path]:
    """Write results.json, results-publik.json, ranking.csv and rekap.xlsx into ``out``; return
    their paths. ``indicators``: rekap.xlsx's indicator sheet (:func:`indicator_sheet_wanted`).

    With more than one core and :data:`FORK_OFFICES` offices or more, rekap.xlsx is written at
    the same time by a forked copy of this process (Linux, and only when this process runs no
    other thread: forking a threaded process is unsafe). If that copy fails, rekap.xlsx is
    written here, so an error is raised as it would be without the fork. ``fork=False`` never
    forks (``monev score`` writes the outputs in a process of their own beside the rendering:
    a copy of that copy would outlive it when it is stopped).
    """
    written = [out / "results.json", out / PUBLIC_RESULTS, out / "ranking.csv"]
    rekap = out / "rekap.xlsx"
    child = (
        _fork(lambda: write_atomic(rekap, to_xlsx(run, lang, indicators)))
        if fork and _may_fork(run)
        else None
    )
    try:
        _write_pieces(written[:2], run.iter_json_both(lang))
        write_atomic(written[2], to_csv(run).encode("utf-8"))
    except BaseException:  # an error or Ctrl+C here: the copy is not left writing on its own
        if child is not None:
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
            _succeeded(child)
        raise
    if child is None or not _succeeded(child):
        write_atomic(rekap, to_xlsx(run, lang, indicators))
    return [*written, rekap]


def _may_fork(run: RunResult) -> bool:
    import threading

    return (
        hasattr(os, "fork")
        and sys.platform.startswith("linux")
        and len(run.offices) >= FORK_OFFICES
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
    )


def _fork(work: Callable[[], None]) -> int | None:
    """Run ``work`` in a forked copy of this process; its process id (None: could not fork).
    The copy ends with ``os._exit``: exit status 0 when ``work`` returned, else 1."""
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # pragma: no cover - the forked copy (its coverage is not collected)
        code = 1
        try:
            work()
            code = 0
        finally:
            os._exit(code)
    return pid


def _succeeded(pid: int) -> bool:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return False
    return os.waitstatus_to_exitcode(status) == 0


def _write_pieces(dests: list[Path], pieces: Iterable[tuple[str, ...]]) -> None:
    """Write each file of ``dests`` from its text in ``pieces`` (one text per file in each
    piece), each to a temporary file beside it, then renamed into place (as
    :func:`monev.outputs.write_atomic`, without holding the whole text)."""
    tmps = []
    for dest in dests:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmps.append(dest.parent / f".monev-{secrets.token_hex(6)}.tmp")
    try:
        with contextlib.ExitStack() as stack:
            files = [stack.enter_context(open(tmp, "xb")) for tmp in tmps]
            for piece in pieces:
                for fh, text in zip(files, piece, strict=True):
                    fh.write(text.encode("utf-8"))
        for tmp, dest in zip(tmps, dests, strict=True):
            os.replace(tmp, dest)
    finally:
        for tmp in tmps:
            if os.path.lexists(tmp):
                os.unlink(tmp)
