"""complaint photos name their platform

A complaint's photo was kept as the platform's file id alone; staff on another platform are
now shown it, which needs to know where it came from: "<channel>:<file id>". WhatsApp media
ids are all digits; Telegram file ids never are.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMPLAINTS = sa.table(
    "complaints", sa.column("id", sa.Integer), sa.column("photo_file_id", sa.String)
)
PLATFORMS = ("telegram:", "whatsapp:", "console:")


def upgrade() -> None:
    db = op.get_bind()
    rows = db.execute(
        sa.select(COMPLAINTS.c.id, COMPLAINTS.c.photo_file_id).where(
            COMPLAINTS.c.photo_file_id.is_not(None)
        )
    ).all()
    for complaint_id, photo in rows:
        if photo.startswith(PLATFORMS):
            continue
        platform = "whatsapp" if photo.isdigit() else "telegram"
        db.execute(
            sa.update(COMPLAINTS)
            .where(COMPLAINTS.c.id == complaint_id)
            .values(photo_file_id=f"{platform}:{photo}"[:255])
        )


def downgrade() -> None:
    db = op.get_bind()
    rows = db.execute(
        sa.select(COMPLAINTS.c.id, COMPLAINTS.c.photo_file_id).where(
            COMPLAINTS.c.photo_file_id.is_not(None)
        )
    ).all()
    for complaint_id, photo in rows:
        platform, sep, file_id = photo.partition(":")
        if sep and f"{platform}:" in PLATFORMS:
            db.execute(
                sa.update(COMPLAINTS)
                .where(COMPLAINTS.c.id == complaint_id)
                .values(photo_file_id=file_id)
            )
