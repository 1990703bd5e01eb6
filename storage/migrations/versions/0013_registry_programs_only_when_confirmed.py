"""registry programs only when confirmed

A status check used to copy the programs of any NIK that was found into the profile of the
resident who asked, who then received `program=` announcements meant for that person. The
programs are now kept only when the resident confirms the data is their own; the programs
copied before could be anyone's, so they are forgotten (a resident gets them back by checking
their own NIK and confirming).

Revision ID: 0013
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESIDENTS = sa.table("residents", sa.column("registry_programs", sa.String))


def upgrade() -> None:
    op.get_bind().execute(
        RESIDENTS.update().where(RESIDENTS.c.registry_programs != "").values(registry_programs="")
    )


def downgrade() -> None:
    pass  # the programs forgotten are not known any more
