"""the claim's partial indexes: the head of each channel's queue in the order written (all
kinds, and what residents asked for, for quiet hours), the rows due longest, and what waits
past its expiry

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"
PENDING_ASKED = "status = 'pending' AND (kind NOT IN ('announcement', 'feedback', 'survey'))"
WAITING = "status IN ('pending', 'held')"
CLAIM_ORDER = ["channel", "priority", "id", "not_before"]
DUE_ORDER = ["channel", "not_before", "id"]
INDEXES = [
    ("ix_outbound_claim", CLAIM_ORDER, PENDING),
    ("ix_outbound_claim_asked", CLAIM_ORDER, PENDING_ASKED),
    ("ix_outbound_due", DUE_ORDER, PENDING),
    ("ix_outbound_due_asked", DUE_ORDER, PENDING_ASKED),
    ("ix_outbound_expiry", ["channel", "expires_at"], WAITING),
]


def upgrade() -> None:
    with op.batch_alter_table("outbound", schema=None) as batch_op:
        for name, columns, where in INDEXES:
            batch_op.create_index(
                name,
                columns,
                unique=False,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )


def downgrade() -> None:
    with op.batch_alter_table("outbound", schema=None) as batch_op:
        for name, _columns, _where in reversed(INDEXES):
            batch_op.drop_index(name)
