"""Run the pipeline over files and folders: find the workbooks, read, score and rank them.

A bad file never stops the batch: it is listed under ``rejected`` with its reason. Every input file
ends up in exactly one of ``offices``, ``rejected`` or ``skipped`` (lock files).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monev import limits
from monev.evidence import LinkChecker, apply_checks, evidence_targets
from monev.identity import Copy, newest_copies, office_key, tracked_key
from monev.inputs import _display_names, collect
from monev.problems import Key, Problem
from monev.registry import Registry, identify
from monev.results import OfficeResult, Rejected, RunResult, rank
from monev.rubric import Rubric
from monev.sandbox import ProcessLimits, Stopped, run_isolated
from monev.scoring import combine_tracks, score
from monev.stages import StagesRow, StagesSource, StagesTable, apply_stages
from monev.workbook import (
    Questionnaire,
    distrust_verifier_acceptance,
    is_lock_file,
    read_questionnaire,
)

if TYPE_CHECKING:
    from monev.read_cache import ReadCache

Progress = Callable[[int, int], None]


# The dates a run may carry: SOURCE_DATE_EPOCH and --as-of outside this range are usage errors.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


class DateError(ValueError):
    """``SOURCE_DATE_EPOCH`` or a report date that is not a usable date (a usage error)."""

    def __init__(self, source: str, value: str):
        self.source, self.value = source, value
        super().__init__(f"{source}={value!r}")


def parse_day(text: str, source: str = "--as-of") -> dt.date:
    """A report date written ``YYYY-MM-DD`` between 2000 and 2099, else :class:`DateError`."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise DateError(source, text)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise DateError(source, text) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateError(source, text)
    return day


def as_of_date() -> dt.date:
    """The run's date: from ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today.

    ``SOURCE_DATE_EPOCH`` must be whole seconds since 1970 naming a day from 2000 to 2099;
    anything else raises :class:`DateError` rather than being ignored.
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if raw is None or raw.strip() == "":
        return dt.date.today()
    epoch = raw.strip()
    if not re.fullmatch(r"\d{1,12}", epoch):
        raise DateError("SOURCE_DATE_EPOCH", raw)
    first = dt.datetime.combine(FIRST_DAY, dt.time(), dt.timezone.utc).timestamp()
    last = dt.datetime.combine(LAST_DAY, dt.time.max, dt.timezone.utc).timestamp()
    if not first <= int(epoch) <= last:
        raise DateError("SOURCE_DATE_EPOCH", raw)
    return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()


@dataclass(frozen=True)
class ReadOptions:
    """What a run takes from an office's own workbook besides its answers.

    Later-stage scores come from the verifier's ``stages`` file; stage scores typed in a workbook
    count only with ``stages_from_workbooks``. A verifier's ``Sesuai`` written in a workbook
    raises an item's verifiable value, so it counts only with ``verifier_from_workbooks`` (the
    workbooks carry the verifier's pass); otherwise it is ignored with a warning (MV215), since an
    office could write it itself. ``Tidak Sesuai`` always counts: it can only lower a score.
    """

    stages: StagesTable | None = None
    stages_from_workbooks: bool = False
    verifier_from_workbooks: bool = False
    #: The city's office registry: each workbook is matched to its entry (:func:`match_registry`).
    registry: Registry | None = None


def read_one(
    path: Path, rubric: Rubric, display_name: str, options: ReadOptions = ReadOptions()
) -> Questionnaire | Rejected:
    """Read one workbook, match it to its registry entry (see :func:`match_registry`), then apply
    the run's trust in its own stage and verifier cells."""
    if is_lock_file(path):
        return Rejected(display_name, "", [Problem.make("MV109", display_name)], skipped=True)
    q = read_questionnaire(path, rubric, display_name=display_name)
    if q.rejected:
        return Rejected(q.file, q.sha256, q.problems)
    if options.registry is not None:
        matched = match_registry(q, options.registry)
        if isinstance(matched, Rejected):
            return matched
    if not options.verifier_from_workbooks:
        q = distrust_verifier_acceptance(q, rubric)
    return apply_stages(q, rubric, options.stages, from_workbooks=options.stages_from_workbooks)


def match_registry(q: Questionnaire, registry: Registry) -> Questionnaire | Rejected:
    """The registry entry is the office's identity: its name, unit type and kecamatan (before the
    stages file is looked up, so that it is looked up by the registry name).

    A workbook whose office is not in the registry is rejected (not ranked), with the closest
    registry names; where the workbook disagrees with its entry, the entry wins, with a warning.
    """
    office = q.office
    entry, problems = identify(registry, q.file, office.name, office.unit_type, office.kecamatan)
    if entry is None:
        return Rejected(q.file, q.sha256, problems + q.problems)
    office.name, office.unit_type, office.kecamatan = entry.name, entry.unit_type, entry.kecamatan
    q.problems.extend(problems)
    return q


