"""When things break: the database away, an update that fails in a batch, a race on create."""

from sqlalchemy.exc import IntegrityError, OperationalError

from handlers import flows, registration
from handlers.engine import Engine
from handlers.messages import Incoming
from handlers.steps import EngineConfig
from storage import residents
from tests.helpers import Chat
from tests.test_registration import HAPPY_ID, stored


class FlakyDatabase:
    """A database that refuses the first connections, then works."""

    def __init__(self, real, failures: int) -> None:
        self.real = real
        self.failures = failures

    def connect(self):
        if self.failures:
            self.failures -= 1
            raise OperationalError("connect", {}, ConnectionRefusedError("refused"))
        return self.real.connect()


async def test_no_database_gets_an_apology_and_the_bot_recovers(database, clock) -> None:
    engine = Engine(
        FlakyDatabase(database, failures=2), flows.build(), EngineConfig(), clock=clock
    )
    try:
        chat = Chat(engine, "sabar")
        await chat.send("halo")
        assert "Maaf, ada gangguan di sistem kami" in chat.text
        await chat.send("halo")
        assert "Maaf, ada gangguan di sistem kami" in chat.text  # the worker is still alive
        await chat.send("halo")
        assert "Selamat datang di Layanan Warga" in chat.text  # the database is back
    finally:
        engine.close()


async def test_one_failing_update_does_not_sink_the_batch(engine, database, monkeypatch) -> None:
    good, bad = Chat(engine, "baik"), Chat(engine, "rusak")
    await good.run(HAPPY_ID[:3])
    await bad.run(HAPPY_ID[:3])
    real_clean_name = registration.clean_name

    def clean_name(text: str):
        if text == "Boom":
            raise RuntimeError("a bug in one step")
        return real_clean_name(text)

    monkeypatch.setattr(registration, "clean_name", clean_name)
    with database.connect() as db:
        replies = engine.process_batch(
            db, [good.message(text="Siti Aminah"), bad.message(text="Boom")]
        )
    assert "kelurahan mana" in replies[0][-1].text
    assert "Maaf, ada gangguan di sistem kami" in replies[1][-1].text
    await good.send("Klender")  # the good update was kept
    assert "Di Kelurahan Klender ada RW" in good.text


async def test_identity_created_by_another_process_at_the_same_moment(engine, monkeypatch) -> None:
    real_create = residents.create_resident
    calls = []

    def create_resident(**fields):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("insert", {}, Exception("duplicate key"))
        return real_create(**fields)

    monkeypatch.setattr(residents, "create_resident", create_resident)
    replies = await engine.handle(Incoming("console", "kembar", "m-1", text="halo"))
    assert len(calls) == 2 and "Selamat datang" in replies[-1].text


async def test_consent_withdrawn_before_registration_is_forgotten(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID[:3])
    assert stored(database, chat.external_id).consent_at is not None
    await chat.tap("consent:no")  # the button from the notice, a few messages up
    assert "Tidak apa-apa" in chat.text
    assert stored(database, chat.external_id).consent_at is None


async def test_consent_withdrawn_after_registration_offers_erasure(chat: Chat) -> None:
    await chat.run(HAPPY_ID)
    await chat.tap("consent:no")
    assert "Ini akan menghapus semua data" in chat.text
