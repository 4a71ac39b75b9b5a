"""The library's check of one stored upload, and what the office's result page shows.

Reading goes through :func:`monev.batch.read_one` (the reader with its bad-file and zip-bomb
guards) and :func:`monev.batch.finish` (the scorer); the plan is :func:`monev.plan.build_plan`.
Nothing here decides a score. Results are recomputed from the stored bytes when shown (a few
tens of milliseconds) and cached per blob, so the database keeps only the summary figures.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from monev.batch import finish, read_one
from monev.identity import office_key
from monev.limits import READ_CPU_SECONDS, READ_MEMORY_BYTES
from monev.plan import Plan, build_plan
from monev.problems import Key, Problem, sort_key, tally
from monev.results import OfficeResult
from monev.rubric import Rubric, RubricError, load_rubric
from monev.sandbox import ProcessLimits, Stopped, WorkerPool
from monev.scoring import round2


@dataclass(frozen=True)
class Outcome:
    """One upload as the library sees it."""

    problems: list[Problem]
    result: OfficeResult | None  # None: rejected, cannot be scored
    plan: Plan | None

    @property
    def rejected(self) -> bool:
        return self.result is None

    @property
    def errors(self) -> int:
        return tally(self.problems)[0]

    @property
    def warnings(self) -> int:
        return tally(self.problems)[1]

    def summary(self) -> dict[str, Any]:
        """The figures an :class:`~monev.web.db.Upload` row keeps (Decimals as text)."""
        s = self.result.score if self.result else None
        return {
            "status": "rejected" if s is None else "checked",
            "errors": self.errors,
            "warnings": self.warnings,
            "saq_claimed": str(s.saq_claimed) if s else None,
            "saq_verifiable": str(s.saq_verifiable) if s else None,
            "score": str(s.score) if s else None,
            "predicate": s.predicate if s else None,
        }


#: A period's ``rubric_id``: ``sha256:<hash of its text>``, of a rubric the admin uploaded or of
#: the shipped rubric's file kept when the period was opened. See :mod:`monev.web.rubrics`.
UPLOADED = "sha256:"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: The ``rubrics/`` folders of the data folders opened in this process (one when serving).
_RUBRIC_FOLDERS: list[Path] = []


def use_rubric_folder(folder: Path) -> None:
    """Resolve uploaded rubrics (``sha256:…``) from ``folder`` first (:class:`~monev.web.ops.Store`
    calls this for its data folder; the folders opened before stay as fallbacks)."""
    folder = Path(folder)
    if folder in _RUBRIC_FOLDERS:
        _RUBRIC_FOLDERS.remove(folder)
    _RUBRIC_FOLDERS.insert(0, folder)


def stored_rubric_path(folder: Path, sha256: str) -> Path:
    """Where an uploaded rubric with this hash is kept: the hash is the whole name."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError("not a rubric hash")
    return Path(folder) / f"{sha256}.yaml"


def rubric_folder() -> Path | None:
    """The ``rubrics/`` folder of the data folder opened last (where a period's rubric is kept)."""
    return _RUBRIC_FOLDERS[0] if _RUBRIC_FOLDERS else None


class NotPinned(RubricError):
    """A period that names a shipped rubric by id: its file was not kept by hash (a period of
    older data whose shipped file changed since it was opened, see
    :func:`monev.web.rubrics.pin_periods`). Never resolved from the shipped file: an upgrade of
    monev would silently rescore the period."""

    def __init__(self, rubric_id: str):
        super().__init__(
            rubric_id,
            [("", "this period's rubric is not kept by hash; the admin page says what to do")],
        )


def rubric_file(rubric_id: str) -> Path:
    """The stored file of a period's rubric (``sha256:…``): an uploaded one, or the shipped one
    it was opened with, kept by hash (:func:`monev.web.rubrics.pin_shipped`). A shipped id is
    refused (:class:`NotPinned`)."""
    if not rubric_id.startswith(UPLOADED):
        raise NotPinned(rubric_id)
    sha = rubric_id[len(UPLOADED) :]
    paths = [stored_rubric_path(folder, sha) for folder in _RUBRIC_FOLDERS]
    found = next((p for p in paths if p.is_file()), None)
    if found is None:
        raise RubricError(rubric_id, [("", "the stored rubric file is missing")])
    return found


def rubric_source(rubric_id: str) -> Path:
    """The file a period's rubric is read from (kept by hash, see :func:`rubric_file`)."""
    return rubric_file(rubric_id)


@lru_cache(maxsize=8)
def rubric(rubric_id: str) -> Rubric:
    """A period's rubric, by the hash of its kept file (``sha256:…``): uploaded, or shipped and
    kept when the period was opened. Never read from the shipped file by id, so that no monev
    upgrade changes the rubric of a running period."""
    return _stored_rubric(rubric_id, str(rubric_file(rubric_id)))


