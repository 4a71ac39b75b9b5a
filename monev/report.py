"""Step 5 of the pipeline: HTML and PDF readiness reports, one per office and one for the city.

Templates (Jinja2, autoescaped, StrictUndefined) and CSS live in ``reports/``; this module builds
one context object per report and hands it to them. It never builds HTML in Python. WeasyPrint is
imported only inside :func:`html_to_pdf`, so commands that do not render never load it.

Same inputs, same bytes: the report date, the PDF metadata dates and the attachment dates all come
from the run's ``as_of`` date (``--as-of`` or ``SOURCE_DATE_EPOCH``), and the PDF identifier is a
hash of the content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monev import __version__
from monev.compare import gone_note, office_change, previous_label
from monev.i18n import fmt_date, fmt_number, t
from monev.identity import office_key
from monev.outputs import write_atomic
from monev.plan import Plan, band_above, build_plan
from monev.problems import Problem
from monev.resources import data_dir, import_weasyprint
from monev.results import (
    PUBLIC_RESULTS,
    KecamatanGroup,
    OfficeResult,
    RunResult,
    dumps,
    missing_dict,
)
from monev.rounding import leading_digits
from monev.scoring import OfficeScore, round2
from monev.text import capped, for_pdf, for_pdf_full

if TYPE_CHECKING:
    from monev.render_cache import RenderCache

ATTACHMENT_NAME = "monev-kantor.json"
KECAMATAN_ATTACHMENT = "monev-kecamatan.json"
#: Colours of the predicate bands, from the top band down (the rubric names the bands); a rubric
#: with more bands gets colours between these (:func:`band_palette`), a band with its own
#: ``colour`` keeps it.
BAND_COLOURS = ["#1b5e20", "#558b2f", "#f9a825", "#ef6c00", "#c62828", "#6d1b1b"]
#: The score box and chips of an instrument without predicate bands (it only ranks).
NO_BAND_COLOUR = "#1f4e79"


# --- contexts ----------------------------------------------------------------------------------


@dataclass
class Audit:
    rubric_id: str
    rubric_version: str
    rubric_sha256: str
    monev_version: str
    as_of: str
    file: str = ""
    file_sha256: str = ""


@dataclass
class Arithmetic:
    """The final-score sum as the office report prints it, with the SAQ digits actually used.

    ``terms`` are (value shown, weight in percent); ``result`` is the exact sum shown with the
    same digits; ``score`` the published figure. Values ending in ``…`` are cut, not rounded.
    """

    terms: list[tuple[str, str]]
    result: str
    score: str
    saq_shown: str


@dataclass
class OfficeContext:
    lang: str
    title: str
    report_title: str  # the rubric's titles.office_report, or monev's catalogue text
    office: OfficeResult
    total_offices: int
    band_colour: str
    bands: list[dict[str, Any]]
    rubric_title: str
    reconstructed: bool
    plan: Plan
    questions: dict[str, str]
    hints: dict[str, str]
    audit: Audit
    aspect_chart: list[dict[str, Any]]
    stage_weights: dict[str, Decimal]
    problems: list[Any]
    rejected_by_verifier: list[dict[str, str]] = field(default_factory=list)
    arithmetic: Arithmetic | None = None
    delta: Any = None  # monev.compare.OfficeDelta when compared with last year
    comparison: Any = None  # monev.compare.Comparison
    #: False: the city rank is left out (the web's live office PDF: the rank changes with every
    #: upload of any office and would make the PDF stale at once).
    show_rank: bool = True


@dataclass
class CityContext:
    lang: str
    title: str
    run: RunResult
    counts: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    heat: list[dict[str, Any]]
    aspects: list[Any]
    missing: list[dict[str, Any]]
    utama: list[OfficeResult]
    groups: list[dict[str, Any]]
    audit: Audit
    reconstructed: bool
    rubric_title: str
    #: The rubric's lead unit (its own section) or None; False ``ranks_only``: bands shown.
    lead_unit: str | None = None
    ranks_only: bool = False
    files: dict[str, str] = field(default_factory=dict)
    verification: list[dict[str, Any]] = field(default_factory=list)
    comparison: Any = None  # monev.compare.Comparison
    moved_up: list[Any] = field(default_factory=list)
    moved_down: list[Any] = field(default_factory=list)
    distribution: list[dict[str, Any]] = field(default_factory=list)
    #: With a registry (--offices): sent / expected, the offices not sent, and per kecamatan.
    coverage: Any = None  # monev.registry.Coverage
    not_sent: list[Any] = field(default_factory=list)  # monev.registry.Entry
    kecamatan: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class KecamatanContext:
    """The camat's report: one kecamatan's kelurahan ranked, what each should fix first, and the
    indicators most of them miss."""

    lang: str
    title: str
    run: RunResult
    k: dict[str, Any]  # :func:`kecamatan_summary`
    rows: list[dict[str, Any]]
    common: list[dict[str, Any]]
    questions: dict[str, str]
    audit: Audit
    reconstructed: bool
    rubric_title: str


def band_palette(n: int) -> list[str]:
    """``n`` distinct colours from the top band down: :data:`BAND_COLOURS` itself up to six
    bands, else ``n`` points spread evenly along it (its first and last colour kept)."""
    if n <= len(BAND_COLOURS):
        return BAND_COLOURS[:n]
    anchors = [tuple(int(c[k : k + 2], 16) for k in (1, 3, 5)) for c in BAND_COLOURS]
    out = []
    for k in range(n):
        pos = Fraction(k * (len(anchors) - 1), n - 1)
        lo = min(int(pos), len(anchors) - 2)
        frac = pos - lo
        rgb = (round(a + (b - a) * frac) for a, b in zip(anchors[lo], anchors[lo + 1], strict=True))
        out.append("#" + "".join(f"{v:02x}" for v in rgb))
    return out


def band_colour(run: RunResult, predicate: str) -> str:
    """The colour of a band: the rubric's own (``colour``) or monev's by the band's position."""
    bands = run.rubric.predicates
    if not bands:
        return NO_BAND_COLOUR
    names = [b.name for b in bands]
    k = names.index(predicate) if predicate in names else len(names) - 1
    return bands[k].colour or band_palette(len(bands))[k]


def exact_number(value: Any, lang: str) -> str:
    """A rubric's number (weight, band minimum, gate) with the decimals it has, in ``lang``:
    4.5 -> ``4,5``, 68.25 -> ``68,25``, 30 -> ``30``; one that has no end (2/3) shows six
    decimals and ``…``."""
    return _digits(Fraction(value), 6, lang)


def _audit(run: RunResult, o: OfficeResult | None = None) -> Audit:
    r = run.rubric
    return Audit(
        r.id,
        r.version,
        r.sha256,
        __version__,
        run.as_of.isoformat(),
        o.file if o else "",
        o.sha256 if o else "",
    )


def office_context(
    run: RunResult, o: OfficeResult, lang: str = "id", rank: bool = True
) -> OfficeContext:
    """The office report's context; ``rank=False`` leaves the city rank out of the report."""
    r = run.rubric
    chart = [
        {
            "code": a.code,
            "name": a.name,
            "weight": a.weight,
            "score": round2(a.verifiable),
            "claimed": round2(a.claimed),
            "pct": float(a.verifiable / Fraction(a.weight)),  # bar lengths only
            "pct_claimed": float(a.claimed / Fraction(a.weight)),
        }
        for a in o.score.aspects
    ]
    questions = {}
    for ind, item in r.rows():
        questions[item.code if item else ind.code] = item.label if item else ind.question
    cmp = run.comparison
    return OfficeContext(
        delta=cmp.offices.get(o.file) if cmp else None,
        comparison=cmp,
        rejected_by_verifier=verifier_rejections(o),
        lang=lang,
        title=o.name,
        report_title=r.titles.office_report or t("report.office.title", lang),
        office=o,
        total_offices=len(run.offices),
        band_colour=band_colour(run, o.score.predicate),
        bands=[
            {"name": b.name, "min": b.min, "colour": band_colour(run, b.name)} for b in r.predicates
        ],
        rubric_title=r.title,
        reconstructed=r.reconstructed,
        plan=build_plan(r, o.score),
        questions=questions,
        hints={i.code: i.evidence_hint for i in r.indicators},
        audit=_audit(run, o),
        aspect_chart=chart,
        stage_weights=o.score.stage_weights,
        problems=shown_problems(o.file, sorted(o.problems)),
        arithmetic=final_arithmetic(o.score, lang),
        show_rank=rank,
    )


