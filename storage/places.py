"""Kelurahan of Duren Sawit and their RWs (rukun warga)."""

from sqlmodel import Field, Session, SQLModel, select


class Kelurahan(SQLModel, table=True):
    """An urban village; the code is Kemendagri's, e.g. 31.75.07.1003."""

    __tablename__ = "kelurahan"

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(unique=True, max_length=64)
    postcode: str | None = Field(default=None, max_length=5)
    demo: bool = False


class RukunWarga(SQLModel, table=True):
    """A neighbourhood unit (RW) of a kelurahan."""

    __tablename__ = "rukun_warga"

    kelurahan_code: str = Field(foreign_key="kelurahan.code", primary_key=True, max_length=16)
    number: int = Field(primary_key=True)
    demo: bool = False


def list_kelurahan(*, session: Session) -> list[Kelurahan]:
    """Return every kelurahan, ordered by code."""
    return list(session.exec(select(Kelurahan).order_by(Kelurahan.code)))


def get_kelurahan(*, session: Session, code: str) -> Kelurahan | None:
    """Return one kelurahan by code."""
    return session.get(Kelurahan, code)


def rw_numbers(*, session: Session, kelurahan_code: str) -> list[int]:
    """Return the RW numbers of a kelurahan, ascending."""
    query = (
        select(RukunWarga.number)
        .where(RukunWarga.kelurahan_code == kelurahan_code)
        .order_by(RukunWarga.number)
    )
    return list(session.exec(query))