def rubric_label(rubric_id: str) -> str:
    """The rubric's own id for the pages (``ki-jatim-2024``), the reference when unreadable."""
    try:
        return rubric(rubric_id).id
    except RubricError:
        return rubric_id


@lru_cache(maxsize=8)
def _stored_rubric(rubric_id: str, path: str) -> Rubric:
    """The library's loader on the stored file, trusted only while it hashes to its name."""
    rb = load_rubric(Path(path))
    if UPLOADED + rb.sha256 != rubric_id:
        raise RubricError(rubric_id, [("", "the stored rubric file was changed")])
    return rb


def _check(item: tuple[str, str, str, str]) -> Outcome:
    """The check itself, in a worker process (see :data:`WORKERS`); ``stored``: the file of an
    uploaded rubric (a worker does not know the data folder)."""
    path, rubric_id, name, stored = item
    rb = _stored_rubric(rubric_id, stored) if stored else rubric(rubric_id)
    res = finish(read_one(Path(path), rb, name), rb)
    if isinstance(res, OfficeResult):
        return Outcome(sorted(res.problems, key=sort_key), res, build_plan(rb, res.score))
    return Outcome(sorted(res.problems, key=sort_key), None, None)


#: Uploads are read in worker processes with the reader's memory and CPU limits, as `monev
#: score` reads files: an upload that crashes or exhausts the reader costs its own check (MV110),
#: never the server; and the checks of simultaneous uploads run on every core, not under one
#: interpreter lock (scripts/web_load.py: 100 uploads at once, p95 3.9 s in one process).
WORKERS = WorkerPool(ProcessLimits(READ_MEMORY_BYTES, READ_CPU_SECONDS), os.cpu_count() or 1)


@lru_cache(maxsize=256)
def check_blob(path: Path, rubric_id: str, name: str) -> Outcome:
    """Read, check and score one stored upload (``name``: the display name in problems).
    Cached by ``rubric_id``, which for an uploaded rubric is its hash: any cache of outcomes
    must keep the rubric in its key."""
    stored = rubric_file(rubric_id)
    got = WORKERS.call(_check, (str(path), rubric_id, name, str(stored) if stored else ""))
    if isinstance(got, Stopped):
        problem = Problem.make("MV110", name, reason=Key(f"reader.{got.reason}"))
        return Outcome([problem], None, None)
    return got


def other_office(outcome: Outcome, office_name: str) -> str:
    """The office named in the workbook when it is not the uploader's office, else ""."""
    if outcome.result is None:
        return ""
    named = outcome.result.office.name
    return named if named and office_key(named) != office_key(office_name) else ""


def page_context(rb: Rubric, outcome: Outcome) -> dict[str, Any]:
    """Questions, evidence hints and aspect bars for the result page (same as the report's)."""
    questions = {}
    for ind, item in rb.rows():
        questions[item.code if item else ind.code] = item.label if item else ind.question
    aspects = []
    if outcome.result is not None:
        for a in outcome.result.score.aspects:
            aspects.append(
                {
                    "code": a.code,
                    "name": a.name,
                    "weight": a.weight,
                    "score": round2(a.verifiable),
                    "pct": float(a.verifiable / Fraction(a.weight)) * 100,
                }
            )
    return {
        "questions": questions,
        "hints": {i.code: i.evidence_hint for i in rb.indicators},
        "aspects": aspects,
    }


def _warm(item: tuple[str, str, str, str]) -> int:
    """One warm-up check in a worker process; returns the worker's process id."""
    _check(item)
    return os.getpid()


def warm_up(rubric_ids: list[str]) -> set[int]:
    """Load these rubrics and run the whole check once on a blank template of each, in every
    check worker, so that the first uploads after a start do not each pay for imports and
    rubric loading (measured with scripts/web_load.py: a cold first upload took 0.8–1 s, a warm
    one about 0.1 s). Returns the process ids of the workers that ran it."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    from monev.template import build_template

    warmed: set[int] = set()
    for rubric_id in rubric_ids:
        try:
            rb = rubric(rubric_id)
            stored = rubric_file(rubric_id)
        except RubricError:  # a period the admin page explains (not kept by hash): not here
            continue
        with tempfile.TemporaryDirectory(prefix="monev-warm-") as tmp:
            path = Path(tmp) / "kosong.xlsx"
            build_template(rb).save(path)
            item = (str(path), rubric_id, path.name, str(stored) if stored else "")
            # All at once, so that every worker gets one: one after another, each call went to
            # the first worker (the pool reuses an idle worker before it starts another), and
            # the other worker loaded its modules and the rubric during the first rush of
            # uploads (about 0.45 s of CPU inside the burst of scripts/web_load.py).
            with ThreadPoolExecutor(WORKERS.workers) as pool:
                calls = [pool.submit(WORKERS.call, _warm, item) for _ in range(WORKERS.workers)]
                warmed.update(got for c in calls if isinstance(got := c.result(), int))
    return warmed