def shown_problems(file: str, problems: list[Problem]) -> list[Problem]:
    """The first :data:`monev.text.PROBLEMS_SHOWN` problems, then one line counting the rest."""
    shown, more = capped(problems)
    if more:
        shown.append(Problem.make("MV502", file, count=more))
    return shown


def _digits(value: Fraction, places: int, lang: str) -> str:
    cut, whole = leading_digits(value, places)
    if whole:  # exact at ``places`` decimals: shown without trailing zeros (84, 92,5)
        cut = cut.normalize()
        return fmt_number(cut, lang, max(0, -int(cut.as_tuple().exponent)))
    return fmt_number(cut, lang, places) + "…"


def final_arithmetic(s: OfficeScore, lang: str = "id") -> Arithmetic | None:
    """The stage-weighted sum with enough digits that recomputing it gives the same figure.

    Starting at 4 decimals, one more digit is shown until the sum of the values *as shown* (cut
    after the last digit), rounded half up, equals the published score.
    """
    if not s.staged:
        return None
    weights = {code: Fraction(w) for code, w in s.stage_weights.items()}
    values = [("saq", s.saq_verifiable_exact)]
    values += [(code, Fraction(v)) for code, v in s.stage_scores.items() if code in weights]
    places = 4
    while places < 60:
        shown = sum(
            (Fraction(leading_digits(v, places)[0]) * weights[code] for code, v in values),
            Fraction(0),
        )
        if round2(shown / 100) == s.score:
            break
        places += 1
    terms = [(_digits(v, places, lang), exact_number(weights[code], lang)) for code, v in values]
    return Arithmetic(
        terms=terms,
        result=_digits(s.final_exact, places, lang),
        score=fmt_number(s.score, lang),
        saq_shown=fmt_number(s.saq_verifiable, lang),
    )


def verifier_rejections(o: OfficeResult) -> list[dict[str, str]]:
    """Rows the verifier marked Tidak Sesuai, with their notes (checklist items included)."""
    out = []
    for i in o.score.indicators:
        if i.verification == "Tidak Sesuai":
            out.append({"code": i.code, "note": i.verifier_note})
        for it in i.items:
            if it.verification == "Tidak Sesuai":
                out.append({"code": it.code, "note": it.verifier_note})
    return out


def verifier_counts(o: OfficeResult) -> tuple[int, int]:
    """(Sesuai, Tidak Sesuai) decisions in one office's workbook."""
    marks = [i.verification for i in o.score.indicators]
    marks += [it.verification for i in o.score.indicators for it in i.items]
    return marks.count("Sesuai"), marks.count("Tidak Sesuai")


def city_context(
    run: RunResult, lang: str = "id", files: dict[str, str] | None = None
) -> CityContext:
    r = run.rubric
    counts = [
        {"name": name, "count": n, "colour": band_colour(run, name)}
        for name, n in run.predicate_counts().items()
    ]
    rows = []
    for o in run.offices:
        # The band above the office's own (which a band's ``requires`` may hold below the one
        # its total reaches: then nothing is needed on the total, the minimums are missing).
        nxt = band_above(r, o.score.predicate)
        rows.append(
            {
                "office": o,
                "colour": band_colour(run, o.score.predicate),
                "next": nxt.name if nxt else None,
                "needed": max(nxt.min - o.score.score, Decimal(0)) if nxt else None,
                "requires": sorted(nxt.requires) if nxt and nxt.min <= o.score.score else [],
            }
        )
    heat = [
        {
            "office": o,
            "cells": [
                {"share": a.verifiable / Fraction(a.weight), "score": round2(a.verifiable)}
                for a in o.score.aspects
            ],
        }
        for o in run.offices
    ]
    misses: Counter[str] = Counter()
    for o in run.offices:
        for i in o.score.indicators:
            if i.scored and i.gap > 0:
                misses[i.code] += 1
    questions = {i.code: i for i in r.indicators}
    missing = [
        {
            "code": code,
            "count": n,
            "question": questions[code].question,
            "aspect": questions[code].aspect,
        }
        for code, n in sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))[:12]
    ]
    groups = []
    by_unit: dict[str, list[OfficeResult]] = {}
    for o in run.offices:
        by_unit.setdefault(o.office.unit_type or "-", []).append(o)
    order = {u: k for k, u in enumerate(r.unit_types)}
    for unit, members in sorted(
        by_unit.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])
    ):
        # The mean of the published (rounded) scores, exact, then rounded half up like every
        # figure: 80.12 and 80.13 give 80.125 -> 80.13.
        total = sum((Fraction(m.score.score) for m in members), Fraction(0))
        groups.append(
            {
                "unit": unit,
                "count": len(members),
                "mean": round2(total / len(members)),
                "best": members[0],
                "bands": Counter(m.score.predicate for m in members),
            }
        )
    return CityContext(
        lang=lang,
        title=r.titles.city_report or t("report.city.title", lang),
        run=run,
        counts=counts,
        rows=rows,
        heat=heat,
        aspects=list(r.aspects),
        missing=missing,
        utama=[o for o in run.offices if r.lead_unit and o.office.unit_type == r.lead_unit],
        lead_unit=r.lead_unit,
        ranks_only=not r.predicates,
        groups=groups,
        audit=_audit(run),
        reconstructed=r.reconstructed,
        rubric_title=r.title,
        files=files or {},
        comparison=run.comparison,
        moved_up=run.comparison.moved(run, 1) if run.comparison else [],
        moved_down=run.comparison.moved(run, -1) if run.comparison else [],
        distribution=[
            {
                "name": b.name,
                "then": run.comparison.previous.distribution.get(b.name, 0),
                "now": run.predicate_counts()[b.name],
            }
            for b in r.predicates
        ]
        if run.comparison
        else [],
        verification=[
            {"office": o, "accepted": a, "rejected": r}
            for o in run.offices
            for a, r in [verifier_counts(o)]
            if a or r
        ],
        coverage=run.coverage,
        not_sent=list(run.missing) if run.registry is not None else [],
        kecamatan=[kecamatan_summary(run, g) for g in run.kecamatan_groups()]
        if run.registry is not None
        else [],
    )


def _mean(offices: list[OfficeResult]) -> Decimal | None:
    """The mean of the published (rounded) scores, exact, then rounded half up."""
    if not offices:
        return None
    return round2(sum((Fraction(o.score.score) for o in offices), Fraction(0)) / len(offices))


def kecamatan_summary(run: RunResult, g: KecamatanGroup) -> dict[str, Any]:
    """One kecamatan for the reports: its own office, its kelurahan in rank order (rank within
    the kecamatan, 1, 2, 2, 4 as the city's), mean, lowest, count per band, aspect shares (the
    heat map) and its offices not sent."""
    kel = g.kelurahan
    ranks: list[int] = []
    for k, o in enumerate(kel):
        ranks.append(ranks[-1] if k and o.score.score == kel[k - 1].score.score else k + 1)
    counts = Counter(o.score.predicate for o in kel)
    return {
        "name": g.name,
        "group": g,
        "office": g.office,
        "office_colour": band_colour(run, g.office.score.predicate) if g.office else "",
        "kelurahan": [
            {
                "office": o,
                "rank": rk,
                "colour": band_colour(run, o.score.predicate),
                "cells": [
                    {"share": a.verifiable / Fraction(a.weight), "score": round2(a.verifiable)}
                    for a in o.score.aspects
                ],
            }
            for o, rk in zip(kel, ranks, strict=True)
        ],
        "mean": _mean(kel),
        "lowest": kel[-1] if kel else None,
        "bands": [
            {"name": b.name, "count": counts.get(b.name, 0), "colour": band_colour(run, b.name)}
            for b in run.rubric.predicates
        ],
        "missing": g.missing,
        "sent": g.sent,
        "expected": g.expected,
    }


#: Fixes shown per kelurahan in the camat's report.
KECAMATAN_FIXES = 3


def kecamatan_title(own: str | None, name: str, lang: str) -> str:
    """The rubric's ``titles.kecamatan_report`` with ``{name}`` replaced (or the name after a
    colon), else monev's own. Only ``{name}`` is replaced: other braces are the rubric's text."""
    if own is None:
        return t("report.kecamatan.title", lang, name=name)
    return own.replace("{name}", name) if "{name}" in own else f"{own}: {name}"


