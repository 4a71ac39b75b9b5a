"""Render jobs: office PDFs and a published snapshot's PDFs made in the background, one row per
job (wp-webpdf, issue 14 item 5).

Revision ID: 0004_render_jobs
Revises: 0003_rubric_files
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_render_jobs"
down_revision = "0003_rubric_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "render_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.id"), nullable=True),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id"), nullable=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id"), nullable=True),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("claimed_at", sa.DateTime, nullable=True),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("pdf_key", sa.String(64), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=False),
        sa.Column("error", sa.String(200), nullable=False),
    )
    op.create_index("ix_render_jobs_upload_id", "render_jobs", ["upload_id"])
    op.create_index("ix_render_jobs_office_id", "render_jobs", ["office_id"])
    op.create_index("ix_render_jobs_snapshot_id", "render_jobs", ["snapshot_id"])
    op.create_index("ix_render_jobs_status", "render_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("render_jobs")
