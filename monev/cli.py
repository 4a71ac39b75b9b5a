"""The ``monev`` command line: a thin adapter over the library.

Each command parses its options, calls one library function, prints the outcome and exits with a
documented code: 0 all good; 1 some inputs rejected or problems found; 2 usage or rubric error;
3 unexpected error (a bug: a short message, no traceback).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from monev import __version__
from monev.i18n import DEFAULT_LANG, LANGS, fmt_number, t, technical

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3

app = typer.Typer(
    name="monev",
    help="Score PPID self-assessment questionnaires (SAQ) for the Komisi Informasi monev and "
    "render readiness reports. Texts are in Bahasa Indonesia; use --lang en for English.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rubric_app = typer.Typer(
    help="List, show and check rubric files (scoring rules); export and import them as workbooks.",
    no_args_is_help=True,
)
app.add_typer(rubric_app, name="rubric")
offices_app = typer.Typer(
    help="The city's registry of offices: a blank one, or a draft from the workbooks received.",
    no_args_is_help=True,
)
app.add_typer(offices_app, name="offices")
stages_app = typer.Typer(
    help="The verifier's stages file: later-stage scores (visitasi, wawancara) per office.",
    no_args_is_help=True,
)
app.add_typer(stages_app, name="stages")

CheckLinksOpt = Annotated[
    bool,
    typer.Option(
        "--check-links/--offline",
        help="Fetch every evidence link and check evidence files beside each workbook; evidence "
        "that fails counts as none in the verifiable score. Default: offline (no network).",
    ),
]
LinkCacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--link-cache", help="Link-check cache file (default: ~/.cache/monev/links.json)."
    ),
]
LinkAgeOpt = Annotated[
    float, typer.Option("--link-max-age", min=0, help="Hours a cached link result stays valid.")
]
LinkTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--link-timeout",
        min=0.1,
        help="Seconds for each link as a whole (connecting, redirects, body, retries).",
    ),
]
LinkRunTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--link-run-timeout",
        min=1,
        help="Seconds for checking all links of the run; links not reached by then are not "
        "checked and count as they would offline.",
    ),
]
AllowInternalOpt = Annotated[
    bool,
    typer.Option(
        "--allow-internal-links",
        help="Also fetch links whose host resolves to a loopback, private or other internal "
        "address (by default they are not checked and count as they would offline).",
    ),
]
LinkAllowHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--link-allow-host",
        metavar="HOST",
        help="Fetch this host even if it resolves to an internal address (e.g. the city's own "
        "PPID site inside its network). Repeatable.",
    ),
]

VerifierOpt = Annotated[
    bool,
    typer.Option(
        "--verifier-from-workbooks",
        help="The workbooks carry the verifier's pass: a 'Sesuai' (or a graded level) in their "
        "Verifikasi column counts. Without it such a decision, which an office could write "
        "itself, can only lower an item (a warning says so).",
    ),
]

LangOpt = Annotated[
    str,
    typer.Option("--lang", envvar="MONEV_LANG", help="Language of messages and reports: id or en."),
]
RubricOpt = Annotated[
    str, typer.Option("--rubric", "-r", help="Shipped rubric id or path to a rubric YAML file.")
]


def _echo(text: str = "", err: bool = False) -> None:
    typer.echo(text, err=err)


def _lang(lang: str) -> str:
    if lang not in LANGS:
        _echo(t("cli.bad_lang", DEFAULT_LANG, lang=lang), err=True)
        raise typer.Exit(EXIT_USAGE)
    return lang


def _rubric(ref: str, lang: str):
    from monev.rubric import RubricError, load_rubric
    from monev.text import for_terminal

    try:
        return load_rubric(ref)
    except RubricError as exc:
        _echo(f"{t('cli.rubric_error', lang)}:", err=True)
        for line in exc.lines(lang):
            _echo(for_terminal(f"  {line}"), err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _version(value: bool) -> None:
    if value:
        _echo(f"monev {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """monev: readiness for the KI monev of public information openness."""


def _progress(label: str, enabled: bool, *more: str):
    """Progress callbacks drawing one bar on stderr (only on a terminal), and its closer.

    One callback per label: the bar shows the phase whose callback was called last (scoring,
    then rendering), so two phases never draw two live bars at once.
    """
    if not enabled or not sys.stderr.isatty():
        return (*(None for _ in (label, *more)), lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    # Drawn by the callbacks themselves, never by a thread of its own: with a second thread
    # running, the run can no longer fork (workers come from a fork server, rekap.xlsx is not
    # written beside the JSON, the outputs not beside the PDFs), which cost a run in a terminal
    # more than a second on 1,000 workbooks (issue 13). The callers call at most ~10 times a second.
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        auto_refresh=False,
    )
    task = bar.add_task(label, total=None)
    bar.start()
    current = [label]

    def phase(name: str):
        def update(done: int, total: int) -> None:
            if current[0] != name:
                current[0] = name
                bar.reset(task, description=name, total=total)
            bar.update(task, completed=done, total=total)
            bar.refresh()

        return update

    return (*(phase(n) for n in (label, *more)), bar.stop)


#: The terminal shows this many offices of the ranking at most; the rest are counted in one line
#: (ranking.csv and rekap.xlsx have them all): 1,000 rows are no reading, and cost a second.
RANKING_ROWS = 30


def _print_ranking(run, lang: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from monev.compare import gone_note, office_change, previous_label
    from monev.text import for_terminal

    cmp = run.comparison  # --previous: the change of score and rank after the predicate
    change = ("score_change", "rank_change") if cmp is not None else ()
    table = Table(show_lines=False, header_style="bold")
    for key in ("rank", "office", "unit", "score", "predicate", *change):
        justify = "left" if key in ("office", "unit", "predicate") else "right"
        table.add_column(t(f"cli.col.{key}", lang), justify=justify)  # type: ignore[arg-type]
    for key in ("claimed", "verifiable", "problems"):
        table.add_column(t(f"cli.col.{key}", lang), justify="right")
    for o in run.offices[:RANKING_ROWS]:
        s = o.score
        # Text objects: an office name is shown as typed, never read as rich markup or escapes.
        table.add_row(
            *(
                Text(for_terminal(v))
                for v in (
                    str(o.rank),
                    o.name,
                    o.office.unit_type,
                    fmt_number(s.score, lang),
                    s.predicate or "–",  # a rubric without bands
                    *(office_change(cmp, o.file, o.rank, lang) if cmp is not None else ()),
                    fmt_number(s.saq_claimed, lang),
                    fmt_number(s.saq_verifiable, lang),
                    str(len(o.problems)),
                )
            )
        )
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=190 if cmp is not None else 170)
    console.print(table)
    if len(run.offices) > RANKING_ROWS:
        more = fmt_number(len(run.offices) - RANKING_ROWS, lang, 0)
        console.print(Text(for_terminal(t("cli.ranking_more", lang, count=more))))
    if cmp is not None:
        label = previous_label(cmp.previous, lang)
        console.print(Text(for_terminal(t("yoy.compared_with", lang, label=label))))
        if cmp.gone:
            console.print(Text(for_terminal(gone_note(cmp, lang))))


def _print_summary(run, lang: str) -> None:
    """Rejected and skipped files and the summary line: always shown (stderr), even --quiet."""
    from monev.text import for_terminal

    for x in run.rejected:
        _echo(for_terminal(f"{t('cli.rejected', lang)} {x.problems[0].text(lang)}"), err=True)
    for x in run.skipped:
        _echo(for_terminal(x.problems[0].text(lang)), err=True)
    _echo(
        t(
            "cli.summary",
            lang,
            received=run.received,
            scored=len(run.offices),
            rejected=len(run.rejected),
            skipped=len(run.skipped),
        ),
        err=True,
    )


def _link_checker(
    enabled: bool,
    cache: Path | None,
    max_age: float,
    timeout: float,
    lang: str,
    run_timeout: float = 600.0,
    allow_internal: bool = False,
    allow_hosts: list[str] | None = None,
):
    if not enabled:
        return None, lambda: None
    from monev.evidence import LinkChecker, default_cache_path

    update, close = _progress(t("cli.links", lang), True)
    checker = LinkChecker(
        cache_path=cache or default_cache_path(),
        max_age=max_age * 3600,
        timeout=timeout,
        progress=update,
        run_timeout=run_timeout,
        allow_internal=allow_internal,
        allow_hosts=tuple(allow_hosts or ()),
    )
    return checker, close


@app.command()
def score(
    inputs: Annotated[
        list[Path], typer.Argument(help="Workbooks (.xlsx, .ods) or folders to search.")
    ],
    rubric: RubricOpt = "ki-jatim-2024",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for results and reports.")
    ] = Path("hasil"),
    lang: LangOpt = DEFAULT_LANG,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0 = all cores).")
    ] = 0,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Skip the PDF reports.")] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Read every workbook and render every PDF again instead of reusing the "
            "unchanged results and PDFs kept in the output folder's .cache.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Report date YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else today)."
        ),
    ] = None,
    allow_out_inside: Annotated[
        bool,
        typer.Option(
            "--allow-out-inside-input",
            hidden=False,
            help="Allow the output folder inside an input folder.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Hide progress bars and the ranking table (rejected and skipped files and the "
            "summary line are always printed, on stderr).",
        ),
    ] = False,
    check_links: CheckLinksOpt = False,
    link_cache: LinkCacheOpt = None,
    link_max_age: LinkAgeOpt = 24.0,
    link_timeout: LinkTimeoutOpt = 10.0,
    link_run_timeout: LinkRunTimeoutOpt = 600.0,
    allow_internal_links: AllowInternalOpt = False,
    link_allow_host: LinkAllowHostOpt = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous", help="Last year's results.json (or folder of workbooks) to compare with."
        ),
    ] = None,
    rename_map: Annotated[
        Path | None,
        typer.Option(
            "--rename-map", help="YAML mapping 'old office name: new name' for renamed offices."
        ),
    ] = None,
    offices: Annotated[
        Path | None,
        typer.Option(
            "--offices",
            help="The city's registry of offices (.xlsx or .csv): workbooks are matched to it, "
            "offices not in it are rejected, offices that sent nothing are listed.",
        ),
    ] = None,
    stages: Annotated[
        Path | None,
        typer.Option(
            "--stages",
            help="The verifier's stages file (.xlsx or .csv): office name and one column per "
            "later stage (see 'monev stages template').",
        ),
    ] = None,
    stages_from_workbooks: Annotated[
        bool,
        typer.Option(
            "--stages-from-workbooks",
            help="Also take stage scores typed on the offices' Identitas sheets (the stages file "
            "wins). Without it they are ignored with a warning.",
        ),
    ] = False,
    verifier_from_workbooks: VerifierOpt = False,
    indicator_sheet: Annotated[
        bool | None,
        typer.Option(
            "--indicator-sheet/--no-indicator-sheet",
            help="Write the Indicators sheet of rekap.xlsx (one row per office and indicator). "
            "Without this option the sheet is written for up to 300 offices.",
        ),
    ] = None,
) -> None:
    """Score every questionnaire and write results.json, ranking.csv, rekap.xlsx and PDF reports.

    Exit codes: 0 all inputs scored; 1 some inputs rejected (the rest are still scored and
    written) or some PDFs could not be rendered (named; the rest are written); 2 usage or rubric
    error.
    """
    import os

    from monev.run import USAGE_ERRORS, RunSettings, run_score, usage_message

    lang = _lang(lang)
    day = _run_date(as_of, lang)
    rb = _rubric(rubric, lang)
    table = _stages_table(stages, rb, lang) if stages is not None else None
    registry = _registry(offices, rb, lang) if offices is not None else None
    last_year, renamed = _previous(previous, rename_map, rb, lang)
    workers = jobs or os.cpu_count() or 1
    links, close_links = _link_checker(
        check_links,
        link_cache,
        link_max_age,
        link_timeout,
        lang,
        link_run_timeout,
        allow_internal_links,
        link_allow_host,
    )
    scoring, rendering, close_progress = _progress(
        t("cli.scoring", lang), not quiet, t("cli.rendering", lang)
    )
    settings = RunSettings(
        out=out,
        lang=lang,
        jobs=workers,
        pdf=not no_pdf,
        cache=not no_cache,
        as_of=day,
        allow_out_inside_input=allow_out_inside,
        links=links,
        stages=table,
        stages_from_workbooks=stages_from_workbooks,
        verifier_from_workbooks=verifier_from_workbooks,
        registry=registry,
        previous=last_year,
        renamed=renamed,
        indicator_sheet=indicator_sheet,
        scoring_progress=scoring,
        rendering_progress=rendering,
    )
    try:
        run = run_score(inputs, rb, settings)
    except USAGE_ERRORS as exc:
        _echo(usage_message(exc, lang), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        close_progress()
        close_links()
    if not quiet:
        _print_ranking(run, lang)
    _print_summary(run, lang)
    stage_problems = run.stages_source.problems if run.stages_source else ()
    for p in stage_problems:
        severity = t(f"severity.{p.severity}", lang)
        _echo(f"{t('cli.stages_problems', lang)}: {severity} {p.text(lang)}", err=True)
    if run.coverage is not None:
        for line in run.coverage.lines(run.missing, lang):
            _echo(line, err=True)
    _echo(t("cli.written", lang, path=out))
    if run.pdf_failed:
        _echo(t("report.pdf_failed", lang, files=", ".join(run.pdf_failed)), err=True)
    raise typer.Exit(EXIT_PROBLEMS if run.needs_attention else EXIT_OK)


@app.command()
def rekap(
    results: Annotated[Path, typer.Argument(help="A run's results.json (monev score).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The .xlsx file to write.")] = Path(
        "rekap-indikator.xlsx"
    ),
    lang: LangOpt = DEFAULT_LANG,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write the Indicators sheet from results.json into an .xlsx file, without scoring again."""
    import json
    from decimal import Decimal

    from monev.outputs import write_atomic
    from monev.results import indicator_sheet_from_json, write_xlsx

    lang = _lang(lang)
    if not force and (out.exists() or out.is_symlink()):
        _echo(t("cli.template_exists", lang, path=out), err=True)
        raise typer.Exit(EXIT_USAGE)
    if not results.is_file():
        _echo(t("cli.missing_input", lang, path=results), err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        with results.open("rb") as fh:
            spec = indicator_sheet_from_json(json.load(fh, parse_float=Decimal), lang)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = technical(exc)
        _echo(t("cli.rekap.bad_results", lang, path=results, reason=reason), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    write_atomic(out, write_xlsx([spec], lang))
    _echo(t("cli.rekap.written", lang, rows=fmt_number(len(spec.rows), lang, 0), path=out))


def _stages_table(path: Path, rb, lang: str):
    """The stages file, read and checked; exit 2 when it cannot be used at all."""
    from monev.stages import StagesError, load_stages

    try:
        return load_stages(path, rb)
    except StagesError as exc:
        for p in exc.problems:
            _echo(f"--stages: {p.text(lang)}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _run_date(as_of: str | None, lang: str) -> dt.date:
    """--as-of, else SOURCE_DATE_EPOCH, else today; a bad value is a usage error."""
    from monev.batch import DateError, as_of_date, parse_day

    try:
        return parse_day(as_of) if as_of is not None else as_of_date()
    except DateError as exc:
        key = "cli.bad_as_of" if exc.source == "--as-of" else "cli.bad_epoch"
        _echo(t(key, lang, value=exc.value), err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _previous(previous: Path | None, rename_map: Path | None, rb, lang: str):
    """Last year's run and the rename map, both checked before any scoring."""
    from monev.compare import PreviousError, load_mapping, load_previous

    if previous is None and rename_map is None:
        return None, {}
    option = "--rename-map"
    try:
        renamed = load_mapping(rename_map)
        option = "--previous"
        return (load_previous(previous, rb) if previous is not None else None), renamed
    except PreviousError as exc:
        _echo(f"{option}: {exc.text(lang)}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Filled workbooks (or folders) to check.")],
    rubric: RubricOpt = "ki-jatim-2024",
    lang: LangOpt = DEFAULT_LANG,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the library's result as JSON.")
    ] = False,
    check_links: CheckLinksOpt = False,
    link_cache: LinkCacheOpt = None,
    link_max_age: LinkAgeOpt = 24.0,
    link_timeout: LinkTimeoutOpt = 10.0,
    verifier_from_workbooks: VerifierOpt = False,
    link_run_timeout: LinkRunTimeoutOpt = 600.0,
    allow_internal_links: AllowInternalOpt = False,
    link_allow_host: LinkAllowHostOpt = None,
) -> None:
    """Check filled questionnaires before sending them: every problem with its cell and what to do.

    Exit codes: 0 no problems; 1 problems found; 2 usage error.
    """
    from monev.check import check_file
    from monev.inputs import InputError, collect

    lang = _lang(lang)
    rb = _rubric(rubric, lang)
    try:
        paths = collect(files)
    except InputError as exc:
        _echo(t(exc.key, lang, path=exc.path), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if not paths:
        _echo(t("cli.no_inputs", lang), err=True)
        raise typer.Exit(EXIT_USAGE)
    links, close_links = _link_checker(
        check_links,
        link_cache,
        link_max_age,
        link_timeout,
        lang,
        link_run_timeout,
        allow_internal_links,
        link_allow_host,
    )
    try:
        reports = [
            check_file(p, rb, links, verifier_from_workbooks=verifier_from_workbooks) for p in paths
        ]
    finally:
        close_links()
    if as_json:
        from monev.results import dumps

        # dumps: a file name that is not UTF-8 is written as \\udcXX escapes, never a crash.
        _echo(dumps([r.to_dict(lang) for r in reports]))
    else:
        for r in reports:
            _echo(r.text(lang))
    raise typer.Exit(EXIT_PROBLEMS if any(r.problems for r in reports) else EXIT_OK)


@app.command()
def template(
    office: Annotated[str, typer.Option("--office", help="Office name to prefill.")] = "",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Workbook to write (.xlsx).")
    ] = Path("kuesioner.xlsx"),
    rubric: RubricOpt = "ki-jatim-2024",
    unit_type: Annotated[
        str, typer.Option("--unit-type", help="PPID Utama, OPD, Kecamatan or Kelurahan.")
    ] = "",
    lang: LangOpt = DEFAULT_LANG,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A filled workbook whose answers and verifier columns to carry over."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite the output file if it exists.")
    ] = False,
) -> None:
    """Write the blank questionnaire workbook for one office.

    With --from, answers, evidence, notes and the verifier's columns of a filled workbook are
    carried over into the new template (e.g. for a new rubric version). An existing file is
    never overwritten without --force.

    Exit codes: 0 written; 1 the --from workbook is rejected (nothing written); 2 usage error.
    """
    from monev.template import SourceRejected, write_template

    lang = _lang(lang)
    if output.suffix.lower() != ".xlsx":
        _echo(t("cli.template_suffix", lang, suffix=output.suffix or output.name), err=True)
        raise typer.Exit(EXIT_USAGE)
    if not force and (output.exists() or output.is_symlink()):
        _echo(t("cli.template_exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE)
    rb = _rubric(rubric, lang)
    if source is not None and not source.is_file():
        _echo(t("cli.missing_input", lang, path=source), err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        path = write_template(
            rb,
            output,
            office=office,
            unit_type=unit_type,
            source=source,
            overwrite=force,
            lang=lang,
        )
    except FileExistsError:
        _echo(t("cli.template_exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except SourceRejected as exc:
        _echo(t("cli.template_source_rejected", lang, path=source), err=True)
        for problem in exc.problems:
            _echo(f"  {problem.text(lang)}", err=True)
        raise typer.Exit(EXIT_PROBLEMS) from None
    _echo(t("cli.template_written", lang, office=office or "-", path=path))


def _registry(path: Path, rb, lang: str):
    """Load the --offices registry; any bad row stops the run (exit 2), every one shown."""
    from monev.problems import sort_key
    from monev.registry import load_registry

    reg = load_registry(path, unit_types=rb.unit_types)
    if not reg.usable:
        _echo(f"{t('registry.unusable', lang)}:", err=True)
        for p in sorted(reg.problems, key=sort_key):
            _echo(f"  {p.text(lang)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    return reg


def _write_registry(output: Path, entries: list, force: bool, rb, lang: str) -> None:
    from monev.registry import write_registry

    try:
        write_registry(output, entries, force=force, lang=lang, unit_types=rb.unit_types)
    except FileExistsError:
        _echo(t("registry.exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except ValueError:
        _echo(t("registry.bad_output", lang, suffix=output.suffix or output.name), err=True)
        raise typer.Exit(EXIT_USAGE) from None


ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")]


@offices_app.command("template")
def offices_template(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Registry to write (.xlsx or .csv).")
    ] = Path("daftar.xlsx"),
    force: ForceOpt = False,
    rubric: RubricOpt = "ki-jatim-2024",
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Write a blank registry of offices, with instructions and a Jenis Unit drop-down (the
    rubric's unit types)."""
    lang = _lang(lang)
    _write_registry(output, [], force, _rubric(rubric, lang), lang)
    _echo(t("registry.template_written", lang, path=output))


@offices_app.command("from")
def offices_from(
    inputs: Annotated[list[Path], typer.Argument(help="Workbooks or folders received.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Registry to write (.xlsx or .csv).")
    ] = Path("daftar.xlsx"),
    force: ForceOpt = False,
    rubric: RubricOpt = "ki-jatim-2024",
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Draft a registry from the workbooks received: each one's name, unit type and kecamatan
    (one row per office: workbooks of one office are merged)."""
    from monev.inputs import InputError
    from monev.registry import draft_from_folder

    lang = _lang(lang)
    rb = _rubric(rubric, lang)
    if output.exists() and not force:
        _echo(t("registry.exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        draft = draft_from_folder(inputs, rb)
    except InputError as exc:
        _echo(t(exc.key, lang, path=exc.path), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    _write_registry(output, draft.entries, force, rb, lang)
    if draft.unused:
        _echo(t("registry.draft_unused", lang), err=True)
        for p in draft.unused:
            _echo(f"  {p.text(lang)}", err=True)
    _echo(
        t(
            "registry.draft_written",
            lang,
            offices=len(draft.entries),
            workbooks=draft.workbooks,
            path=output,
        )
    )


@stages_app.command("template")
def stages_template(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(help="Workbooks or folders of the run: one row per office."),
    ] = None,
    rubric: RubricOpt = "ki-jatim-2024",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Stages file to write (.xlsx or .csv).")
    ] = Path("tahapan.xlsx"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Write the stages file for the offices of a run, prefilled from stage scores found in
    their workbooks, with instructions. Exit 2 when the file exists (without --force)."""
    from monev.inputs import InputError
    from monev.stages import rows_for_run, write_stages_template

    lang = _lang(lang)
    rb = _rubric(rubric, lang)
    if output.suffix.lower() not in (".xlsx", ".csv"):
        _echo(t("cli.stages_suffix", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE)
    if output.exists() and not force:
        _echo(t("cli.stages_exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        rows, rejected = rows_for_run(inputs or [], rb, exclude=output)
    except InputError as exc:
        _echo(t(exc.key, lang, path=exc.path), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    for problem in rejected:
        _echo(f"{t('cli.rejected', lang)} {problem.text(lang)}", err=True)
    try:
        write_stages_template(output, rb, rows, lang=lang, overwrite=force)
    except FileExistsError:  # appeared while the workbooks were read
        _echo(t("cli.stages_exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    prefilled = sum(bool(r.values) for r in rows)
    _echo(t("cli.stages_written", lang, path=output, offices=len(rows), prefilled=prefilled))


@rubric_app.command("list")
def rubric_list(lang: LangOpt = DEFAULT_LANG) -> None:
    """List the shipped rubrics."""
    from monev.rubric import load_rubric, shipped

    lang = _lang(lang)
    for rid in shipped():
        r = load_rubric(rid)
        flag = f" {t('rubric.list.reconstructed', lang)}" if r.reconstructed else ""
        count = t("rubric.list.indicators", lang, count=len(r.indicators))
        _echo(f"{r.id}\t{r.version}\t{count}\t{r.title}{flag}")


@rubric_app.command("show")
def rubric_show(
    ref: Annotated[str, typer.Argument(help="Rubric id or path.")],
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Show a rubric's aspects, weights, indicators, predicates and stages."""
    lang = _lang(lang)
    rb = _rubric(ref, lang)
    _echo(f"{rb.id} {rb.version}: {rb.title}")
    _echo(f"sha256 {rb.sha256}")
    if rb.source_notes:  # data written in the rubric file, in the rubric author's language
        _echo(f"{t('rubric.show.notes', lang)}: {rb.source_notes}")
    for a in rb.aspects:
        _echo(f"\n{a.code} {a.name} ({fmt_number(a.weight, lang, 0)}%)")
        for i in rb.indicators_of(a.code):
            _echo(f"  {i.code:7} [{t(f'rubric.type.{i.answer.type}', lang)}] {i.question}")
    bands = ", ".join(f"{b.name} >= {fmt_number(b.min, lang, 0)}" for b in rb.predicates)
    _echo(f"\n{t('rubric.show.predicates', lang)}: {bands}")
    stages = ", ".join(
        f"{s.code} {fmt_number(s.weight, lang, 0)}%"
        + (
            " ("
            + t("rubric.show.gate", lang, stage=s.gate.stage, min=fmt_number(s.gate.min, lang, 0))
            + ")"
            if s.gate
            else ""
        )
        for s in rb.stages
    )
    _echo(f"{t('rubric.show.stages', lang)}: {stages}")


@rubric_app.command("check")
def rubric_check(
    file: Annotated[Path, typer.Argument(help="Rubric YAML file to validate.")],
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Validate a rubric file; every bad value is named with its path. Exit 2 when invalid."""
    lang = _lang(lang)
    rb = _rubric(str(file), lang)
    _echo(
        t(
            "cli.rubric_ok",
            lang,
            id=rb.id,
            version=rb.version,
            aspects=len(rb.aspects),
            indicators=len(rb.indicators),
        )
    )


@rubric_app.command("export")
def rubric_export(
    ref: Annotated[str, typer.Argument(help="Rubric id or path.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Rubric workbook to write (.xlsx).")
    ] = Path("rubrik.xlsx"),
    force: ForceOpt = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Write a rubric as a workbook staff can edit (then `rubric import` it back).

    Exit codes: 0 written; 2 usage or rubric error (an existing file needs --force)."""
    from monev.rubric_book import export_book

    lang = _lang(lang)
    if output.suffix.lower() != ".xlsx":
        _echo(
            t("rbook.bad_suffix", lang, want=".xlsx", suffix=output.suffix or output.name), err=True
        )
        raise typer.Exit(EXIT_USAGE)
    if not force and (output.exists() or output.is_symlink()):
        _echo(t("rbook.exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE)
    rb = _rubric(ref, lang)
    try:
        export_book(rb, output, lang=lang)
    except OSError as exc:
        _echo(t("rbook.cannot_write", lang, path=output, reason=exc.strerror or exc), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    _echo(t("rbook.exported", lang, id=rb.id, path=output, indicators=len(rb.indicators)))


@rubric_app.command("import")
def rubric_import(
    book: Annotated[Path, typer.Argument(help="Rubric workbook (.xlsx or .ods) to read.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Rubric YAML file to write.")
    ] = Path("rubrik.yaml"),
    force: ForceOpt = False,
    lang: LangOpt = DEFAULT_LANG,
) -> None:
    """Read a rubric workbook, check it as a rubric file is checked, and write it as YAML.

    Every mistake is named with its sheet and cell; nothing is written when there is one.
    Exit codes: 0 written; 1 the workbook has mistakes; 2 usage error."""
    from monev.rubric_book import import_book

    lang = _lang(lang)
    if output.suffix.lower() not in (".yaml", ".yml"):
        _echo(
            t("rbook.bad_suffix", lang, want=".yaml", suffix=output.suffix or output.name), err=True
        )
        raise typer.Exit(EXIT_USAGE)
    if not book.is_file():
        _echo(t("cli.missing_input", lang, path=book), err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        result = import_book(book, output, overwrite=force, lang=lang)
    except FileExistsError:
        _echo(t("rbook.exists", lang, path=output), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:
        _echo(t("rbook.cannot_write", lang, path=output, reason=exc.strerror or exc), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if result.rubric is None or result.problems:
        _echo(t("rbook.rejected", lang, path=book, count=len(result.problems)), err=True)
        for problem in result.problems:
            _echo(f"  {problem.text(lang)}", err=True)
        raise typer.Exit(EXIT_PROBLEMS)
    rb = result.rubric
    _echo(
        t(
            "rbook.imported",
            lang,
            id=rb.id,
            version=rb.version,
            path=output,
            indicators=len(rb.indicators),
        )
    )


# --- web front end (issue 14): the web package is imported only when these commands run ------

web_app = typer.Typer(
    help="Operate the web front end: first admin, office invitations.", no_args_is_help=True
)
app.add_typer(web_app, name="web")
DataOpt = Annotated[
    Path, typer.Option("--data", help="Data folder: database (SQLite) and uploaded files.")
]
DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: SQLite inside the data folder)."),
]
BaseUrlOpt = Annotated[
    str, typer.Option("--base-url", help="Address offices open, used in invitation links.")
]


@app.command()
def serve(
    data: DataOpt = Path("monev-data"),
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    db: DbOpt = None,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="Largest upload accepted, in MB.")
    ] = 10,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="Public address (behind a proxy); default http://HOST:PORT."
        ),
    ] = None,
    pdf_workers: Annotated[
        int,
        typer.Option(
            "--pdf-workers", min=1, max=8, help="Processes rendering office PDFs in the background."
        ),
    ] = 1,
) -> None:
    """Start the web application (needs the web extra); migrations are applied on start."""
    from monev.web.app import serve as run
    from monev.web.ops import OpError
    from monev.web.settings import Settings

    settings = Settings.for_data_dir(
        data,
        db,
        max_upload=max_upload_mb * 1024 * 1024,
        base_url=base_url or f"http://{host}:{port}",
        secure_cookies=(base_url or "").startswith("https://"),
        render_workers=pdf_workers,
    )
    try:
        run(settings, host, port)
    except OpError as exc:
        raise _web_error(exc) from None


def _web_store(data: Path, db: str | None, base_url: str = "http://127.0.0.1:8000"):
    from monev.web.ops import OpError, Store
    from monev.web.settings import Settings

    try:
        return Store(Settings.for_data_dir(data, db, base_url=base_url))
    except OpError as exc:
        raise _web_error(exc) from None


def _web_lang() -> str:
    """The language of a `monev web` command's messages: MONEV_LANG (these commands take no
    --lang), else Indonesian."""
    from monev.cli_lang import run_lang

    return run_lang(None)


def _web_error(exc) -> typer.Exit:
    from monev.web.app import wt

    _echo(wt(exc.key, _web_lang(), **exc.params), err=True)
    return typer.Exit(EXIT_PROBLEMS)


@web_app.command("backup")
def web_backup(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Archive to write (default monev-backup-DATE.tar.gz)."),
    ] = None,
    data: DataOpt = Path("monev-data"),
    db: DbOpt = None,
) -> None:
    """Back up the database and the uploaded files into one .tar.gz, while the server runs."""
    from monev.web.app import wt
    from monev.web.backup import BackupError, default_name, make_backup
    from monev.web.settings import Settings

    if not data.is_dir():
        _echo(wt("web.backup.no_data", _web_lang(), path=str(data)), err=True)
        raise typer.Exit(EXIT_USAGE)
    try:
        done = make_backup(Settings.for_data_dir(data, db), out or Path(default_name()))
    except BackupError as exc:
        raise _web_error(exc) from None
    size = f"{done.size / 2**20:.1f}".replace(".", ",")
    _echo(
        wt(
            "web.backup.done",
            _web_lang(),
            path=str(done.path),
            files=done.files,
            size=size,
            database=done.database,
        )
    )


@web_app.command("create-admin")
def web_create_admin(
    email: Annotated[str, typer.Option("--email", help="The admin's e-mail (login name).")],
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            exists=True,
            dir_okay=False,
            help="Read the password from this file (first line).",
        ),
    ] = None,
    data: DataOpt = Path("monev-data"),
    db: DbOpt = None,
) -> None:
    """Create an admin account (password from a file, or asked for without echo)."""
    from monev.web.ops import OpError, create_admin

    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    else:
        from monev.cli_lang import run_lang

        lang = run_lang(sys.argv[1:])  # MONEV_LANG: the web commands have no --lang
        password = typer.prompt(
            t("cli.password_prompt", lang),
            hide_input=True,
            confirmation_prompt=t("cli.password_repeat", lang),
        )
    store = _web_store(data, db)
    try:
        with store.session() as s:
            create_admin(s, email, password)
    except OpError as exc:
        raise _web_error(exc) from None
    _echo(f"admin {email.strip().casefold()}")


@web_app.command("invite")
def web_invite(
    office: Annotated[
        list[str] | None, typer.Option("--office", help="Office name. Repeatable.")
    ] = None,
    offices: Annotated[
        Path | None,
        typer.Option(
            "--offices", help="File: one office name per line, or a 'Nama Kantor' column."
        ),
    ] = None,
    data: DataOpt = Path("monev-data"),
    db: DbOpt = None,
    base_url: BaseUrlOpt = "http://127.0.0.1:8000",
) -> None:
    """Print one single-use, expiring invitation link per office (tab-separated)."""
    from monev.web.ops import OpError, invite, read_office_list

    names = list(office or [])
    if offices is not None:
        names += read_office_list(offices)
    if not names:
        _echo("--office or --offices", err=True)
        raise typer.Exit(EXIT_USAGE)
    store = _web_store(data, db, base_url)
    try:
        with store.session() as s:
            links = [invite(s, store.settings, None, n) for n in names]
    except OpError as exc:
        raise _web_error(exc) from None
    for o, link in links:
        _echo(f"{o.name}\t{link}")


@web_app.command("prune-pdfs")
def web_prune_pdfs(
    older_than_days: Annotated[
        int, typer.Option("--older-than-days", min=1, help="Only PDFs made this many days ago.")
    ] = 30,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
    data: DataOpt = Path("monev-data"),
    db: DbOpt = None,
) -> None:
    """Remove the stored PDFs of superseded uploads (never an office's latest, never a
    published snapshot's)."""
    import datetime as dt

    from monev.web.app import wt
    from monev.web.rendering import prune_pdfs

    if not data.is_dir():  # never a new, empty data folder
        _echo(wt("web.backup.no_data", _web_lang(), path=str(data)), err=True)
        raise typer.Exit(EXIT_USAGE)
    store = _web_store(data, db)
    done = prune_pdfs(store, dt.timedelta(days=older_than_days), dry_run=dry_run)
    size = f"{done.size / 2**20:.1f}".replace(".", ",")
    key = "web.prune.dry_run" if dry_run else "web.prune.done"
    _echo(wt(key, _web_lang(), files=done.files, size=size, jobs=done.jobs))


@app.command()
def doctor(
    lang: LangOpt = DEFAULT_LANG,
    render: Annotated[
        bool, typer.Option("--render/--no-render", help="Render a test PDF and time it.")
    ] = True,
) -> None:
    """Check this computer: Python, WeasyPrint and Pango (PDF reports), a test PDF's time,
    HarfBuzz-Subset, LibreOffice, poppler and monev's cache folder. Exit 1 when PDFs cannot be
    made."""
    from monev.doctor import INSTALL, diagnose

    lang = _lang(lang)
    checks = diagnose(render=render)
    for c in checks:
        state = t(c.state or ("cli.doctor.ok" if c.ok else "cli.doctor.missing"), lang)
        # A failure's detail is the library's own text: labelled, after the state word.
        plain = c.ok or c.detail == "-" or c.notes
        detail = c.detail if plain else t("text.technical", lang, detail=c.detail)
        _echo(f"{c.name:16} {state:10} {detail}")
        for key, params in c.notes:
            _echo(f"  {t(key, lang, **params)}")
    pdf_ok = all(c.ok for c in checks if c.name in ("weasyprint", "test-pdf"))
    if pdf_ok:
        _echo(t("cli.doctor.summary_ok", lang))
        raise typer.Exit(EXIT_OK)
    _echo(t("cli.doctor.install", lang))
    for system, command in INSTALL.items():
        _echo(f"  {system}: {command}")
    _echo(t("cli.doctor.summary_no_pdf", lang))
    raise typer.Exit(EXIT_PROBLEMS)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and map every outcome to an exit code.

    Help texts and the parser's own messages follow the run's language (``--lang``, else
    ``MONEV_LANG``, else id): :mod:`monev.cli_lang`.
    """
    from typer.main import get_command

    from monev.cli_lang import help_requested, localise, localise_help_page, run_lang

    args = list(sys.argv[1:] if argv is None else argv)
    lang = run_lang(args)
    command = get_command(app)
    localise(command, lang)
    groups = {n for n, c in getattr(command, "commands", {}).items() if hasattr(c, "commands")}
    if help_requested(args, groups):
        localise_help_page(lang)
    try:
        rc = command.main(args=args, prog_name="monev", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # click's own exits
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return 130
    except typer.Abort:
        return 130
    except Exception as exc:  # a bug: say so briefly, without a traceback (MONEV_DEBUG=1 shows it)
        import os

        # Usage errors are click's (vendored by newer typer): shown in the run's language.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            _usage_error(exc, lang)
            return EXIT_USAGE
        if os.environ.get("MONEV_DEBUG"):
            raise
        from monev.i18n import technical

        _echo(t("cli.unexpected", lang, error=technical(exc, 300)), err=True)
        return EXIT_BUG
    return rc if isinstance(rc, int) else EXIT_OK


def _usage_error(exc: Exception, lang: str) -> None:
    from monev.cli_lang import usage_error_text

    if type(exc).__name__ == "NoArgsIsHelpError":  # a group without its command: the help page
        exc.show()  # type: ignore[attr-defined]
        return
    _echo(usage_error_text(exc, lang), err=True)


if __name__ == "__main__":
    sys.exit(main())