def kecamatan_context(run: RunResult, g: KecamatanGroup, lang: str = "id") -> KecamatanContext:
    r = run.rubric
    summary = kecamatan_summary(run, g)
    rows = []
    for row in summary["kelurahan"]:
        o = row["office"]
        plan = build_plan(r, o.score)
        steps = list(plan.steps[:KECAMATAN_FIXES])
        after = steps[-1].cumulative if steps else o.score.score
        after_band = steps[-1].band if steps else o.score.predicate  # requires checked too
        rows.append(
            {
                **row,
                "steps": steps,
                "after": after,
                "after_band": after_band,
                "after_colour": band_colour(run, after_band),
            }
        )
    misses: Counter[str] = Counter()
    for o in g.kelurahan:
        for i in o.score.indicators:
            if i.scored and i.gap > 0:
                misses[i.code] += 1
    n = len(g.kelurahan)
    questions = {}
    for ind, item in r.rows():
        questions[item.code if item else ind.code] = item.label if item else ind.question
    common = [
        {"code": code, "count": c, "question": questions.get(code, code)}
        for code, c in sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))
        if 2 * c > n  # most of them: more than half
    ][:KECAMATAN_COMMON]
    return KecamatanContext(
        lang=lang,
        title=kecamatan_title(r.titles.kecamatan_report, g.name, lang),
        run=run,
        k=summary,
        rows=rows,
        common=common,
        questions=questions,
        audit=_audit(run),
        reconstructed=r.reconstructed,
        rubric_title=r.title,
    )


#: Indicators shown as "most of them miss" (those missed by more than half the kelurahan).
KECAMATAN_COMMON = 10


def kecamatan_attachment(run: RunResult, g: KecamatanGroup, lang: str) -> str:
    """The kecamatan's offices' public entries (its own office first), and its offices not sent
    (without contacts: the kecamatan report may be shared beyond the office, UU PDP)."""
    offices = ([g.office] if g.office else []) + g.kelurahan
    data = {
        "kecamatan": g.name,
        "offices": [run.office_dict(o, lang, public=True) for o in offices],
        "missing": [missing_dict(e, public=True) for e in g.missing],
    }
    return dumps(data) + "\n"


# --- templates ---------------------------------------------------------------------------------


@cache
def _env(lang: str):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
        finalize=_shown,
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = lambda key, **kw: t(key, lang, **kw)
    env.filters["num"] = lambda v, places=2: _number(v, lang, places)
    env.filters["exact"] = lambda v: _exact(v, lang)
    env.filters["pct"] = lambda share: fmt_number(share * 100, lang, 0) + "%"
    env.filters["full"] = Full
    env.filters["listed"] = lambda problems, file: shown_problems(file, list(problems))
    env.filters["date"] = lambda iso: fmt_date(dt.date.fromisoformat(iso), lang) if iso else "–"
    env.filters["is_link"] = lambda s: bool(re.match(r"^https?://[^\s<>\"']+$", s or ""))
    env.filters["heat"] = heat_colour
    # Year over year in the rankings (monev.compare): (score change, rank change) of an office,
    # the old set's name, the offices gone.
    env.globals["yoy_change"] = lambda cmp, o, rank=None: office_change(
        cmp, o.file, o.rank if rank is None else rank, lang
    )
    env.globals["yoy_label"] = lambda cmp: previous_label(cmp.previous, lang)
    env.globals["yoy_gone"] = lambda cmp: gone_note(cmp, lang)
    env.globals["public_results"] = PUBLIC_RESULTS
    return env


@lru_cache(maxsize=8192, typed=True)
def _number(value: Any, lang: str, places: int) -> str:
    """:func:`monev.i18n.fmt_number`, remembered: a report shows the same few figures (weights,
    0, 100, band limits) hundreds of times, and Babel's formatting is most of a page's HTML time.
    """
    return fmt_number(value, lang, places)


@lru_cache(maxsize=1024, typed=True)
def _exact(value: Any, lang: str) -> str:
    """:func:`exact_number`, remembered (the same weights and bounds recur on every page)."""
    return exact_number(value, lang)


class Full(str):
    """Text a template needs whole (a link's target), not shortened for display."""


def _shown(value: Any) -> Any:
    """Every ``{{ ... }}`` of a report passes here: user text is made safe for the page.

    Markup (the output of a macro, already built from shown values) is left alone; :class:`Full`
    text only loses control characters; any other text goes through :func:`monev.text.for_pdf`.
    """
    from markupsafe import Markup

    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    if isinstance(value, Full):
        return for_pdf_full(value)
    return for_pdf(value)


def heat_colour(pct: float | Fraction) -> str:
    """Red (0) through amber to green (1), as a CSS colour for the heat map."""
    pct = max(0.0, min(1.0, float(pct)))
    if pct < 0.5:
        r, g = 230, int(90 + 250 * pct)
    else:
        r, g = int(230 - 300 * (pct - 0.5)), 215
    return f"rgb({r},{g},110)"


def render_office_html(run: RunResult, o: OfficeResult, lang: str = "id", rank: bool = True) -> str:
    ctx = office_context(run, o, lang, rank)
    return _env(lang).get_template("office.html.j2").render(c=ctx)


def render_kecamatan_html(run: RunResult, g: KecamatanGroup, lang: str = "id") -> str:
    ctx = kecamatan_context(run, g, lang)
    return _env(lang).get_template("kecamatan.html.j2").render(c=ctx)


def render_city_html(run: RunResult, lang: str = "id", files: dict[str, str] | None = None) -> str:
    ctx = city_context(run, lang, files)
    return _env(lang).get_template("city.html.j2").render(c=ctx)


# --- PDF ---------------------------------------------------------------------------------------


def html_to_pdf(
    html: str,
    as_of: dt.date,
    attachment: tuple[str, str] | None = None,
    more: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """Render HTML to PDF bytes; identical inputs give identical bytes. ``attachment`` and
    ``more`` are (name, text) files attached inside the PDF.

    What does not change from one report to the next is prepared once per process and thread
    (:func:`_renderer`): WeasyPrint's font configuration and the parsed stylesheets the reports
    link to. The HTML is compacted first (:func:`compact_html`); neither changes a page.
    """
    import_weasyprint()  # a worker that has not imported it yet: the quick way
    from weasyprint import HTML, Attachment

    stamp = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.timezone.utc)
    attachments = []
    for name, text in ((attachment,) if attachment else ()) + more:
        attachments.append(
            Attachment(
                string=text,
                name=name,
                description=name,
                created=stamp,
                modified=stamp,
                relationship="Data",
            )
        )
    ident = hashlib.sha256(html.encode("utf-8") + (attachment[1].encode() if attachment else b""))
    for _, text in more:
        ident.update(text.encode("utf-8"))
    fonts, sheets = _renderer()
    stylesheets = []
    for href in _STYLESHEET_LINK.findall(html):
        stylesheets.append(_stylesheet(sheets, fonts, href))
    page = compact_html(_STYLESHEET_LINK.sub("", html))
    document = HTML
    if small_ua_fits(page):
        document = _small_ua_html(_stylesheet(sheets, fonts, SMALL_UA))
    return document(string=page, base_url=str(data_dir("reports"))).write_pdf(
        attachments=attachments,
        pdf_identifier=ident.hexdigest()[:32].encode("ascii"),
        font_config=fonts,
        stylesheets=stylesheets,
        finisher=compress_once,
    )


#: zlib's level for the PDF's streams (pydyf's own is 9): zlib's default compresses an office
#: PDF's fonts and pages in a third of the time, and the file is about 1 % larger.
PDF_COMPRESSION = 6


def compress_once(document: Any, pdf: Any) -> None:
    """WeasyPrint's ``finisher``: each stream of ``pdf`` compressed here, once, as pydyf would
    compress it (``/Filter /FlateDecode`` then ``/Length``) but at :data:`PDF_COMPRESSION`
    (at pydyf's level 9 the PDF's bytes are pydyf's own, tested). pydyf makes a stream's bytes
    each time they are asked for, and with a PDF identifier it asks twice (once to write the
    object, once more to hash every object for the identifier's second part): the fonts and the
    page content were compressed twice, at zlib's slowest level.
    """
    import zlib

    from pydyf import Stream

    try:
        from pydyf import _to_bytes  # how pydyf writes one item of a stream
    except ImportError:  # another pydyf: it compresses its streams itself, as before
        return
    for obj in pdf.objects:
        if isinstance(obj, Stream) and obj.compress:
            raw = b"\n".join(_to_bytes(item) for item in obj.stream)
            packer = zlib.compressobj(level=PDF_COMPRESSION)
            obj.stream = [packer.compress(raw) + packer.flush()]
            obj.extra = dict(obj.extra, Filter="/FlateDecode")
            obj.compress = False


