"""The city dashboard and published snapshots (issue 14 step 2).

A snapshot is exactly a ``monev score`` run over inputs exported from the database:

* every office's latest scorable upload with the verifier's decisions written in
  (:func:`monev.web.verification.decided_workbook`), one ``.xlsx`` per office;
* the stages file of the verifiers' later-stage scores (``tahapan.csv``);
* the city's registry of offices (``daftar-kantor.csv``);

scored by :func:`monev.run.run_score` with ``verifier_from_workbooks`` and the report date
``as_of``. Its outputs (results.json, ranking.csv, rekap.xlsx, kota.pdf, every office PDF) are
frozen under ``snapshots/<id>/`` with their SHA-256 and never changed afterwards. The same
inputs given to ``monev score FILES --rubric R --stages S --offices O --as-of D
--verifier-from-workbooks`` give the same results.json (a test runs exactly that).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monev.results import OfficeResult
from monev.web.checking import rubric, rubric_source
from monev.web.db import Office, Period, Snapshot, User, audit, utcnow
from monev.web.settings import ZONES, Settings
from monev.web.verification import (
    decided,
    decided_workbook,
    decisions_of,
    later_stages,
    latest_upload,
    stages_csv,
    stages_of,
    upload_path,
)

STAGES_FILE = "tahapan.csv"
REGISTRY_FILE = "daftar-kantor.csv"
RUBRIC_FILE = "rubrik.yaml"
WORKBOOKS = "kuesioner"


@dataclass
class Exported:
    """The inputs of a snapshot run, written into one folder."""

    workbooks: list[Path]
    stages: Path
    registry: Path
    #: Offices left out of the registry: no unit type known (none set, no upload naming one).
    unregistered: list[str] = field(default_factory=list)
    #: The period's rubric file, byte for byte (an uploaded one too): ``--rubric`` takes it.
    rubric: Path | None = None


def local_date(period: Period, now: dt.datetime | None = None) -> dt.date:
    """Today in the period's time zone (the report date of a snapshot)."""
    return ((now or utcnow()) + dt.timedelta(hours=ZONES.get(period.zone, 7))).date()


def export_inputs(settings: Settings, db: Session, period: Period, folder: Path) -> Exported:
    """Write the latest uploads (decisions written in), the stages file, the registry and the
    period's rubric file."""
    from monev.registry import Entry, registry_bytes
    from monev.report import safe_name
    from monev.web.checking import check_blob

    rb = rubric(period.rubric_id)
    books = folder / WORKBOOKS
    books.mkdir(parents=True, exist_ok=True)
    workbooks: list[Path] = []
    stage_rows: list[tuple[str, dict[str, str]]] = []
    entries: list[Entry] = []
    unregistered: list[str] = []
    taken: set[str] = set()
    for office in db.scalars(select(Office).order_by(Office.name)):
        up = latest_upload(db, period, office.id)
        unit, kecamatan = office.unit_type, ""
        if up is not None:
            path = upload_path(settings, up)
            named = check_blob(path, period.rubric_id, up.original_name).result
            if named is not None:
                unit = unit or named.office.unit_type
                kecamatan = named.office.kecamatan
            decisions = {
                c: (d.verdict, d.note) for c, d in decisions_of(db, period, office.id).items()
            }
            dest = books / f"{safe_name(office.name, taken)}.xlsx"
            dest.write_bytes(decided_workbook(path, rb, office, decisions, up.received_at))
            workbooks.append(dest)
        values = stages_of(db, period, office.id)
        if values:
            stage_rows.append((office.name, values))
        if unit:
            entries.append(Entry(name=office.name, unit_type=unit, kecamatan=kecamatan))
        else:
            unregistered.append(office.name)
    stages = folder / STAGES_FILE
    stages.write_bytes(stages_csv(stage_rows, later_stages(rb)))
    registry = folder / REGISTRY_FILE
    registry.write_bytes(registry_bytes(entries, ".csv", unit_types=rb.unit_types))
    rubric_copy = folder / RUBRIC_FILE
    text = rubric_source(period.rubric_id).read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    if digest != rb.sha256 or digest != period.rubric_sha256:  # not the period's own rubric
        raise PublishError("web.publish.failed", detail="rubric")
    rubric_copy.write_bytes(text)
    return Exported(workbooks, stages, registry, unregistered, rubric_copy)


class PublishError(Exception):
    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key = key
        self.params = params


def snapshot_dir(settings: Settings, snap_id: int) -> Path:
    return settings.data_dir / "snapshots" / str(int(snap_id))