def stages_by_registry(stages: StagesTable, registry: Registry) -> StagesTable:
    """The stages file's rows keyed by registry entry: a row under any registered name of an
    office (``Kel. Bugul Lor``) is that office's row."""
    rows: dict[str, list[StagesRow]] = {}
    for key, found in stages.rows.items():
        m = registry.match(key)
        rows.setdefault(m.entry.key if m else key, []).extend(found)
    return replace(stages, rows=rows)


def finish(q: Questionnaire | Rejected, rubric: Rubric) -> OfficeResult | Rejected:
    if isinstance(q, Rejected):
        return q
    return OfficeResult(
        file=q.file,
        sha256=q.sha256,
        office=q.office,
        score=score(rubric, q),
        problems=q.problems,
    )


def score_one(
    path: Path, rubric: Rubric, display_name: str, options: ReadOptions = ReadOptions()
) -> OfficeResult | Rejected:
    return finish(read_one(path, rubric, display_name, options), rubric)


_WORKER: list[tuple[Rubric, ReadOptions]] = []


def _init_worker(rubric: Rubric, options: ReadOptions) -> None:
    """Each worker process receives the rubric and the read options once, not with every file."""
    _WORKER[:] = [(rubric, options)]


def _score_task(item: tuple[str, str]) -> OfficeResult | Rejected:
    rubric, options = _WORKER[0]
    return score_one(Path(item[0]), rubric, item[1], options)


def _read_task(item: tuple[str, str]) -> Questionnaire | Rejected:
    rubric, options = _WORKER[0]
    return read_one(Path(item[0]), rubric, item[1], options)


#: Workbooks sent to a worker in one task: one round trip per 16 files instead of one per file
#: (issue 13; a file that kills its worker still costs only itself, see monev.sandbox).
READ_CHUNK = 16


def _isolated(
    task: Callable[[tuple[str, str]], Any],
    paths: list[Path],
    names: list[str],
    rubric: Rubric,
    options: ReadOptions,
    jobs: int,
    progress: Progress | None,
    while_waiting: Callable[[], None] | None = None,
) -> list[Any]:
    """``task`` over every file, each in a worker process with resource limits (monev.sandbox).

    A file that kills its worker (a native abort, a segfault, memory or CPU time beyond the
    limits) is rejected with MV110; the other files get their results.
    """
    total = len(paths)
    count = [0, time.monotonic()]

    def tick(_index: int, _result: object) -> None:
        count[0] += 1
        if progress and (time.monotonic() - count[1] > 0.1 or count[0] == total):
            progress(int(count[0]), total)
            count[1] = time.monotonic()

    items = [(str(p), n) for p, n in zip(paths, names, strict=True)]
    results = run_isolated(
        task,
        items,
        limits=ProcessLimits(limits.READ_MEMORY_BYTES, limits.READ_CPU_SECONDS),
        jobs=jobs,
        initializer=_init_worker,
        initargs=(rubric, options),
        on_result=tick,
        chunk=READ_CHUNK,
        while_waiting=while_waiting,
    )
    return [
        Rejected(n, "", [Problem.make("MV110", n, reason=Key(f"reader.{r.reason}"))])
        if isinstance(r, Stopped)
        else r
        for r, n in zip(results, names, strict=True)
    ]


def set_aside_copies(
    outcomes: list[OfficeResult | Rejected], paths: list[Path]
) -> list[OfficeResult | Rejected]:
    """One office, one rank: of several workbooks of one office, score only the newest.

    Every other copy becomes a skipped entry with a problem naming the copy used.
    """
    scored = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, OfficeResult)]
    copies = [  # one office's workbooks from different assessor tracks are not copies
        Copy(_identity_of(o, o.office.track), o.office.filled_on, _mtime(paths[i]), o.file)
        for i, o in scored
    ]
    older = newest_copies(copies)
    if not older:
        return outcomes
    out = list(outcomes)
    for k, (used, why) in older.items():
        i, o = scored[k]
        kept = scored[used][1]
        out[i] = Rejected(
            o.file,
            o.sha256,
            [
                Problem.make(
                    "MV430", o.file, office=o.name, used=kept.file, why=Key(f"copy.why.{why}")
                )
            ],
            skipped=True,
        )
    return out


def _identity_of(o: OfficeResult, track: str = "") -> str:
    """The office's identity (plus ``track``), or "" when its workbook names no office (the name
    then comes from the file name, and two such workbooks are different offices, never copies)."""
    if any(p.code == "MV401" for p in o.problems):
        return ""
    return tracked_key(o.name, track)