def attach_files(
    pdf: bytes, files: tuple[tuple[str, str], ...], as_of: dt.date, ident: bytes
) -> bytes:
    """``pdf`` with ``files`` ((name, text) pairs) attached, as WeasyPrint attaches them (same
    dictionaries, compressed, dated ``as_of``), written as an incremental update after the
    original bytes; ``ident`` becomes the second part of the PDF's identifier (the part that
    changes with each version of a document). Same inputs, same bytes.

    The city report's pages are rendered and cached without their attachments (which change
    whenever any workbook changes) and get them here: a re-run whose figures did not move takes
    the pages from the render cache and only attaches the new results (a few milliseconds).
    """
    import io
    import mimetypes

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        ByteStringObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    stamp = TextStringObject(f"D:{as_of:%Y%m%d}000000Z")
    writer = PdfWriter(PdfReader(io.BytesIO(pdf)), incremental=True)
    catalog = writer.root_object
    names = ArrayObject()
    for name, text in files:
        data = text.encode("utf-8")
        stream = DecodedStreamObject()
        stream.set_data(data)
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        stream.update(
            {
                NameObject("/Type"): NameObject("/EmbeddedFile"),
                NameObject("/Subtype"): NameObject("/" + mime),  # pypdf escapes the "/"
                NameObject("/Params"): DictionaryObject(
                    {
                        NameObject("/CheckSum"): ByteStringObject(hashlib.md5(data).digest()),
                        NameObject("/Size"): NumberObject(len(data)),
                        NameObject("/CreationDate"): stamp,
                        NameObject("/ModDate"): stamp,
                    }
                ),
            }
        )
        ref = writer._add_object(stream.flate_encode())
        spec = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject(name),
                NameObject("/UF"): TextStringObject(name),
                NameObject("/Desc"): TextStringObject(name),
                NameObject("/EF"): DictionaryObject(
                    {NameObject("/F"): ref, NameObject("/UF"): ref}
                ),
            }
        )
        names += [TextStringObject(name), writer._add_object(spec)]
    tree = writer._add_object(DictionaryObject({NameObject("/Names"): names}))
    existing = catalog.get("/Names")
    table = DictionaryObject(existing.get_object()) if existing is not None else DictionaryObject()
    table[NameObject("/EmbeddedFiles")] = tree
    catalog[NameObject("/Names")] = table
    first = writer._ID[0] if writer._ID else ByteStringObject(ident)
    writer._ID = ArrayObject([first, ByteStringObject(ident)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


#: A report's link to its stylesheet in ``reports/``: ``<link rel="stylesheet" href="report.css">``.
_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="([A-Za-z0-9_-]+\.css)">')
#: Whitespace after a tag that starts or ends a block, a table part or an SVG shape, before the
#: next tag: it never shows (it collapses at a line start or between table cells and blocks),
#: but WeasyPrint parses it and builds a box for it (about 5 % of an office PDF's time).
_BLOCK_GAP = re.compile(
    r"(</?(?:html|head|body|meta|title|link|section|div|p|h[1-6]|ul|ol|li|table|colgroup|col"
    r"|thead|tbody|tr|td|th|svg|rect|line|text)\b[^<>]*>)\s+(?=<)"
)
_LOCAL = threading.local()
#: ``reports/ua.css``: the part of WeasyPrint's user-agent stylesheet that applies to the tags in
#: :data:`SMALL_UA_TAGS`; a page made only of them comes out the same, byte for byte, in about a
#: tenth less time (the full sheet's rules are tried on every element).
SMALL_UA = "ua.css"
_UA_TAG_NAMES = (
    "html head meta title link body section div p h1 h2 h3 ul li table colgroup col thead tbody"
    " tr td th span a b i br svg rect line text"
)
SMALL_UA_TAGS = frozenset(_UA_TAG_NAMES.split())
_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*)([^<>]*)>")
#: Attributes the full sheet styles and ``reports/ua.css`` does not (found anywhere in a tag:
#: a false alarm only costs the time saved).
_UA_ATTRIBUTES = re.compile(r"\b(?:dir|hidden|rules|frame)\b", re.IGNORECASE)


def compact_html(html: str) -> str:
    """``html`` without the whitespace between block tags that never shows on a page."""
    return _BLOCK_GAP.sub(r"\1", html)


def small_ua_fits(html: str) -> bool:
    """Whether every tag of ``html`` is one ``reports/ua.css`` was written for
    (:data:`SMALL_UA_TAGS`), with none of the attributes it leaves out."""
    for name, attributes in _TAG.findall(html):
        if name.lower() not in SMALL_UA_TAGS or _UA_ATTRIBUTES.search(attributes):
            return False
    return True


class _Found:
    """An element found by :class:`_TagQuery` (its callers read only ``etree_element``)."""

    __slots__ = ("etree_element",)

    def __init__(self, element: Any) -> None:
        self.etree_element = element


class _TagQuery:
    """``query_all`` of a page's root for WeasyPrint's two queries by tag name alone
    (``style, link`` for the stylesheets, ``title, meta, link`` for the metadata): the
    elements of those names in tree order, as cssselect2 finds them, through ElementTree's
    own walk instead of a wrapper and a compiled test for each element of the page (the
    two walks were about 3 % of an office PDF). Anything else goes to cssselect2."""

    def __init__(self, root: Any) -> None:
        self.root, self.general = root, root.query_all

    def __call__(self, *selectors: Any) -> Any:
        if not all(isinstance(s, str) and s.isalpha() and s.islower() for s in selectors):
            return self.general(*selectors)
        names = frozenset(selectors)
        return (
            _Found(element)
            for element in self.root.etree_element.iter()
            if isinstance(element.tag, str) and element.tag.rpartition("}")[2] in names
        )


def _small_ua_html(ua: Any) -> Any:
    """WeasyPrint's ``HTML`` with ``ua`` as its user-agent stylesheet (made once per process;
    ``_ua_stylesheets`` is the hook WeasyPrint's own tests replace the sheet with)."""
    from weasyprint import HTML

    made = getattr(_LOCAL, "small_ua", None)
    if made is None or made[0] is not ua:

        class SmallUaHTML(HTML):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.wrapper_element.query_all = _TagQuery(self.wrapper_element)

            def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
                return [ua]

        made = _LOCAL.small_ua = (ua, SmallUaHTML)
    return made[1]


def _renderer() -> tuple[Any, dict[bytes, Any]]:
    """WeasyPrint's font configuration and the parsed stylesheets, one set per process and
    thread: made on the first PDF, reused by every later one (fonts are not looked up and
    the stylesheet not parsed again for each report)."""
    import os

    from weasyprint.text.fonts import FontConfiguration

    if getattr(_LOCAL, "pid", None) != os.getpid():  # a forked child starts its own
        _LOCAL.pid, _LOCAL.fonts, _LOCAL.sheets = os.getpid(), FontConfiguration(), {}
        _cache_parser_patterns()
        _cache_text_lines()
    return _LOCAL.fonts, _LOCAL.sheets


class _ParserPatterns(dict[tuple[Any, bool], "re.Pattern[str]"]):
    """tinyhtml5's patterns for a run of characters, made once for each set of characters."""

    def __missing__(self, key: tuple[Any, bool]) -> re.Pattern[str]:
        # Only the key tinyhtml5 2.1 looks up: another shape (a later tinyhtml5) is its own
        # lookup to answer, by its KeyError path.
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], bool)):
            raise KeyError(key)
        characters, opposite = key
        ranges = "".join(f"\\x{ord(c):02x}" for c in characters)
        made = self[key] = re.compile(f"[{'' if opposite else '^'}{ranges}]+")
        return made


def _cache_parser_patterns() -> None:
    """Make tinyhtml5's cache of patterns (``chars_until``) find what it keeps.

    tinyhtml5 2.1 stores each pattern under the pattern itself instead of the characters it
    was made for, so every text run and attribute value of a page builds its pattern again
    (a list comprehension and a lookup in ``re``'s cache): 40 % of parsing an office report,
    about 2 % of its PDF. With a dictionary that makes the missing pattern itself and keeps
    it under the right key, tinyhtml5 finds it; the patterns, and so the parsed pages, are the
    same. Left alone where tinyhtml5 keeps no such dictionary.
    """
    try:
        from tinyhtml5 import inputstream
    except ImportError:
        return
    if type(getattr(inputstream, "characters_until_regex", None)) is dict:
        inputstream.characters_until_regex = _ParserPatterns()


