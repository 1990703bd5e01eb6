"""Updates of one resident are handled one after the other, within and across processes."""

import asyncio

from handlers import flows
from handlers.engine import Engine
from handlers.steps import EngineConfig
from tests.helpers import Chat
from tests.test_registration import HAPPY_ID, stored


async def test_two_updates_at_the_same_moment_run_in_order(chat: Chat, database) -> None:
    await chat.run(HAPPY_ID[:2])  # at the consent question
    agree, name = chat.message(text="1"), chat.message(text="Siti Aminah")
    first, second = await asyncio.gather(chat.deliver(agree), chat.deliver(name))
    assert "Siapa nama lengkap" in first[-1].text
    assert "kelurahan mana" in second[-1].text  # the name met the name question
    await chat.send("Klender")
    assert "Kelurahan Klender" in chat.text


async def test_many_updates_of_many_residents_at_once(engine, database) -> None:
    chats = [Chat(engine, f"warga-{number}") for number in range(20)]
    for chat in chats:
        await chat.run(HAPPY_ID[:3])
    names = [f"Warga Nomor {chr(65 + number)}" for number in range(20)]
    await asyncio.gather(*(chat.send(name) for chat, name in zip(chats, names, strict=True)))
    await asyncio.gather(*(chat.send("3") for chat in chats))
    await asyncio.gather(*(chat.send(str(n % 15 + 1)) for n, chat in enumerate(chats)))
    await asyncio.gather(*(chat.send("Lewati") for chat in chats))
    for chat, name in zip(chats, names, strict=True):
        assert f"Terima kasih, Bapak/Ibu {name}. Pendaftaran selesai" in chat.text
        assert stored(database, chat.external_id).name == name


async def test_two_workers_on_one_database_take_turns(database, clock) -> None:
    # two engines stand for two processes: only the database can keep them in step
    first = Engine(database, flows.build(), EngineConfig(), clock=clock)
    second = Engine(database, flows.build(), EngineConfig(), clock=clock)
    try:
        for attempt in range(5):
            chat = Chat(first, f"two-workers-{attempt}")
            await chat.run(HAPPY_ID[:2])
            other = Chat(second, chat.external_id)
            replies = await asyncio.gather(
                first.handle(chat.message(text="1")), second.handle(other.message(text="1"))
            )
            texts = sorted(reply[-1].text for reply in replies)
            # one "1" agreed; the other then met the name question (no letters in "1")
            assert "Mohon tulis nama dengan huruf saja" in texts[0] + texts[1]
            assert sum("Siapa nama lengkap" in text for text in texts) == 2
            assert (
                sum(
                    "Terima kasih. Sekarang" in "".join(r.text for r in reply) for reply in replies
                )
                == 1
            )
    finally:
        first.close()
        second.close()