def publish(
    settings: Settings,
    db: Session,
    actor: User,
    period: Period,
    pdf: bool = True,
    ip: str = "",
    as_of: dt.date | None = None,
    later_pdfs: bool = False,
) -> Snapshot:
    """Score the exported inputs with the library and freeze every output with its SHA-256.

    ``later_pdfs`` (the admin's publish button): everything but the PDFs is frozen now, and the
    exported inputs are kept (unlisted, never served) for :func:`render_pdfs`, which a
    background job runs (:mod:`monev.web.rendering`); the caller queues that job."""
    rb = rubric(period.rubric_id)
    day = as_of or local_date(period)
    with tempfile.TemporaryDirectory(prefix="monev-publish-") as tmp:
        inputs = export_inputs(settings, db, period, Path(tmp) / "masukan")
        if not inputs.workbooks:
            raise PublishError("web.publish.nothing")
        out = Path(tmp) / "hasil"
        _score(rb, inputs, out, day, pdf and not later_pdfs)
        snap = Snapshot(period_id=period.id, created_by=actor.id, as_of=day.isoformat(), files=[])
        db.add(snap)
        db.flush()
        dest = snapshot_dir(settings, snap.id)
        if dest.exists():  # left by a publish whose transaction did not commit: no row has it
            shutil.rmtree(dest)
        files: list[dict[str, Any]] = []
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = path.relative_to(out).as_posix()
            if rel.startswith(".") or "/." in rel:  # the run's cache and manifest
                continue
            target = dest / rel
            files.append(_freeze(path, target, rel))
        # the run's own inputs besides the workbooks: stages, registry and the rubric file
        for src in (inputs.stages, inputs.registry, *([inputs.rubric] if inputs.rubric else [])):
            rel = f"masukan/{src.name}"
            files.append(_freeze(src, dest / rel, rel))
        snap.files = files
        if pdf and later_pdfs:
            _keep_inputs(inputs, dest / PENDING)
    audit(
        db,
        actor,
        "snapshot.publish",
        "snapshot",
        snap.id,
        None,
        {
            "period": period.year,
            "as_of": snap.as_of,
            "files": len(files),
            "results.json": next((f["sha256"] for f in files if f["name"] == "results.json"), ""),
            "unregistered": inputs.unregistered,
        },
        ip,
    )
    return snap


#: Where a snapshot keeps its exported inputs until its PDFs are rendered (never listed, so never
#: served: :func:`snapshot_file` serves listed names only).
PENDING = ".masukan-pdf"


def _score(rb: Any, inputs: Exported, out: Path, day: dt.date, pdf: bool) -> list[str]:
    """``monev score`` on the exported inputs (as the test and the README say, exactly)."""
    from monev.registry import load_registry
    from monev.run import RunError, RunSettings, run_score
    from monev.stages import load_stages

    registry = load_registry(inputs.registry, rb.unit_types)
    if not registry.usable:
        detail = "; ".join(p.text() for p in registry.problems[:3])
        raise PublishError("web.error.registry", detail=detail)
    try:
        run = run_score(
            inputs.workbooks,
            rb,
            RunSettings(
                out=out,
                jobs=1,
                pdf=pdf,
                as_of=day,
                stages=load_stages(inputs.stages, rb),
                verifier_from_workbooks=True,
                registry=registry,
            ),
        )
    except RunError as exc:
        raise PublishError("web.publish.failed", detail=exc.key) from None
    return list(run.pdf_failed)


def _keep_inputs(inputs: Exported, folder: Path) -> None:
    import json

    (folder / WORKBOOKS).mkdir(parents=True, exist_ok=True)
    order = []
    for path in inputs.workbooks:  # the same names: results.json names each office's file
        shutil.copyfile(path, folder / WORKBOOKS / path.name)
        order.append(path.name)
    shutil.copyfile(inputs.stages, folder / STAGES_FILE)
    shutil.copyfile(inputs.registry, folder / REGISTRY_FILE)
    (folder / "order.json").write_text(json.dumps(order), encoding="utf-8")


def render_pdfs(settings: Settings, db: Session, snapshot_id: int | None) -> Path:
    """The PDFs of a snapshot published with ``later_pdfs``: the same ``monev score`` run on the
    kept inputs, with PDFs; its results.json must be the one frozen at publishing (else nothing
    is added). The PDFs (with the city rank) are frozen and listed. Returns the folder of kept
    inputs, for the caller to remove once this transaction is committed."""
    import json

    snap = db.get(Snapshot, snapshot_id) if snapshot_id is not None else None
    period = db.get(Period, snap.period_id) if snap is not None else None
    if snap is None or period is None:
        raise PublishError("web.pdf.unscorable")
    dest = snapshot_dir(settings, snap.id)
    kept = dest / PENDING
    if not kept.is_dir():  # done before (a retry after the transaction was lost): nothing kept
        raise PublishError("web.pdf.missing")
    order = json.loads((kept / "order.json").read_text(encoding="utf-8"))
    books = [kept / WORKBOOKS / Path(n).name for n in order]
    inputs = Exported(books, kept / STAGES_FILE, kept / REGISTRY_FILE)
    rb = rubric(period.rubric_id)
    with tempfile.TemporaryDirectory(prefix="monev-publish-pdf-") as tmp:
        out = Path(tmp) / "hasil"
        if _score(rb, inputs, out, dt.date.fromisoformat(snap.as_of), True):
            raise PublishError("web.pdf.crashed")  # a renderer died on some: tried again
        frozen = (dest / "results.json").read_bytes()
        if (out / "results.json").read_bytes() != frozen:
            raise PublishError("web.pdf.changed")
        added = []
        for path in sorted(out.rglob("*.pdf")):
            rel = path.relative_to(out).as_posix()
            if rel.startswith(".") or "/." in rel:
                continue
            added.append(_freeze(path, dest / rel, rel))
    snap.files = sorted([*snap.files, *added], key=lambda f: str(f["name"]))
    publisher = db.get(User, snap.created_by) if snap.created_by else None
    audit(db, publisher, "snapshot.pdfs", "snapshot", snap.id, None, {"files": len(added)})
    return kept