#: The computed properties WeasyPrint's ``split_first_line`` reads, itself or through the Pango
#: layout it makes (``Layout``, ``create_layout``, ``get_font_description``, ``font_features``,
#: ``line_size``, ``first_line_metrics``); ``tests/test_report_lines.py`` records what it reads
#: on every kind of report and fails if that is not in here. Automatic hyphenation (``hyphens:
#: auto``, whose zone may depend on more) is never cached.
LINE_PROPERTIES = (
    "direction",
    "font_family",
    "font_feature_settings",
    "font_kerning",
    "font_language_override",
    "font_size",
    "font_stretch",
    "font_style",
    "font_variant_alternates",
    "font_variant_caps",
    "font_variant_east_asian",
    "font_variant_ligatures",
    "font_variant_numeric",
    "font_variant_position",
    "font_variation_settings",
    "font_weight",
    "hyphenate_character",
    "hyphenate_limit_chars",
    "hyphenate_limit_zone",
    "hyphens",
    "lang",
    "letter_spacing",
    "overflow_wrap",
    "tab_size",
    "text_decoration_line",
    "white_space",
    "word_break",
    "word_spacing",
)


_LINE_VALUES = operator.itemgetter(*LINE_PROPERTIES)


def _frozen(value: Any) -> Any:
    """``value`` as a dictionary key: a set (``text-decoration-line``) as a frozenset."""
    return frozenset(value) if isinstance(value, set) else value


class _LineCache:
    """WeasyPrint's ``split_first_line`` (where a line of text is broken: Pango lays the text
    out, often three times), answered from memory for a text it has already broken in the same
    width with the same font properties (:data:`LINE_PROPERTIES`) and font configuration.

    An office report repeats most of its texts: every office has the same questions, column
    headings and answers in the same column widths, so a render worker breaks the same lines
    again and again (eight in ten of the calls over the demo city; a fifth of an office PDF's
    time). Breaking a line depends only on those inputs, so the answer is the one WeasyPrint
    would give: the same boxes, the same pages, the same bytes (tested on every kind of report).

    WeasyPrint's answer is a Pango layout already released (``deactivate``: only its text and
    figures are left; drawing makes a new one from the text and the style) and numbers; each
    caller gets its own copy of the layout, as each call made its own. A layout that still holds
    Pango's objects is not kept. At most :attr:`LIMIT` lines are kept, then the memory starts
    again.
    """

    LIMIT = 20_000

    def __init__(self, split: Callable[..., Any]) -> None:
        self.split = split
        self.kept: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] = {}

    def __call__(
        self,
        text: str,
        style: Any,
        context: Any,
        max_width: Any,
        justification_spacing: Any,
        is_line_start: bool = True,
        minimum: bool = False,
    ) -> Any:
        if len(text) > _LONG_TEXT or not _cacheable(style.font_config):
            return self.split(
                text, style, context, max_width, justification_spacing, is_line_start, minimum
            )
        values = _LINE_VALUES(style)
        key: tuple[Any, ...] = (text, max_width, justification_spacing, is_line_start, minimum)
        key += (style.font_config, values)
        try:
            found = self.kept.get(key)
        except TypeError:  # a set (text-decoration-line: underline) as a frozenset
            key = (*key[:-1], tuple(map(_frozen, values)))
            try:
                found = self.kept.get(key)
            except TypeError:  # a value that cannot be a key: not kept
                found, key = None, ()
        if found is None:
            result = self.split(
                text, style, context, max_width, justification_spacing, is_line_start, minimum
            )
            layout = result[0]
            if not key or hasattr(layout, "layout") or style["hyphens"] == "auto":
                return result
            if len(self.kept) >= self.LIMIT:
                self.kept.clear()
            found = self.kept[key] = (layout, tuple(result[1:]))
        layout, rest = found
        copy = object.__new__(type(layout))
        copy.__dict__.update(layout.__dict__)
        return (copy, *rest)


def _cache_text_lines() -> None:
    """Put :class:`_LineCache` in front of WeasyPrint's ``split_first_line`` where the layout of
    inline text and the widths of shrink-to-fit boxes call it (``weasyprint.layout.inline``,
    ``preferred``), :class:`_StrutCache` in front of its ``strut`` there and :class:`_DrawCache`
    in front of its ``draw_first_line``, once per process
    (a forked worker starts with empty ones). Each is left alone where WeasyPrint has no such
    function."""
    global _TEXT_LINES_PID, _TEXT_LINES_LOCK, _TEXT_LINES_LOCK_PID
    pid = os.getpid()
    if pid == _TEXT_LINES_PID:
        return
    if pid != _TEXT_LINES_LOCK_PID:  # a forked child: the parent's lock may have been held
        _TEXT_LINES_LOCK, _TEXT_LINES_LOCK_PID = threading.Lock(), pid
    with _TEXT_LINES_LOCK:  # once per process, whichever thread renders first
        if pid == _TEXT_LINES_PID:
            return
        _TEXT_LINES_PID = pid
        import weasyprint

        if not covered_weasyprint(getattr(weasyprint, "__version__", "")):
            return
        try:
            from weasyprint.draw import text as drawing
            from weasyprint.layout import inline, preferred
            from weasyprint.text.line_break import Layout
        except ImportError:
            return
        _install_text_caches(inline, preferred, drawing, Layout)


#: The WeasyPrint major versions whose internals the text caches are written and tested
#: against (``tests/test_report_lines.py``). Another version renders without them: a later
#: WeasyPrint may read a property the caches' keys do not hold, an older one keeps its fonts
#: elsewhere (65 has no ``style.font_config``).
COVERED_WEASYPRINT = ("70",)
_TEXT_LINES_LOCK = threading.Lock()
_TEXT_LINES_LOCK_PID = os.getpid()
_TEXT_LINES_PID: int | None = None
#: Longer texts are not kept: WeasyPrint asks for the first line of the rest of a paragraph, so a
#: long paragraph would be kept once per line (the hits are short questions and headings).
_LONG_TEXT = 1_000


def _cacheable(font_config: Any) -> bool:
    """Whether text laid out with ``font_config`` may be answered from the text caches: only
    monev's own font configuration (this thread's, :func:`_renderer`; another one, made by a
    library caller for a document, is not kept alive by the caches) while no ``@font-face``
    has added a font to it (a font added later changes how the same text breaks)."""
    own = getattr(_LOCAL, "fonts", None)
    return own is not None and font_config is own and getattr(own, "_folder", None) is None


def covered_weasyprint(version: str) -> bool:
    """Whether WeasyPrint ``version`` is one the text caches are tested with."""
    return version.split(".")[0] in COVERED_WEASYPRINT


def _install_text_caches(inline: Any, preferred: Any, drawing: Any, Layout: Any) -> None:
    """:func:`_cache_text_lines`' work: each cache put in place, or emptied (a forked child)."""
    split = getattr(inline, "split_first_line", None)
    if isinstance(split, _LineCache):
        split.kept.clear()
    elif callable(split):
        inline.split_first_line = _LineCache(split)
        if getattr(preferred, "split_first_line", None) is split:
            preferred.split_first_line = inline.split_first_line
    strut = getattr(inline, "strut", None)
    if isinstance(strut, _StrutCache):
        strut.kept.clear()
    elif callable(strut):
        inline.strut = _StrutCache(strut)
    draw = getattr(drawing, "draw_first_line", None)
    if isinstance(draw, _DrawCache):
        draw.kept.clear()
    elif callable(draw) and _lazy_layouts(Layout):
        drawing.draw_first_line = _DrawCache(draw, _activate)


def _lazy_layouts(layout: Any) -> bool:
    """Make WeasyPrint's ``Layout.reactivate`` (a new Pango layout for a line about to be drawn)
    wait until the layout is used: :class:`_DrawCache` replays most lines without it. The style
    is kept until then; ``_activate``, reading ``layout``, ``language`` or ``style``, or
    ``deactivate`` end the wait. Whether that is in place (not for a ``Layout`` of another
    shape)."""
    if getattr(layout.reactivate, "_monev_lazy", False):
        return True
    if not all(callable(getattr(layout, name, None)) for name in ("reactivate", "deactivate")):
        return False
    if "__getattr__" in vars(layout):
        return False
    reactivate, deactivate = layout.reactivate, layout.deactivate

    def waiting(self: Any, style: Any) -> None:
        self.__dict__["_monev_style"] = (style, reactivate)

    def ending(self: Any) -> None:
        if self.__dict__.pop("_monev_style", None) is None or "layout" in self.__dict__:
            deactivate(self)

    def using(self: Any, name: str) -> Any:
        if name in ("layout", "language", "style") and "_monev_style" in self.__dict__:
            _activate(self)
            return getattr(self, name)
        raise AttributeError(name)

    waiting._monev_lazy = True  # type: ignore[attr-defined]
    layout.reactivate, layout.deactivate, layout.__getattr__ = waiting, ending, using
    return True


