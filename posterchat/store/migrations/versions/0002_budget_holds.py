"""Budget holds: the worst-case cost of each running request, reserved against its key's monthly budget.

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
    op.create_table(
        "budget_holds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_budget_holds_key", "budget_holds", ["key_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_holds_key", table_name="budget_holds")
    op.drop_table("budget_holds")
