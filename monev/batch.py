"""Run the pipeline over files and folders: find the workbooks, read, score and rank them.

A bad file never stops the batch: it is listed under ``rejected`` with its reason. Every input file
ends up in exactly one of ``offices``, ``rejected`` or ``skipped`` (lock files).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from monev import limits
from monev.evidence import LinkChecker, apply_checks, evidence_targets
from monev.problems import Key, Problem
from monev.results import OfficeResult, Rejected, RunResult, rank
from monev.rubric import Rubric
from monev.sandbox import ProcessLimits, Stopped, run_isolated
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
        return Rejected(display_name, "", [Problem.make("MV109", display_name)])
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


_RUBRIC: list[Rubric] = []


def _init_worker(rubric: Rubric) -> None:
    """Each worker process receives the rubric once, not with every file."""
    _RUBRIC[:] = [rubric]


def _score_task(item: tuple[str, str]) -> OfficeResult | Rejected:
    return score_one(Path(item[0]), _RUBRIC[0], item[1])


def _read_task(item: tuple[str, str]) -> Questionnaire | Rejected:
    return read_one(Path(item[0]), _RUBRIC[0], item[1])


def _isolated(
    task: Callable[[tuple[str, str]], Any],
    paths: list[Path],
    names: list[str],
    rubric: Rubric,
    jobs: int,
    progress: Progress | None,
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
        initargs=(rubric,),
        on_result=tick,
    )
    return [
        Rejected(n, "", [Problem.make("MV110", n, reason=Key(f"reader.{r.reason}"))])
        if isinstance(r, Stopped)
        else r
        for r, n in zip(results, names, strict=True)
    ]


def score_paths(
    inputs: Iterable[str | Path],
    rubric: Rubric,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    as_of: dt.date | None = None,
    links: LinkChecker | None = None,
) -> RunResult:
    """Score every workbook under ``inputs`` with ``rubric`` and rank the offices.

    With ``links``, every evidence link is fetched (concurrently, cached) and every evidence
    file checked beside its workbook before scoring; evidence that fails counts as none.

    Files are read (and scored) in ``jobs`` worker processes with resource limits: a file that
    kills its worker is rejected with MV110 and costs nothing else (see :mod:`monev.sandbox`).
    """
    paths = collect(inputs)
    names = _display_names(paths)
    outcomes: list[OfficeResult | Rejected]
    if not paths:
        outcomes = []
    elif links is not None:
        read = _isolated(_read_task, paths, names, rubric, jobs, progress)
        urls = [u for q in read if isinstance(q, Questionnaire) for u in evidence_targets(q)[0]]
        checked = links.check(urls)
        outcomes = [
            finish(
                apply_checks(q, p.parent, checked) if isinstance(q, Questionnaire) else q, rubric
            )
            for q, p in zip(read, paths, strict=True)
        ]
    else:
        outcomes = _isolated(_score_task, paths, names, rubric, jobs, progress)
    offices = [o for o in outcomes if isinstance(o, OfficeResult)]
    rejected = [o for o in outcomes if isinstance(o, Rejected) and o.problems[0].code != "MV109"]
    skipped = [o for o in outcomes if isinstance(o, Rejected) and o.problems[0].code == "MV109"]
    return RunResult(
        rubric=rubric,
        offices=rank(offices),
        rejected=rejected,
        skipped=skipped,
        as_of=as_of or as_of_date(),
    )
