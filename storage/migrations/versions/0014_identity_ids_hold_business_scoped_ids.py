"""channel identity ids hold business-scoped user ids

WhatsApp users known by a username only are identified by a business-scoped user id: a country
code, a period and up to 128 letters and digits ("US.ENT.…" for a parent id), longer than the
64 characters an identity's external id held.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_identities") as table:
        table.alter_column(
            "external_id",
            existing_type=sa.String(64),
            type_=sa.String(160),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_identities") as table:
        table.alter_column(
            "external_id",
            existing_type=sa.String(160),
            type_=sa.String(64),
            existing_nullable=False,
        )
