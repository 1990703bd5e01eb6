"""durability: an inbox of what residents sent, replies in the outbound queue, fencing tokens

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("channel", "key", name=op.f("uq_inbox_channel_key")),
    )
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_received_at"), ["received_at"], unique=False)
    with op.batch_alter_table("outbound", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("claim", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(sa.Column("reply", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("doubts", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "write_checks",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("checked_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_write_checks")),
    )


def downgrade() -> None:
    op.drop_table("write_checks")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_column("token")
    with op.batch_alter_table("outbound", schema=None) as batch_op:
        batch_op.drop_column("doubts")
        batch_op.drop_column("reply")
        batch_op.drop_column("claim")
        batch_op.drop_column("priority")
    with op.batch_alter_table("inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_received_at"))
    op.drop_table("inbox")