def _freeze(src: Path, target: Path, name: str) -> dict[str, Any]:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # a read-only copy left by a render tried again
    shutil.copyfile(src, target)
    target.chmod(0o444)
    data = target.read_bytes()
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def snapshot_file(settings: Settings, snap: Snapshot, name: str) -> tuple[Path, str] | None:
    """The stored file ``name`` of ``snap`` when it is one of its listed files (never a path
    taken from the URL otherwise), with its recorded SHA-256."""
    if not _SAFE.fullmatch(name) or ".." in name:
        return None
    listed = next((f for f in snap.files or [] if f["name"] == name), None)
    if listed is None:
        return None
    return snapshot_dir(settings, snap.id) / listed["name"], str(listed["sha256"])


# --- dashboard ---------------------------------------------------------------------------------


@dataclass
class Dashboard:
    ranking: list[tuple[Office, OfficeResult]]
    predicates: list[tuple[str, int]]
    missed: list[tuple[str, str, int]]  # code, question, offices that lack points there
    outstanding: list[Office]
    deadline_passed: bool


def standing(
    settings: Settings, db: Session, period: Period, office: Office
) -> OfficeResult | None:
    """The office's latest scorable upload as the verifier's decisions make it (None: none).

    While no verifier has decided anything for the office (no decision, no stage score) and
    the office wrote nothing in the verifier's columns itself, that is the upload's own check:
    the decided workbook would carry the same answers and score the same (a test compares the
    dashboard with `monev score` on the exported inputs). The check is kept per upload
    (:func:`~monev.web.checking.check_blob`, made by the upload request itself) and costs about
    0.06 s when it is not, where building and scoring the decided workbook costs about 0.37 s
    (measured on the demo workbooks): the first dashboard of a period re-checked every office
    that way."""
    from monev.web.checking import check_blob

    if not decisions_of(db, period, office.id) and not stages_of(db, period, office.id):
        up = latest_upload(db, period, office.id)
        if up is None:
            return None
        own = check_blob(upload_path(settings, up), period.rubric_id, up.original_name).result
        if own is not None and not _verifier_marks(own):
            return own
    d = decided(settings, db, period, office)
    return d.result if d is not None and isinstance(d.result, OfficeResult) else None


def _verifier_marks(result: OfficeResult) -> bool:
    """Anything in the workbook's verifier columns or stage scores (the decided workbook clears
    them, so the upload's own check would not give its figures then)."""
    from monev.scoring import STATUS_REJECTED, STATUS_VERIFIER_UNCLEAR

    if result.score.stage_scores:
        return True
    for ind in result.score.indicators:
        if ind.verification or ind.verifier_note:
            return True
        if ind.status in (STATUS_REJECTED, STATUS_VERIFIER_UNCLEAR):
            return True
        if any(item.verification or item.verifier_note for item in ind.items):
            return True
    return False


def dashboard(settings: Settings, db: Session, period: Period) -> Dashboard:
    """Ranking by the decided score, predicate distribution, most-missed indicators, offices
    that have not uploaded a scorable workbook."""
    from dataclasses import replace

    from monev.results import rank

    rb = rubric(period.rubric_id)
    copies: list[OfficeResult] = []
    found: dict[int, Office] = {}
    outstanding: list[Office] = []
    for office in db.scalars(select(Office).order_by(Office.name)):
        result = standing(settings, db, period, office)
        if result is None:
            outstanding.append(office)
        else:
            copy = replace(result)  # rank() sets .rank: never on the cached result
            copies.append(copy)
            found[id(copy)] = office
    # the library's ranking (equal rounded scores share a rank), as in results.json
    ranked = rank(copies)
    ranking = [(found[id(r)], r) for r in ranked]
    counts = Counter(r.score.predicate for _, r in ranking)
    bands = [b.name for b in rb.predicates] or sorted(counts)
    missed_count: Counter[str] = Counter()
    for _, r in ranking:
        for ind in r.score.indicators:
            if ind.scored and ind.gap > 0:
                missed_count[ind.code] += 1
    questions = {i.code: i.question for i in rb.indicators}
    missed = [(c, questions.get(c, ""), n) for c, n in missed_count.most_common(10)]
    return Dashboard(
        ranking,
        [(b, counts.get(b, 0)) for b in bands],
        missed,
        outstanding,
        period.deadline_utc < utcnow(),
    )
