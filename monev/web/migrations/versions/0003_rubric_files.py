"""Uploaded rubric files, and the one a period was opened with (issue 14 item 3, wp-webrubric).

Revision ID: 0003_rubric_files
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_rubric_files"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rubric_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rubric_id", sa.String(100), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("version", sa.String(60), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("uploaded_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("uploaded_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("sha256", name="uq_rubric_files_sha256"),
    )
    with op.batch_alter_table("periods") as batch:
        batch.add_column(sa.Column("rubric_file_id", sa.Integer, nullable=True))
        batch.create_foreign_key(
            "fk_periods_rubric_file_id", "rubric_files", ["rubric_file_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("periods") as batch:
        batch.drop_constraint("fk_periods_rubric_file_id", type_="foreignkey")
        batch.drop_column("rubric_file_id")
    op.drop_table("rubric_files")
