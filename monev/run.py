"""One run of ``monev score``, as one library call: the step that owns a run from start to end.

:func:`run_score` opens (checks and locks) the output folder before any work, scores every
workbook, compares with last year, writes results.json, ranking.csv and rekap.xlsx and renders the
PDFs into a staging folder, and switches the new set in only at the end, so an interrupted or
failed run leaves the previous complete set. The CLI parses options into :class:`RunSettings`,
calls it and prints; any other front end can do the same.

Usage errors (the output folder, an input path, no inputs, a rename map that would merge two
offices) are raised before anything is written, as one of :data:`USAGE_ERRORS`;
:func:`usage_message` says each in the run's language.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monev.batch import Progress, score_paths
from monev.compare import PreviousError, PreviousRun, compare
from monev.evidence import LinkChecker
from monev.i18n import t
from monev.inputs import InputError
from monev.outputs import OutputError, OutputFolder
from monev.registry import Registry
from monev.results import RunResult, write_outputs
from monev.rubric import Rubric
from monev.stages import StagesTable


class RunError(Exception):
    """A run that cannot go on (a usage error); ``key`` and ``params`` make its message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


#: Everything :func:`run_score` raises for a usage error (exit 2 in the CLI).
USAGE_ERRORS = (RunError, OutputError, InputError, PreviousError)


def usage_message(exc: Exception, lang: str = "id") -> str:
    """The message of a usage error raised by :func:`run_score`, in ``lang``."""
    if isinstance(exc, PreviousError):
        return f"--rename-map: {exc.text(lang)}"
    if isinstance(exc, InputError):
        return t(exc.key, lang, path=exc.path)
    if isinstance(exc, RunError | OutputError):
        return t(exc.key, lang, **exc.params)
    raise TypeError(f"not a usage error: {exc!r}")


@dataclass
class RunSettings:
    """How to run: where to write, what to trust, what to compare with (see ``monev score``)."""

    out: Path
    lang: str = "id"
    jobs: int = 1
    pdf: bool = True
    #: Reuse the PDFs of the previous run whose content did not change (``--no-cache``: False).
    cache: bool = True
    as_of: dt.date | None = None
    allow_out_inside_input: bool = False
    links: LinkChecker | None = None
    stages: StagesTable | None = None
    stages_from_workbooks: bool = False
    verifier_from_workbooks: bool = False
    registry: Registry | None = None
    previous: PreviousRun | None = None
    renamed: dict[str, str] = field(default_factory=dict)
    #: rekap.xlsx's indicator sheet: None writes it up to 300 offices (``--indicator-sheet``).
    indicator_sheet: bool | None = None
    scoring_progress: Progress | None = None
    rendering_progress: Progress | None = None


