"""Verification: decisions, later-stage scores, objections, published snapshots; invitations
for verifiers and auditors belong to no office (issue 14 step 2).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.alter_column("office_id", existing_type=sa.Integer, nullable=True)
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("periods.id"), nullable=False),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("verdict", sa.String(60), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.id"), nullable=True),
        sa.Column("verifier_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("period_id", "office_id", "code", name="uq_decisions_item"),
    )
    op.create_index("ix_decisions_period_id", "decisions", ["period_id"])
    op.create_index("ix_decisions_office_id", "decisions", ["office_id"])
    op.create_table(
        "stage_scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("periods.id"), nullable=False),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("value", sa.String(20), nullable=False),
        sa.Column("verifier_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("entered_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("period_id", "office_id", "stage", name="uq_stage_scores_item"),
    )
    op.create_index("ix_stage_scores_period_id", "stage_scores", ["period_id"])
    op.create_index("ix_stage_scores_office_id", "stage_scores", ["office_id"])
    op.create_table(
        "objections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column("office_id", sa.Integer, sa.ForeignKey("offices.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("evidence", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("answer", sa.String(2000), nullable=False),
        sa.Column("answered_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("answered_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("decision_id", name="uq_objections_decision"),
    )
    op.create_index("ix_objections_office_id", "objections", ["office_id"])
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("period_id", sa.Integer, sa.ForeignKey("periods.id"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
    )
    op.create_index("ix_snapshots_period_id", "snapshots", ["period_id"])


def downgrade() -> None:
    for table in ("snapshots", "objections", "stage_scores", "decisions"):
        op.drop_table(table)
    with op.batch_alter_table("invitations") as batch:
        batch.alter_column("office_id", existing_type=sa.Integer, nullable=False)