def _activate(layout: Any) -> None:
    """The Pango layout ``Layout.reactivate`` was asked for, made now (:func:`_lazy_layouts`)."""
    waiting = layout.__dict__.pop("_monev_style", None)
    if waiting is not None:
        style, reactivate = waiting
        reactivate(layout, style)


#: The computed properties WeasyPrint's ``strut`` keeps its answer under (its
#: ``_font_style_cache_key`` with the size), in its order; tested against what that key reads.
STRUT_PROPERTIES = (
    "font_family",
    "font_style",
    "font_stretch",
    "font_weight",
    "font_variant_ligatures",
    "font_variant_position",
    "font_variant_caps",
    "font_variant_numeric",
    "font_variant_alternates",
    "font_variant_east_asian",
    "font_feature_settings",
    "font_variation_settings",
    "font_language_override",
    "lang",
    "font_size",
    "line_height",
)
_STRUT_VALUES = operator.itemgetter(*STRUT_PROPERTIES)


class _StrutCache:
    """WeasyPrint's ``strut`` (the height and baseline of a line of a font), which keeps its
    answers under a key made as text (``str`` of a tuple of the font's properties) and imports
    two functions on every call, several times per line: here the same answers are found under
    the tuple itself (the same properties, :data:`STRUT_PROPERTIES`, and font configuration),
    so each is still WeasyPrint's own first answer for that key."""

    def __init__(self, strut: Callable[[Any], Any]) -> None:
        self.strut = strut
        self.kept: dict[tuple[Any, ...], Any] = {}

    def __call__(self, style: Any) -> Any:
        if not _cacheable(style.font_config):
            return self.strut(style)
        key = (style.font_config, _STRUT_VALUES(style))
        try:
            found = self.kept.get(key)
        except TypeError:  # a value that cannot be a key: WeasyPrint's own way
            return self.strut(style)
        if found is None:
            if len(self.kept) >= _LineCache.LIMIT:
                self.kept.clear()
            found = self.kept[key] = self.strut(style)
        return found


class _FontNotes:
    """One of a page's fonts as a drawn line uses it, noting what the line reads and adds:
    the width of each glyph (read from the page's font, or measured and added) and the text of
    each glyph (told that none is known yet, so every glyph's text is noted; a known one is
    kept, as WeasyPrint keeps it)."""

    def __init__(self, font: Any, stream: _StreamNotes) -> None:
        self.font, self.stream = font, stream
        self.widths_read: dict[int, Any] = {}
        self.widths_set: dict[int, Any] = {}
        self.texts: dict[int, str] = {}
        self.widths, self.to_unicode = _Widths(self), _Texts(self)
        if any(getattr(font, kind, True) for kind in ("png", "svg", "colr", "bitmap")):
            stream.storable = False  # glyphs drawn as images or by bytes, or a font unknown here

    def __getattr__(self, name: str) -> Any:
        if name == "get_unused_glyph_id":  # a glyph the font does not have
            self.stream.storable = False
        return getattr(self.font, name)


class _Widths:
    """:attr:`_FontNotes.widths`."""

    def __init__(self, notes: _FontNotes) -> None:
        self.notes = notes

    def __contains__(self, glyph: int) -> bool:
        return glyph in self.notes.font.widths

    def __getitem__(self, glyph: int) -> Any:
        width = self.notes.widths_read[glyph] = self.notes.font.widths[glyph]
        return width

    def __setitem__(self, glyph: int, width: Any) -> None:
        self.notes.widths_set[glyph] = self.notes.font.widths[glyph] = width


class _Texts:
    """:attr:`_FontNotes.to_unicode`."""

    def __init__(self, notes: _FontNotes) -> None:
        self.notes = notes

    def __contains__(self, glyph: int) -> bool:
        return False

    def __setitem__(self, glyph: int, text: str) -> None:
        # The first text of a glyph, as WeasyPrint keeps it: one glyph may stand for "é" and
        # for "e" + U+0301, or for "ﬁ" and "fi", in one line.
        self.notes.texts.setdefault(glyph, text)
        self.notes.font.to_unicode.setdefault(glyph, text)


class _StreamNotes:
    """A page's stream as WeasyPrint draws one line of text on it: every operation goes to the
    stream and is noted, to be replayed on another page (:class:`_DrawCache`)."""

    def __init__(self, stream: Any) -> None:
        self.stream, self.storable = stream, True
        self.done: list[tuple[Any, ...]] = []
        self.fonts: list[tuple[Any, str, _FontNotes]] = []

    def __getattr__(self, name: str) -> Any:
        if name not in ("ink_rect", "logical_rect"):  # not the rectangles Pango measures into:
            self.storable = False  # an operation this class does not note
        return getattr(self.stream, name)

    def set_text_matrix(self, *values: Any) -> None:
        self.done.append(("matrix",))
        self.stream.set_text_matrix(*values)

    def add_font(self, pango_font: Any) -> tuple[Any, Any]:
        from weasyprint.text.fonts import get_pango_font_key

        font, size = self.stream.add_font(pango_font)
        notes = _FontNotes(font, self)
        self.fonts.append((get_pango_font_key(pango_font)[0], font.hash, notes))
        return notes, size

    def set_font_size(self, name: str, size: Any) -> None:
        self.done.append(("font", len(self.fonts) - 1, name, size))
        self.stream.set_font_size(name, size)

    def show_text(self, text: str) -> None:
        self.done.append(("text", text))
        self.stream.show_text(text)

    def set_text_rise(self, rise: Any) -> None:
        self.done.append(("rise", rise))
        self.stream.set_text_rise(rise)


class _DrawCache:
    """WeasyPrint's ``draw_first_line`` (one line of text drawn: Pango lays the line out again
    and each glyph is written by Python), replayed for a line already drawn with the same text
    and font properties (:data:`LINE_PROPERTIES`): the same operations on the page's stream, the
    same glyph widths and texts added to the page's fonts, so the same bytes (tested).

    A replay needs the page to know the line's fonts already and to hold, for each glyph whose
    width the line read, that same width (WeasyPrint keeps the first width it measured for a
    glyph of a font, whatever its size); else the line is drawn by WeasyPrint and noted again.
    Lines cut with an ellipsis, colour or bitmap fonts and missing glyphs are not kept. With a
    replay the line's Pango layout is never made again: :func:`_cache_text_lines` makes
    ``Layout.reactivate`` wait until something uses the layout.
    """

    LIMIT = 20_000

    def __init__(self, draw: Callable[..., Any], activate: Callable[[Any], None]) -> None:
        self.draw, self.activate = draw, activate
        self.kept: dict[tuple[Any, ...], Any] = {}

    def __call__(
        self, stream: Any, textbox: Any, text_overflow: str, block_ellipsis: Any, matrix: Any
    ) -> Any:
        layout, style = textbox.pango_layout, textbox.style
        key: tuple[Any, ...] = ()
        if (
            text_overflow != "ellipsis"
            and block_ellipsis == "none"
            and len(textbox.text) <= _LONG_TEXT
            and _cacheable(style.font_config)
        ):
            values = tuple(map(_frozen, _LINE_VALUES(style)))
            key = (textbox.text, layout.text, layout.justification_spacing, style.font_config)
            key += (values,)
            try:
                found = self.kept.get(key)
            except TypeError:
                found, key = None, ()
            if found is not None and self.replay(stream, found, matrix):
                return []
        self.activate(layout)
        fonts = getattr(stream, "_fonts", None)
        if not key or not isinstance(fonts, dict):
            return self.draw(stream, textbox, text_overflow, block_ellipsis, matrix)
        notes = _StreamNotes(stream)
        emojis = self.draw(notes, textbox, text_overflow, block_ellipsis, matrix)
        if notes.storable and not emojis:
            if len(self.kept) >= self.LIMIT:
                self.kept.clear()
            # plain figures only: a page's fonts (their files, their HarfBuzz faces) are not
            # kept alive by the cache
            fonts = [(k, name, n.widths_read, n.widths_set, n.texts) for k, name, n in notes.fonts]
            self.kept[key] = (notes.done, fonts)
        return emojis

    @staticmethod
    def replay(stream: Any, found: Any, matrix: Any) -> bool:
        done, noted = found
        fonts = getattr(stream, "_fonts", None)
        if not isinstance(fonts, dict):
            return False
        page = []
        for font_key, name, read, added, texts in noted:
            font = fonts.get(font_key)
            if font is None or font.hash != name:
                return False
            widths = font.widths
            for glyph, width in read.items():
                if glyph not in added and widths.get(glyph) != width:
                    return False
            for glyph, width in added.items():
                if widths.get(glyph, width) != width:
                    return False
            page.append((font, added, texts))
        for font, added, texts in page:
            for glyph, width in added.items():
                font.widths.setdefault(glyph, width)
            for glyph, text in texts.items():
                font.to_unicode.setdefault(glyph, text)
        for step in done:
            if step[0] == "text":
                stream.show_text(step[1])
            elif step[0] == "font":
                stream.set_font_size(step[2], step[3])
            elif step[0] == "matrix":
                stream.set_text_matrix(*matrix.values)
            else:
                stream.set_text_rise(step[1])
        return True