def combine_assessors(offices: list[OfficeResult], rubric: Rubric) -> list[OfficeResult]:
    """With assessor tracks (``rubric.assessors``), one result per office: the workbooks of its
    tracks combined by :func:`monev.scoring.combine_tracks`. The result keeps the file of the
    last track used and the problems of every workbook."""
    if rubric.assessors is None:
        return offices
    groups: dict[str, list[OfficeResult]] = {}
    for n, o in enumerate(offices):
        groups.setdefault(_identity_of(o) or f"\0{n}", []).append(o)
    out = []
    for members in groups.values():
        by_track = {o.office.track: o for o in members}
        combined = combine_tracks(rubric, {t: o.score for t, o in by_track.items()})
        ref = by_track[combined.tracks[-1]]
        out.append(replace(ref, score=combined, problems=[p for o in members for p in o.problems]))
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def score_paths(
    inputs: Iterable[str | Path],
    rubric: Rubric,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    links: LinkChecker | None = None,
    stages: StagesTable | None = None,
    stages_from_workbooks: bool = False,
    verifier_from_workbooks: bool = False,
    registry: Registry | None = None,
    while_waiting: Callable[[], None] | None = None,
    cache: ReadCache | None = None,
) -> RunResult:
    """Score every workbook under ``inputs`` with ``rubric`` and rank the offices.

    With ``links``, every evidence link is fetched (concurrently, cached) and every evidence
    file checked beside its workbook before scoring; evidence that fails counts as none.

    Later-stage scores come from ``stages`` (the verifier's stages file, read with
    :func:`monev.stages.load_stages`); stage scores typed in an office's own workbook count only
    with ``stages_from_workbooks`` (and then the file wins), else they are ignored with a warning.
    A verifier's ``Sesuai`` in a workbook counts only with ``verifier_from_workbooks`` (see
    :class:`ReadOptions`).

    Files are read (and scored) in ``jobs`` worker processes with resource limits: a file that
    kills its worker is rejected with MV110 and costs nothing else (see :mod:`monev.sandbox`).
    With ``registry``, each workbook is matched to its entry (see :func:`match_registry`); copies
    are then found by entry, and the entries without a workbook are the run's ``missing``.
    ``while_waiting()`` runs here while the workers read (``monev score`` loads the PDF renderer).
    ``cache`` (:class:`monev.read_cache.ReadCache`; not with ``links``): workbooks whose result
    the previous run made from the same bytes, rubric, options and code are not read again; the
    caller saves the cache.
    """
    if stages is not None and registry is not None:
        stages = stages_by_registry(stages, registry)
    options = ReadOptions(stages, stages_from_workbooks, verifier_from_workbooks, registry)
    paths = collect(inputs)
    if stages is not None and stages.path:  # the stages file may sit in an input folder
        paths = [p for p in paths if str(p.resolve()) != stages.path]
    names = _display_names(paths)
    outcomes: list[OfficeResult | Rejected]
    if not paths:
        outcomes = []
    elif links is not None:
        read = _isolated(_read_task, paths, names, rubric, options, jobs, progress, while_waiting)
        urls = [u for q in read if isinstance(q, Questionnaire) for u in evidence_targets(q)[0]]
        checked = links.check(urls)
        outcomes = [
            finish(
                apply_checks(q, p.parent, checked) if isinstance(q, Questionnaire) else q, rubric
            )
            for q, p in zip(read, paths, strict=True)
        ]
    else:
        from monev.read_cache import reuse

        outcomes = reuse(
            cache,
            rubric,
            options,
            paths,
            names,
            lambda ps, ns: _isolated(
                _score_task, ps, ns, rubric, options, jobs, progress, while_waiting
            ),
        )
    outcomes = set_aside_copies(outcomes, paths)
    offices = combine_assessors([o for o in outcomes if isinstance(o, OfficeResult)], rubric)
    rejected = [o for o in outcomes if isinstance(o, Rejected) and not o.skipped]
    skipped = [o for o in outcomes if isinstance(o, Rejected) and o.skipped]
    source = None
    if stages is not None or stages_from_workbooks:
        problems = [*stages.problems, *stages.unmatched(o.name for o in offices)] if stages else []
        source = StagesSource(
            file=stages.file if stages else None,
            sha256=stages.sha256 if stages else None,
            from_workbooks=stages_from_workbooks,
            problems=tuple(problems),
        )
    run = RunResult(
        rubric=rubric,
        offices=rank(offices),
        rejected=rejected,
        skipped=skipped,
        as_of=as_of or as_of_date(),
        stages_source=source,
    )
    if registry is not None:
        run.registry = registry
        run.missing = registry.missing({office_key(o.name) for o in offices})
    return run
