"""Benchmark: how fast monev reads and scores workbooks (and renders reports).

    python scripts/benchmark.py                 # demo city + 1,000 generated workbooks
    python scripts/benchmark.py --n 200 --no-pdf

Not a test: the machines are shared and noisy, so read the figures as ratios (monev's calamine
reader against pandas' default openpyxl engine on the same files). Generated workbooks are cached
in bench-out/ so a second run does not generate them again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from monev.batch import score_paths  # noqa: E402
from monev.rubric import load_rubric  # noqa: E402

DEMO = ROOT / "questionnaires" / "contoh"


def generate(folder: Path, n: int) -> None:
    import make_demo

    rubric = load_rubric()
    rng = random.Random(1000)
    have = len(list(folder.glob("*.xlsx"))) if folder.exists() else 0
    if have == n:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for k in range(n):
        stem, name, unit, kec, *_ = make_demo.OFFICES[k % len(make_demo.OFFICES)]
        rate, ev = rng.uniform(0.2, 1.0), rng.uniform(0.3, 1.0)
        wb = make_demo.fill(stem, f"{name} {k:04d}", unit, kec, rate, ev, None, rubric, rng)
        wb.save(folder / f"{k:04d}-{stem}.xlsx")


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def pandas_read(files: list[Path]) -> None:
    import pandas as pd

    for f in files:
        pd.read_excel(f, sheet_name=["Identitas", "Kuesioner"], header=None, engine="openpyxl")


def bench_links(n: int = 300, latency: float = 0.02) -> dict[str, float]:
    """Check n evidence links against a local server that answers each after `latency` s."""
    sys.path.insert(0, str(ROOT / "tests"))
    from httpserver import LocalServer

    from monev.evidence import LinkChecker

    with LocalServer(latency=latency) as server:
        urls = [f"{server.base}/dok/bukti-{k:03d}.pdf" for k in range(n)]
        checker = LinkChecker(cache_path=None, allow_internal=True)  # the server is local
        t = time.perf_counter()
        found = checker.check(urls)
        s = time.perf_counter() - t
    assert len(found) == n and all(c.ok for c in found.values())
    print(f"links: {n} at {latency * 1000:.0f} ms each in {s:.2f} s", file=sys.stderr)
    return {"links_300_20ms_s": round(s, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="generated workbooks (default 1000)")
    ap.add_argument("--no-pdf", action="store_true", help="skip the report benchmark")
    args = ap.parse_args()
    rubric = load_rubric()
    gen = ROOT / "bench-out" / f"gen-{args.n}"
    t = time.perf_counter()
    generate(gen, args.n)
    print(
        f"generated/cached {args.n} workbooks in {time.perf_counter() - t:.1f} s", file=sys.stderr
    )
    results: dict[str, float | int | str] = {
        "cores": os.cpu_count() or 1,
        "python": sys.version.split()[0],
    }
    for label, folder in (("demo", DEMO), (f"gen{args.n}", gen)):
        files = sorted(folder.glob("*.xlsx"))
        n = len(files)
        for jobs in (1, 2):
            s = timed(
                lambda folder=folder, jobs=jobs: score_paths([folder], rubric, jobs=jobs),
                repeat=3 if n < 100 else 1,
            )
            results[f"{label}_score_j{jobs}_s"] = round(s, 3)
            results[f"{label}_score_j{jobs}_per_s"] = round(n / s, 1)
        p = timed(lambda files=files: pandas_read(files))
        results[f"{label}_pandas_openpyxl_read_s"] = round(p, 3)
        results[f"{label}_files"] = n
        print(
            f"{label}: {n} files; monev score 1 job {results[f'{label}_score_j1_s']} s "
            f"({results[f'{label}_score_j1_per_s']}/s), 2 jobs {results[f'{label}_score_j2_s']} s; "
            f"pandas read_excel (openpyxl) alone {p:.3f} s",
            file=sys.stderr,
        )
    results.update(bench_links())
    if not args.no_pdf:
        try:
            from monev.report import render_reports
        except ImportError:
            print("report module not available; skipping PDFs", file=sys.stderr)
        else:
            import statistics

            from monev.report import _init_worker, _render_office_job

            run = score_paths([DEMO], rubric)
            _init_worker(run, "id")
            _render_office_job((0, "warm-up"))  # fonts and templates load once
            each = []
            for k in range(len(run.offices)):
                t = time.perf_counter()
                _render_office_job((k, "x"))
                each.append(time.perf_counter() - t)
            results["office_pdf_median_s"] = round(statistics.median(each), 3)
            results["office_pdf_mean_s"] = round(statistics.mean(each), 3)
            results["office_pdf_max_s"] = round(max(each), 3)
            for jobs in (1, 2):
                with tempfile.TemporaryDirectory() as out:
                    s = timed(lambda out=out, jobs=jobs: render_reports(run, Path(out), jobs=jobs))
                results[f"demo_pdf_j{jobs}_s"] = round(s, 2)
                results[f"demo_pdf_j{jobs}_per_office_s"] = round(s / len(run.offices), 3)
            with tempfile.TemporaryDirectory() as out:
                e2e = timed(
                    lambda out=out: render_reports(
                        score_paths([DEMO], rubric, jobs=2), Path(out), jobs=2
                    )
                )
            results["demo_end_to_end_j2_s"] = round(e2e, 2)
    out = ROOT / "bench-out" / "benchmark.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
