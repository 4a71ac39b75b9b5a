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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from monev.evidence import LinkChecker, apply_checks, evidence_targets
from monev.problems import Problem
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


def _score_chunk(args: tuple[list[tuple[str, str]], Rubric]) -> list[OfficeResult | Rejected]:
    items, rubric = args
    return [score_one(Path(p), rubric, name) for p, name in items]


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
