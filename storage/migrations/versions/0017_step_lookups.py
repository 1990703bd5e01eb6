"""the queue's answers to each step: messages held for a resident, earlier unsent replies

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "status = 'held'"
UNSENT_REPLIES = "status = 'pending' AND kind = 'reply'"


def upgrade() -> None:
    with op.batch_alter_table("outbound", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbound_held_by_resident",
            ["resident_id"],
            unique=False,
            sqlite_where=sa.text(HELD),
            postgresql_where=sa.text(HELD),
        )
        batch_op.create_index(
            "ix_outbound_unsent_replies",
            ["identity_id"],
            unique=False,
            sqlite_where=sa.text(UNSENT_REPLIES),
            postgresql_where=sa.text(UNSENT_REPLIES),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_unsent_replies")
        batch_op.drop_index("ix_outbound_held_by_resident")
