"""What a deadline's rush of uploads costs the server beyond the check itself (issue 14, the
load test; wp-webload2). Measured with scripts/web_load.py: work left for the first uploads
after a start (a check worker not yet warm, templates not yet compiled) was paid inside the
burst, by every upload waiting behind it."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette", reason='the web extra is not installed: pip install ".[web]"')

from monev.limits import READ_CPU_SECONDS, READ_MEMORY_BYTES
from monev.sandbox import ProcessLimits, WorkerPool
from monev.web import checking


def test_warm_up_runs_the_check_in_every_worker(monkeypatch):
    """One call after another went to the same worker (the pool reuses an idle worker before
    it starts another): with two workers, the second loaded the reader's modules and the rubric
    during the first uploads. Each worker now runs the warm-up check once."""
    pool = WorkerPool(ProcessLimits(READ_MEMORY_BYTES, READ_CPU_SECONDS), 2)
    monkeypatch.setattr(checking, "WORKERS", pool)
    try:
        warmed = checking.warm_up(["ki-jatim-2024"])
    finally:
        pool.close()
    assert len(warmed) == 2  # two distinct worker processes ran the blank template's check