def _stylesheet(sheets: dict[bytes, Any], fonts: Any, href: str) -> Any:
    """The parsed stylesheet ``reports/<href>``, parsed again only when its bytes changed."""
    from weasyprint import CSS

    path = Path(data_dir("reports")) / href
    data = path.read_bytes()
    key = href.encode() + b"\0" + data
    if key not in sheets:
        sheets[key] = CSS(string=data.decode("utf-8"), base_url=str(path), font_config=fonts)
    return sheets[key]


#: Names Windows reserves for devices, with or without an extension (``con.pdf`` cannot be opened).
WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{d}{k}" for d in ("com", "lpt") for k in range(1, 10)]
)


def safe_name(name: str, taken: set[str] | None = None, limit: int = 60) -> str:
    """The report file name (without ``.pdf``) of an office: a function of its identity alone.

    The name is the office's identity (:func:`monev.identity.office_key`) with spaces as ``-``
    when that spells the identity exactly (only ``a-z``, ``0-9`` and single spaces, within
    ``limit`` and not a Windows device name): ``"Dinas Kesehatan"`` -> ``dinas-kesehatan``. Any
    other identity (accents, other scripts, too long, ``CON``) gets an ASCII slug plus ``_`` and
    the first 8 hex digits of the identity's sha256: ``"Dinas Péndidikan"`` ->
    ``dinas-pendidikan_fcd7f49e``. So the name never depends on which other offices are in the
    run, two identities never share it (an exact name has no ``_``), and an office keeps it from
    year to year. ``taken`` (names given so far in this run) only matters for two copies of one
    office in a run, which get ``_2``, ``_3``.
    """
    key = office_key(name)
    exact = key.replace(" ", "-")
    if (
        re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", exact)
        and len(exact) <= limit
        and exact not in WINDOWS_RESERVED
    ):
        candidate = exact
    else:
        ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_key).strip("-")[: limit - 9].strip("-")
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
        candidate = f"{slug or 'kantor'}_{digest}"
    if taken is None:
        return candidate
    unique, k = candidate, 2
    while unique in taken:
        unique = f"{candidate}_{k}"
        k += 1
    taken.add(unique)
    return unique


def office_attachment(run: RunResult, o: OfficeResult, lang: str) -> str:
    return dumps(run.office_dict(o, lang)) + "\n"


def city_attachments(run: RunResult, lang: str) -> tuple[tuple[str, str], ...]:
    """``results-publik.json`` (kota.pdf is published: no respondents, contacts or verifier's
    notes) and, when its file is found unchanged, the rubric (``rubrik-<id>.yaml``)."""
    files = [(PUBLIC_RESULTS, run.to_json(lang, public=True))]
    rubric_text = _rubric_text(run)
    if rubric_text is not None:
        files.append((f"rubrik-{run.rubric.id}.yaml", rubric_text))
    return tuple(files)


def _rubric_text(run: RunResult) -> str | None:
    """The rubric file's text, only if it still hashes to the rubric that scored the run."""
    from monev.rubric import shipped

    rb = run.rubric
    candidates = [Path(rb.path)] if rb.path else []
    if rb.id in shipped():
        candidates.append(shipped()[rb.id])
    for path in candidates:
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if hashlib.sha256(text.encode("utf-8")).hexdigest() == rb.sha256:
            return text
    return None


_WORKER: dict[str, Any] = {}
#: A task's final HTML and its attachment (name, text), if any.
#: What one PDF is made of: its HTML, its attachment and more attachments, each (name, text).
Source = tuple[str, tuple[str, str] | None, tuple[tuple[str, str], ...]]


class RenderError(Exception):
    """Some reports could not be rendered (their worker died); all the others were written.

    ``failed`` holds the report files not written, relative to the output folder
    (``kantor/dinkes.pdf``, ``kota.pdf``).
    """

    def __init__(self, failed: list[str], written: list[Path]) -> None:
        super().__init__(", ".join(failed))
        self.failed = failed
        self.written = written


def _warm(lang: str, templates: Any = None) -> None:
    """Load the messages and compile every template once in the parent: forked workers inherit
    them instead of each doing it again (about half a second of CPU per worker). ``templates``
    (:func:`monev.render_cache.template_cache`): the compiled templates of an earlier run are
    loaded from there instead (a few milliseconds), and those compiled here are kept there."""
    t("report.city.title", lang)
    env = _env(lang)
    env.bytecode_cache = templates
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)


def prepare_rendering(lang: str = "id", cache: Path | None = None, renderer: bool = True) -> Any:
    """What rendering the reports of a run needs before the run's results exist, done at once:
    WeasyPrint imported (render workers forked from this process have it), the templates
    compiled (or loaded from the user's template cache when ``cache`` is given) and, with
    ``cache`` (the output folder's ``.cache``), the render cache opened with its hashes of the
    surroundings and of monev's code. Returns that :class:`~monev.render_cache.RenderCache` (for
    :func:`render_reports`), or None without ``cache``.

    ``monev score`` calls it while the workers read the workbooks, so none of it waits for the
    reading or the reading for it. A WeasyPrint that cannot be imported is left for the
    rendering to report. ``renderer=False`` leaves WeasyPrint to the workers that render.
    """
    import contextlib

    from monev.render_cache import RenderCache, template_cache

    if renderer:
        with contextlib.suppress(Exception):
            import_weasyprint()
    if cache is None:
        _warm(lang)
        return None
    store = RenderCache.open(cache)
    _warm(lang, template_cache(store.code(), lang=lang))
    return store


def _init_worker(run: RunResult, lang: str, cache: Any = None, log: str | None = None) -> None:
    """Each worker process receives the run once, not with every office it renders; and the
    render cache (read only: the parent stores) and the render log, when there are."""
    _WORKER.update(run=run, lang=lang, cache=cache, log=log)


def _task_source(run: RunResult, lang: str, task: tuple[str, int, dict[str, str]]) -> Source:
    """What the PDF of one task is made of: its final HTML and its attachment (name, text).

    ``("office", index, {})``, ``("kecamatan", index, {})`` (index into
    ``run.kecamatan_groups()``) or ``("city", 0, files)``; the city report carries results.json
    and the rubric file as more attachments (an auditor needs only kota.pdf).
    """
    kind, index, files = task
    if kind == "city":
        return render_city_html(run, lang, files), None, city_attachments(run, lang)
    if kind == "kecamatan":
        g = run.kecamatan_groups()[index]
        attachment = (KECAMATAN_ATTACHMENT, kecamatan_attachment(run, g, lang))
        return render_kecamatan_html(run, g, lang), attachment, ()
    o = run.offices[index]
    return render_office_html(run, o, lang), (ATTACHMENT_NAME, office_attachment(run, o, lang)), ()


#: One rendered report: the PDF's bytes, and its cache entries: (key, the bytes just made for
#: it, or None when they were taken from the cache).
Rendered = tuple[bytes, list[tuple[str, bytes | None]]]


