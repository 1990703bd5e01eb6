"""unrecognised messages: what the bot did not understand, redacted and without its author

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unrecognised_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("where", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unrecognised_messages")),
    )
    with op.batch_alter_table("unrecognised_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unrecognised_messages_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_unrecognised_messages_key"), ["key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unrecognised_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unrecognised_messages_key"))
        batch_op.drop_index(batch_op.f("ix_unrecognised_messages_created_at"))
    op.drop_table("unrecognised_messages")
