"""Run the pipeline over files and folders: find the workbooks, read, score and rank them.

A bad file never stops the batch: it is listed under ``rejected`` with its reason. Every input file
ends up in exactly one of ``offices``, ``rejected`` or ``skipped`` (lock files).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from monev.evidence import LinkChecker, apply_checks, evidence_targets
from monev.identity import Copy, newest_copies, office_key
from monev.problems import Problem
from monev.registry import Registry, identify
from monev.results import OfficeResult, Rejected, RunResult, rank
from monev.rubric import Rubric
from monev.scoring import score
from monev.workbook import Questionnaire, is_lock_file, read_questionnaire

# Spreadsheet-like files found in a folder are inputs: the ones monev cannot score (.xls, .csv)
# are then rejected with their reason instead of silently ignored. Other files (evidence PDFs,
# images) are not inputs.
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls", ".xlsb", ".csv"}

Progress = Callable[[int, int], None]


class InputError(Exception):
    """An input path that does not exist (a usage error, not a bad workbook)."""


def as_of_date() -> dt.date:
    """The run's date: from ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    return dt.date.today()


def collect(inputs: Iterable[str | Path]) -> list[Path]:
    """Files named directly are taken as they are; folders are searched for workbooks."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted(
                (
                    p
                    for p in path.rglob("*")
                    if p.is_file() and (p.suffix.lower() in WORKBOOK_SUFFIXES or is_lock_file(p))
                ),
                key=lambda p: str(p.relative_to(path)).casefold(),
            )
        elif path.is_file():
            candidates = [path]
        else:
            raise InputError(str(raw))
        for p in candidates:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                found.append(p)
    return found


def _display_names(paths: list[Path]) -> list[str]:
    """Names that identify each file in reports: the file name, or a longer tail when two clash."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    return [str(p.resolve().relative_to(common)) for p in paths]


def read_one(path: Path, rubric: Rubric, display_name: str) -> Questionnaire | Rejected:
    if is_lock_file(path):
        return Rejected(display_name, "", [Problem.make("MV109", display_name)], skipped=True)
    q = read_questionnaire(path, rubric, display_name=display_name)
    if q.rejected:
        return Rejected(q.file, q.sha256, q.problems)
    return q


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


def score_one(path: Path, rubric: Rubric, display_name: str) -> OfficeResult | Rejected:
    return finish(read_one(path, rubric, display_name), rubric)


def _score_chunk(args: tuple[list[tuple[str, str]], Rubric]) -> list[OfficeResult | Rejected]:
    items, rubric = args
    return [score_one(Path(p), rubric, name) for p, name in items]


def set_aside_copies(
    outcomes: list[OfficeResult | Rejected], paths: list[Path]
) -> list[OfficeResult | Rejected]:
    """One office, one rank: of several workbooks of one office, score only the newest.

    Every other copy becomes a skipped entry with a problem naming the copy used.
    """
    scored = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, OfficeResult)]
    copies = [
        Copy(office_key(o.name), o.office.filled_on, _mtime(paths[i]), o.file) for i, o in scored
    ]
    older = newest_copies(copies)
    if not older:
        return outcomes
    out = list(outcomes)
    for k, used in older.items():
        i, o = scored[k]
        kept = scored[used][1]
        out[i] = Rejected(
            o.file,
            o.sha256,
            [Problem.make("MV430", o.file, office=o.name, used=kept.file)],
            skipped=True,
        )
    return out


def apply_registry(
    outcomes: list[OfficeResult | Rejected], registry: Registry
) -> list[OfficeResult | Rejected]:
    """The registry entry is the office's identity: its name, unit type and kecamatan.

    A workbook whose office is not in the registry is rejected (not ranked), with the closest
    registry names; where the workbook disagrees with its entry, the entry wins, with a warning.
    """
    out = list(outcomes)
    for i, o in enumerate(outcomes):
        if not isinstance(o, OfficeResult):
            continue
        office = o.office
        entry, problems = identify(
            registry, o.file, office.name, office.unit_type, office.kecamatan
        )
        if entry is None:
            out[i] = Rejected(o.file, o.sha256, problems + o.problems)
            continue
        office.name, office.unit_type, office.kecamatan = (
            entry.name,
            entry.unit_type,
            entry.kecamatan,
        )
        o.problems = o.problems + problems
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
    registry: Registry | None = None,
) -> RunResult:
    """Score every workbook under ``inputs`` with ``rubric`` and rank the offices.

    With ``links``, every evidence link is fetched (concurrently, cached) and every evidence
    file checked beside its workbook before scoring; evidence that fails counts as none.

    With ``registry``, each workbook is matched to its entry (see :func:`apply_registry`); copies
    are then found by entry, and the entries without a workbook are the run's ``missing``.
    """
    paths = collect(inputs)
    names = _display_names(paths)
    outcomes: list[OfficeResult | Rejected] = []
    total = len(paths)
    if links is not None:
        read = [read_one(p, rubric, n) for p, n in zip(paths, names, strict=True)]
        urls = [u for q in read if isinstance(q, Questionnaire) for u in evidence_targets(q)[0]]
        checked = links.check(urls)
        outcomes = [
            finish(
                apply_checks(q, p.parent, checked) if isinstance(q, Questionnaire) else q, rubric
            )
            for q, p in zip(read, paths, strict=True)
        ]
    elif jobs > 1 and total >= 64:
        import multiprocessing

        items = [(str(p), n) for p, n in zip(paths, names, strict=True)]
        size = max(16, total // (jobs * 8))
        chunks = [(items[i : i + size], rubric) for i in range(0, total, size)]
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for chunk in pool.map(_score_chunk, chunks):
                outcomes.extend(chunk)
                if progress:
                    progress(len(outcomes), total)
    else:
        last = time.monotonic()
        for k, (p, n) in enumerate(zip(paths, names, strict=True), start=1):
            outcomes.append(score_one(p, rubric, n))
            if progress and (time.monotonic() - last > 0.1 or k == total):
                progress(k, total)
                last = time.monotonic()
    if registry is not None:
        outcomes = apply_registry(outcomes, registry)
    outcomes = set_aside_copies(outcomes, paths)
    offices = [o for o in outcomes if isinstance(o, OfficeResult)]
    rejected = [o for o in outcomes if isinstance(o, Rejected) and not o.skipped]
    skipped = [o for o in outcomes if isinstance(o, Rejected) and o.skipped]
    run = RunResult(
        rubric=rubric,
        offices=rank(offices),
        rejected=rejected,
        skipped=skipped,
        as_of=as_of or as_of_date(),
    )
    if registry is not None:
        run.registry = registry
        run.missing = registry.missing({office_key(o.name) for o in offices})
    return run
