"""monev: score PPID self-assessment questionnaires for the Komisi Informasi monev.

The pipeline, one module per step::

    rubric   -> load_rubric()             the scoring rules (YAML data, validated)
    workbook -> read_questionnaire()      a filled workbook, checked, with problems
    scoring  -> score()                   exact, pure arithmetic
    results  -> RunResult                 ranked; JSON / CSV / XLSX
    report   -> render_reports()          HTML and PDF readiness reports

Every figure is rounded by one rule (:mod:`monev.rounding`); every text is made safe for where
it is written (:mod:`monev.text`).

``score_paths()`` (in :mod:`monev.batch`) runs the first four over files and folders.
"""

__version__ = "0.2.0"