def run_score(inputs: Iterable[str | Path], rubric: Rubric, settings: RunSettings) -> RunResult:
    """Score ``inputs`` with ``rubric`` and write every output of the run into ``settings.out``.

    The folder is switched to the new set only when everything was written; on any error or
    interruption the previous set stays whole and the lock is released.
    """
    inputs = list(inputs)
    if settings.pdf:
        from monev.doctor import pdf_support

        check = pdf_support()  # before any work: never a library error half-way through a run
        if not check.ok:
            raise RunError("cli.no_pdf_support", detail=check.detail)
    folder = OutputFolder.open(
        settings.out, inputs, allow_inside_input=settings.allow_out_inside_input
    )
    prepared: dict[str, Any] = {}

    def prepare(renderer: bool = True) -> None:
        """WeasyPrint, the templates and the render cache, while the workers read (see
        :func:`monev.report.prepare_rendering`); the render workers are forked from here later
        and have them."""
        from monev.report import prepare_rendering

        prepared["cache"] = prepare_rendering(
            settings.lang, folder.cache if settings.cache else None, renderer=renderer
        )

    try:
        # The read cache serves re-runs with PDFs; a --no-pdf run of thousands of workbooks
        # would only write thousands of results into it. Saved after the rendering, as the
        # render cache is: a run killed before leaves both as they were.
        read_cache = None
        # Not with link checks: such a run reads every workbook (score_paths uses no read
        # cache then), and saving its empty cache would remove the previous run's.
        if settings.cache and settings.pdf and settings.links is None:
            from monev.read_cache import ReadCache

            read_cache = ReadCache.open(folder.cache)
        run = score_paths(
            inputs,
            rubric,
            jobs=settings.jobs,
            progress=settings.scoring_progress,
            as_of=settings.as_of,
            links=settings.links,
            stages=settings.stages,
            stages_from_workbooks=settings.stages_from_workbooks,
            verifier_from_workbooks=settings.verifier_from_workbooks,
            registry=settings.registry,
            # WeasyPrint's import (about 0.4 s of CPU), the templates and the render cache's
            # hashes beside the reading, not in the worker that renders the first PDF.
            while_waiting=prepare if settings.pdf else None,
            cache=read_cache,
        )
        if run.received == 0:
            raise RunError("cli.no_inputs")
        if settings.pdf and not prepared:
            # Every workbook came from the read cache (no reading to import WeasyPrint beside):
            # most likely no PDF changed either, and a worker that renders one imports it.
            prepare(renderer=False)
        if settings.previous is not None:
            # Old names in the registry match last year's offices; --rename-map wins.
            renames = (
                settings.registry.renames(set(settings.previous.offices))
                if settings.registry
                else {}
            )
            run.comparison = compare(run, settings.previous, {**renames, **settings.renamed})
        writing = _Beside(
            # beside the rendering, in a process that stop() ends: no copy of it is forked
            functools.partial(write_outputs, fork=not settings.pdf),
            run,
            folder.staging,
            settings.lang,
            settings.indicator_sheet,
            alone=not settings.pdf,
        )
        try:
            if settings.pdf:
                from monev.report import RenderError, render_reports

                try:
                    render_reports(
                        run,
                        folder.staging,
                        lang=settings.lang,
                        jobs=settings.jobs,
                        progress=settings.rendering_progress,
                        cache=prepared.get("cache", folder.cache) if settings.cache else None,
                    )
                except RenderError as exc:  # a renderer died on some PDFs; the others are written
                    run.pdf_failed = list(exc.failed)
                if read_cache is not None:
                    read_cache.save()
            writing.wait()
        finally:
            writing.stop()
        folder.commit()
    finally:
        folder.abort()  # after commit() only releases the lock
    return run


class _Beside:
    """``fn(*args)`` run beside what follows: in a forked process where that is safe (Linux, no
    other thread in this one), else here at once. :meth:`wait` returns when it is done and
    raises what it raised; :meth:`stop` ends it if it still runs (an error or an interruption).

    ``monev score`` writes results.json, ranking.csv and rekap.xlsx this way while the render
    workers make the PDFs (the outputs are files in the staging folder; nothing returns): on a
    re-run that renders one PDF, the writing no longer waits for the rendering or the other way.
    """

    def __init__(self, fn: Any, *args: Any, alone: bool = False) -> None:
        import multiprocessing
        import threading

        self.process: Any = None
        if alone or threading.active_count() > 1 or os.name != "posix" or not _can_fork():
            fn(*args)
            return
        ctx = multiprocessing.get_context("fork")
        self.reader, writer = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_beside_child, args=(writer, fn, args), daemon=True)
        self.process.start()
        writer.close()

    def wait(self) -> None:
        if self.process is None:
            return
        try:
            outcome = self.reader.recv()
        except EOFError:  # the process died without a word (killed)
            outcome = RuntimeError(f"the process writing the outputs ended ({self.process.pid})")
        self.process.join()
        self.process = None
        if isinstance(outcome, BaseException):
            raise outcome

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.kill()
        self.process.join()
        self.process = None


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _beside_child(conn: Any, fn: Any, args: tuple[Any, ...]) -> None:
    import pickle

    try:
        fn(*args)
        outcome: Any = None
    except BaseException as exc:  # handed to the parent, which raises it
        try:
            pickle.dumps(exc)
            outcome = exc
        except Exception:
            outcome = RuntimeError(repr(exc))
    conn.send(outcome)
    conn.close()