def _render_job(task: tuple[str, int, dict[str, str]]) -> Rendered:
    """One PDF (see :data:`Rendered`).

    With a cache, a PDF whose key has a verified cached file is returned from it and WeasyPrint
    is not even imported. Generic over the kinds of task (see :func:`_task_source`), but for the
    city report: its pages are rendered (or taken from the cache) without attachments, keyed by
    their HTML alone, and its attachments are added afterwards by :func:`attach_files`, with or
    without a cache, so a run that changed no figure of the city report re-uses its pages. The
    whole kota.pdf is cached too (keyed by its HTML and attachments): an unchanged re-run
    takes it as it is.
    """
    run, lang, cache = _WORKER["run"], _WORKER["lang"], _WORKER.get("cache")
    html, attachment, more = _task_source(run, lang, task)
    if os.environ.get("MONEV_HTML_LOG"):  # tests count the final HTML built (issue 13 item 2)
        with open(os.environ["MONEV_HTML_LOG"], "a", encoding="utf-8") as fh:
            fh.write(f"{task[0]} {task[1]}\n")
    city, files = task[0] == "city", more
    entries: list[tuple[str, bytes | None]] = []
    if city and cache is not None:
        whole = cache.key(run.as_of, html, None, files)
        found = cache.get(whole)
        if found is not None:
            return found, [(whole, None), *_pages_entry(cache, run.as_of, html)]
    if city:
        attachment, more = None, ()
    key = cache.key(run.as_of, html, attachment, more) if cache is not None else None
    data = cache.get(key) if cache is not None and key is not None else None
    if key is not None:
        entries.append((key, None))
    if data is None:
        if _WORKER.get("log"):
            with open(_WORKER["log"], "a", encoding="utf-8") as fh:
                fh.write(f"{task[0]} {task[1]}\n")
        data = html_to_pdf(html, run.as_of, attachment, more)
        entries = [(key, data)] if key is not None else []
    if not city:
        return data, entries
    ident = hashlib.sha256(html.encode("utf-8"))
    for name, text in files:
        ident.update(b"%d:%s\0%s" % (len(text), name.encode("utf-8"), text.encode("utf-8")))
    final = attach_files(data, files, run.as_of, ident.hexdigest()[:32].encode("ascii"))
    if cache is not None:
        entries.append((cache.key(run.as_of, html, None, files), final))
    return final, entries


def _pages_entry(cache: Any, as_of: dt.date, html: str) -> list[tuple[str, bytes | None]]:
    """The cache entry of the city report's pages, kept when the whole PDF came from the cache
    (so that the next run, whose attachments change, still finds them)."""
    key = cache.key(as_of, html)
    return [(key, None)] if key in cache.entries else []


def _run_input(run: RunResult) -> bytes:
    """What every office report takes from the run besides its office: the rubric (by its
    file's hash), the number of offices and the year-over-year comparison, serialised once."""
    import pickle

    r = run.rubric
    shared = (r.id, r.version, r.sha256, len(run.offices), run.comparison)
    return pickle.dumps(shared, protocol=5)


def office_input_key(
    env: str, code: str, shared: bytes, run: RunResult, o: OfficeResult, lang: str
) -> str:
    """The key of an office report's render input (:func:`monev.render_cache.input_key`): the
    office's result (pickled, hashed only: never read back), what it takes from the run
    (:func:`_run_input`), the date and the language; ``rank`` is always shown by
    ``monev score``."""
    import pickle

    from monev.render_cache import input_key

    office = pickle.dumps(o, protocol=5)
    return input_key(env, code, run.as_of, lang, b"office rank", shared, office)


def render_reports(
    run: RunResult,
    out: Path,
    *,
    lang: str = "id",
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
    cache: Path | RenderCache | None = None,
) -> list[Path]:
    """Write ``out/kantor/<name>.pdf`` for every office (names: :func:`safe_name`),
    ``out/kota.pdf`` and, with a registry, ``out/kecamatan/<name>.pdf`` for every kecamatan
    (the camat's report). ``monev score`` passes the staging folder of an ``OutputFolder``.

    ``cache`` (``monev score`` passes the output folder's ``.cache``): a PDF whose HTML,
    attachment, date, stylesheet, fonts and renderer are those of a PDF of the previous run is
    taken from there instead of rendered (:mod:`monev.render_cache`); afterwards the cache holds
    the PDFs of this run only; or that cache already opened (:func:`prepare_rendering`). With a
    cache, the templates compiled by an earlier run are loaded from the user's template cache
    (:func:`monev.render_cache.template_cache`). ``None`` renders every PDF. The environment
    variable ``MONEV_RENDER_LOG`` names a file to which each real rendering appends a line
    (``office 3``, ``city 0``): a way to see what a re-run rendered again; ``MONEV_HTML_LOG``
    likewise counts the final HTML built. An office whose render input
    (:func:`office_input_key`) made a PDF that is still in the cache is written from there
    without building its HTML.

    Each PDF is rendered in a worker process with resource limits (:mod:`monev.sandbox`): a
    renderer that dies on one report costs that report only. The others are written, then
    :class:`RenderError` names the ones that are missing.
    """
    from monev import limits
    from monev.render_cache import RenderCache, template_cache
    from monev.sandbox import ProcessLimits, Stopped, run_isolated

    out = Path(out)
    store = RenderCache.open(cache) if isinstance(cache, (str, Path)) else cache
    taken: set[str] = set()
    names = [safe_name(o.name, taken) for o in run.offices]
    files = {o.file: f"kantor/{n}.pdf" for o, n in zip(run.offices, names, strict=True)}
    targets = [f"kantor/{n}.pdf" for n in names] + ["kota.pdf"]
    tasks: list[tuple[str, int, dict[str, str]]]
    tasks = [("office", i, {}) for i in range(len(names))] + [("city", 0, files)]
    if run.registry is not None:  # the camat's reports: with a registry only
        kec_taken: set[str] = set()
        kec = [safe_name(g.name, kec_taken) for g in run.kecamatan_groups()]
        targets += [f"kecamatan/{n}.pdf" for n in kec]
        tasks += [("kecamatan", i, {}) for i in range(len(kec))]
    written: list[Path] = []
    failed: list[str] = []
    total = len(tasks)

    # An office whose render input is the one that made a cached PDF is written from the cache
    # here, without its HTML; only the others go to the workers (render_cache's second level).
    inputs: dict[int, str] = {}
    # A rubric made in code has no file hash: two of them may share id and version, so their
    # inputs could not be told apart (the HTML-level key still serves them).
    if store is not None and run.rubric.sha256:
        shared = _run_input(run)
        code = store.code()
        for i, o in enumerate(run.offices):
            inputs[i] = office_input_key(store.env, code, shared, run, o, lang)
    todo: list[int] = []
    for i in range(total):
        found = store.lookup(inputs[i]) if store is not None and i in inputs else None
        if store is None or found is None:
            todo.append(i)
            continue
        key, data = found
        path = out / targets[i]
        write_atomic(path, data)
        written.append(path)
        store.keep(key)
        store.link(inputs[i], key)
    if progress and written:
        progress(len(written), total)
    # The templates are compiled (or loaded from the template cache) once here, and the forked
    # workers inherit them; without a cache, only when the workers have more reports to make
    # than there are workers: a run that makes one report per worker leaves each worker to
    # compile only the template it needs, side by side. (Already done: a no-op.)
    if store is not None:
        _warm(lang, template_cache(store.code(), lang=lang))
    elif len(todo) > jobs:
        _warm(lang)
    else:
        t("report.city.title", lang)
    # The reports that sum up many offices come after the offices in ``tasks`` and take longest:
    # they start first.
    order = list(reversed(todo))

    def save(k: int, result: Rendered | Stopped) -> None:
        index = order[k]
        if isinstance(result, Stopped):
            failed.append(targets[index])
        else:
            data, entries = result
            path = out / targets[index]
            write_atomic(path, data)
            written.append(path)
            for key, made in entries:
                if store is None:
                    break
                if made is None:
                    store.keep(key)
                else:  # the output file itself when those are its bytes (linked, not copied)
                    store.put(key, made, path if made is data else None)
            if store is not None and index in inputs and entries:
                store.link(inputs[index], entries[0][0])  # an office: its PDF's key
        if progress:
            progress(len(written) + len(failed), total)

    run_isolated(
        _render_job,
        [tasks[i] for i in order],
        limits=ProcessLimits(limits.RENDER_MEMORY_BYTES, limits.RENDER_CPU_SECONDS),
        jobs=jobs,
        initializer=_init_worker,
        initargs=(run, lang, store, os.environ.get("MONEV_RENDER_LOG") or None),
        on_result=save,
    )
    if store is not None:
        store.save()
    if failed:
        raise RenderError(failed, written)
    return written
