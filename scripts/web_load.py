"""Load test of the web front end (issue 14): N offices upload at once shortly before the deadline.

What it does, all on loopback and bounded in time (it stops by itself):
1. makes a fresh data folder, the first admin, an open period whose deadline is just past the
   script's own time limit (on a busy machine the set-up alone, 100 argon2 hashes, can take
   two minutes: a nearer deadline closed the period before the uploads and lost them all),
   and N offices with their invitations (through the library, as `monev web` does);
2. starts `monev serve` as its own process (what a city runs), on a free port;
3. logs every office in through its invitation link (each its own cookie jar);
4. builds one distinct workbook per office (the demo's answers, the office's own name, so no
   two uploads share a hash or a cache entry);
5. releases all N uploads at the same moment and times each upload request (the check of the
   workbook happens inside that request);
6. checks that every upload was stored and checked and is visible on the office's result page.

    python scripts/web_load.py            # 100 offices, SQLite in a temporary folder
    python scripts/web_load.py --offices 20 --db postgresql://monev:…@127.0.0.1/monev_load

Prints the p50/p95/max of the upload request and says whether the target (p95 under 3 s) was
met, with the server's CPU per upload split into its event loop, its request threads and its
worker processes (from /proc), and the CPU of the script's own clients, which share the cores.
Needs the web extra and httpx. Not a test: the figures depend on the machine; compare with
another branch side by side, alternating runs, and compare CPU per upload rather than seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "questionnaires" / "contoh"
TARGET_P95 = 3.0
PASSWORD = "kata-sandi-kantor-uji-beban"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def workbook_for(template: Path, office: str) -> bytes:
    """The demo workbook ``template`` with ``office`` as the office name."""
    import openpyxl

    wb = openpyxl.load_workbook(template)
    ws = wb["Identitas"]
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == "Nama Kantor":
            ws.cell(row=row[0].row, column=2, value=office)
            break
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by process ``root`` and its live descendants (the
    server's worker processes), from /proc; 0 where there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, t in times.items():
        p = pid
        while p > 1 and p != root:
            p = parents.get(p, 0)
        if p == root:
            total += t
    return total


def thread_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) used so far by process ``pid``'s main thread (the server's
    event loop) and by its other threads (request handlers, the PDF renderer's threads)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    main = others = 0.0
    for entry in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if entry.parent.name == str(pid):
            main += used
        else:
            others += used
    return main, others


def percentile(ordered: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted figures (p95 of 100: the 95th)."""
    return ordered[max(0, round(q * len(ordered)) - 1)]


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    if not m:
        raise SystemExit("no CSRF token on the page: has the login or office page changed?")
    return m.group(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offices", type=int, default=100)
    ap.add_argument("--db", default=None, help="database URL (default: SQLite in the folder)")
    ap.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    ap.add_argument("--keep", action="store_true", help="keep the data folder")
    args = ap.parse_args()

    import httpx

    from monev.web.db import Upload
    from monev.web.ops import Store, create_admin, invite, open_period
    from monev.web.settings import Settings

    started = time.monotonic()
    data = Path(tempfile.mkdtemp(prefix="monev-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings.for_data_dir(data, args.db, base_url=base)
    store = Store(settings)
    wib = dt.timezone(dt.timedelta(hours=7))
    deadline = dt.datetime.now(wib) + dt.timedelta(seconds=args.timeout + 120)
    names = [f"Kelurahan Uji Beban {i:03d}" for i in range(args.offices)]
    with store.session() as db:
        admin = create_admin(db, "admin@uji.kota.go.id", "kata-sandi-admin-uji")
        open_period(
            db, admin, dt.date.today().year, "ki-jatim-2024", f"{deadline:%Y-%m-%dT%H:%M}", "WIB"
        )
        links = [invite(db, settings, admin, n)[1] for n in names]
    store.engine.dispose()

    demo = sorted(DEMO.glob("*.xlsx"))
    books = [workbook_for(demo[i % len(demo)], n) for i, n in enumerate(names)]

    env = dict(os.environ)
    if args.db:
        env["MONEV_WEB_DB"] = args.db
    cmd = [sys.executable, "-m", "monev", "serve", "--data", str(data), "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watchdog = threading.Timer(args.timeout, server.kill)  # bounded, whatever happens below
    watchdog.start()
    clients: list[httpx.Client] = []
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    raise SystemExit("monev serve did not start") from None
                time.sleep(0.2)
        print(f"set-up: {args.offices} offices, server on {base}", flush=True)

        def activate(i: int) -> httpx.Client:
            c = httpx.Client(base_url=base, timeout=120, follow_redirects=True)
            path = links[i].split(base, 1)[1]
            email = f"kantor{i:03d}@uji.kota.go.id"
            form = {"csrf": csrf_of(c.get(path).text), "email": email}
            r = c.post(path, data={**form, "password": PASSWORD, "password2": PASSWORD})
            if r.url.path != "/office":
                raise SystemExit(f"invitation {i} did not log in: {r.status_code} {r.url}")
            return c

        with ThreadPoolExecutor(4) as pool:  # argon2 hashing: a few at a time
            clients = list(pool.map(activate, range(args.offices)))
        tokens = [csrf_of(c.get("/office").text) for c in clients]

        gate = threading.Barrier(args.offices)
        timings: list[float] = [0.0] * args.offices  # the POST until its response
        shown: list[float] = [0.0] * args.offices  # ... and the result page it leads to
        codes: list[int] = [0] * args.offices

        def upload(i: int) -> None:
            gate.wait()
            t0 = time.perf_counter()
            r = clients[i].post(
                "/office/uploads",
                data={"csrf": tokens[i]},
                files={"file": (f"kuesioner-{i:03d}.xlsx", books[i])},
                follow_redirects=False,
            )
            timings[i] = time.perf_counter() - t0
            where = r.headers.get("location", "")
            if r.status_code != 303 or not where.startswith("/uploads/"):
                codes[i] = -r.status_code
                return
            page = clients[i].get(where)
            shown[i] = time.perf_counter() - t0
            codes[i] = page.status_code

        cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
        threads0, client0 = thread_seconds(server.pid), time.process_time()
        with ThreadPoolExecutor(args.offices) as pool:
            list(pool.map(upload, range(args.offices)))
        wall = time.perf_counter() - wall0
        cpu = cpu_seconds(server.pid) - cpu0
        client = time.process_time() - client0
        threads1 = thread_seconds(server.pid)
        main_cpu, others = threads1[0] - threads0[0], threads1[1] - threads0[1]

        lost = [i for i, code in enumerate(codes) if code != 200]
        store = Store(settings)
        with store.session() as db:
            rows = db.query(Upload).all()
            stored = {r.original_name: r for r in rows}
        store.engine.dispose()
        unchecked = [n for n, r in stored.items() if r.status != "checked"]
        visible = sum(
            1 for i, c in enumerate(clients) if f"kuesioner-{i:03d}.xlsx" in c.get("/office").text
        )
    finally:
        for c in clients:
            c.close()
        watchdog.cancel()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)

    ordered = sorted(timings)
    p95 = percentile(ordered, 0.95)
    with_page = sorted(shown)
    print(f"uploads at once: {args.offices}; all released within one barrier")
    print(
        f"stored: {len(stored)}; checked: {len(stored) - len(unchecked)}; "
        f"visible on the office page: {visible}; failed requests: {len(lost)}"
    )
    print(
        f"upload request: p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, "
        f"max {ordered[-1]:.2f} s; wall {wall:.2f} s; cores {os.cpu_count()}"
    )
    print(
        f"upload request and its result page: p50 {statistics.median(with_page):.2f} s, "
        f"p95 {percentile(with_page, 0.95):.2f} s, max {with_page[-1]:.2f} s"
    )
    print(
        f"server CPU (its process and workers) during the burst: {cpu:.2f} s, "
        f"{cpu / args.offices * 1000:.0f} ms per upload"
    )
    if cpu:
        per = 1000 / args.offices
        print(
            f"  of which: event loop {main_cpu * per:.0f} ms, request threads "
            f"{others * per:.0f} ms, check and PDF worker processes "
            f"{(cpu - main_cpu - others) * per:.0f} ms per upload"
        )
    print(
        f"this script's own CPU (the clients, on the same cores): {client:.2f} s, "
        f"{client / args.offices * 1000:.0f} ms per upload"
    )
    load1, load5, _ = os.getloadavg()
    print(f"load average at the end: {load1:.2f} (1 min), {load5:.2f} (5 min)")
    ok = not lost and len(stored) == args.offices and not unchecked and visible == args.offices
    met = ok and p95 < TARGET_P95
    print(f"target p95 < {TARGET_P95:.0f} s with none lost: {'MET' if met else 'NOT MET'}")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
