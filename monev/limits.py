"""Every limit monev applies to untrusted input, in one place.

A questionnaire is a few dozen kilobytes: about 100 rows, 10 columns and short texts. The limits
below are far above that and far below what would cost a run gigabytes or minutes. A file beyond a
limit is rejected (its own problem says which limit and the value found); the other files of the
batch are scored. The README's "Limits and safety" section lists the same values.

Input limits are checked by :mod:`monev.scan` before any reader builds a grid; process limits are
applied by :mod:`monev.sandbox` to the worker processes that read and render.
"""

from __future__ import annotations

MIB = 1024 * 1024

# --- one input file ----------------------------------------------------------------------------

MAX_FILE_BYTES = 32 * MIB
"""Size on disk of one input file, checked with ``stat`` before a byte is read (MV111)."""

MAX_ZIP_ENTRIES = 2_000
"""Entries in a workbook's zip directory (MV107)."""

MAX_UNCOMPRESSED = 64 * MIB
"""Uncompressed bytes of a workbook: the sum the zip directory declares, and the bytes actually
read while streaming its XML parts, whatever the directory claims (MV107)."""

MAX_ROWS = 20_000
"""Rows of a sheet the reader loads, up to the last row that holds a value (MV111)."""

MAX_COLUMNS = 500
"""Columns of a sheet the reader loads, up to the last column that holds a value (MV111)."""

MAX_CELLS = 500_000
"""Cells of the grid the reader builds for one sheet: last row x last column, counted from A1
(a value at E5 makes a grid of 5 x 5 = 25 cells) (MV111)."""

MAX_CELL_CHARS = 32_767
"""Characters in one cell (Excel's own limit), shared strings and ODS repeated spaces included
(MV111)."""

MAX_SHARED_STRINGS = 50_000
"""Entries in an .xlsx shared strings table, which the reader loads whole (MV111)."""

MAX_XML_DEPTH = 200
"""Nesting depth of elements in a workbook's XML; real files stay below 20 (MV111)."""

MAX_XML_ELEMENTS = 1_000_000
"""Elements in one XML part of a workbook (MV111); a questionnaire has a few thousand. This bounds
the time of the pre-scan (a few seconds per million elements)."""

# --- worker processes --------------------------------------------------------------------------

READ_MEMORY_BYTES = 1024 * MIB
"""Address space (``RLIMIT_AS``) a worker that reads and scores workbooks may add to what it starts
with (a forked worker starts with its parent's). A file that needs more stops only its worker and
is rejected with MV110."""

READ_CPU_SECONDS = 30
"""CPU seconds one workbook may take to read and score (``RLIMIT_CPU``, per file) (MV110)."""

RENDER_MEMORY_BYTES = 3 * 1024 * MIB
"""Address space (``RLIMIT_AS``) a worker that renders PDF reports may add to what it starts
with."""

RENDER_CPU_SECONDS = 120
"""CPU seconds one PDF report may take to render (``RLIMIT_CPU``, per report)."""
