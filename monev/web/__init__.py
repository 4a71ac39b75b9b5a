"""``monev serve``: the city's monev cycle in the browser (issue 14, steps 1 and 2).

Accounts (admin, office, verifier, auditor), invitations, periods, template download, upload and
check; verification, objections, the dashboard and published snapshots. The web
application calls the library for everything about workbooks (reading with its bad-file guards,
scoring, the improvement plan); it implements no rule of its own.

Modules, in the order a request meets them: :mod:`.settings` (where data lives),
:mod:`.db` (tables and migrations), :mod:`.security` (passwords, sessions, CSRF, login limits),
:mod:`.storage` (upload bytes by content hash), :mod:`.checking` (the library's check of one
stored upload), :mod:`.ops` (operator actions shared by the CLI and the pages),
:mod:`.verification` (decisions, stage scores, objections, the decided workbook),
:mod:`.snapshot` (dashboard figures, exported inputs, published snapshots), :mod:`.pages`
(texts, templates, CSRF), :mod:`.staff` (the pages of step 2) and :mod:`.app` (routes).
Nothing here is imported by ``monev --help``.
"""
