"""Stored responses of the OpenAI Responses API (/v1/responses), for previous_response_id and retrieval.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "responses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_responses_owner_created", "responses", ["owner", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_responses_owner_created", table_name="responses")
    op.drop_table("responses")
