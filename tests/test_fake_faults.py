"""The fault modes of the fake servers (tests/fake_faults.py), seen from a real HTTP client."""

import asyncio

import httpx
import pytest

from tests.fake_telegram import FakeBotAPI
from tests.fake_whatsapp import FakeGraphAPI


async def send(fake: FakeBotAPI, http: httpx.AsyncClient, text: str) -> httpx.Response:
    """Post one sendMessage to chat 7."""
    url = f"{fake.base_url}{fake.token}/sendMessage"
    return await http.post(url, data={"chat_id": "7", "text": text})


async def test_refused_connections_until_healed() -> None:
    async with FakeBotAPI() as fake, httpx.AsyncClient(timeout=2) as http:
        assert (await send(fake, http, "before")).status_code == 200  # a kept-alive connection
        fake.faults.refuse()
        await asyncio.sleep(0.05)  # the client sees its idle connection closed
        with pytest.raises(httpx.ConnectError):
            await send(fake, http, "during")
        fake.faults.heal()
        await fake.faults.wait_listening()
        assert (await send(fake, http, "after")).status_code == 200
    assert [d.text for d in fake.deliveries("7")] == ["before", "after"]


async def test_refusing_for_some_seconds_ends_by_itself() -> None:
    async with FakeBotAPI() as fake, httpx.AsyncClient(timeout=2) as http:
        fake.faults.refuse(seconds=0.2)
        with pytest.raises(httpx.ConnectError):
            await send(fake, http, "during")
        await asyncio.sleep(0.3)
        await fake.faults.wait_listening()
        assert (await send(fake, http, "after")).status_code == 200


async def test_dropped_at_accept() -> None:
    async with FakeBotAPI() as fake, httpx.AsyncClient(timeout=2) as http:
        fake.faults.drop_at_accept()
        with pytest.raises(httpx.TransportError):
            await send(fake, http, "during")
        assert fake.faults.faulted["drop_at_accept"] >= 1
    assert fake.deliveries() == []


async def test_a_reset_before_reading_loses_the_message_and_after_recording_keeps_it() -> None:
    async with FakeBotAPI() as fake, httpx.AsyncClient(timeout=2) as http:
        fake.faults.reset_before_read(paths=("sendMessage",), times=1)
        with pytest.raises(httpx.TransportError):
            await send(fake, http, "lost")
        fake.faults.reset_after_record(paths=("sendMessage",), times=1)
        with pytest.raises(httpx.TransportError):
            await send(fake, http, "arrived")
        assert (await send(fake, http, "answered")).status_code == 200
    assert [d.text for d in fake.deliveries("7")] == ["arrived", "answered"]


async def test_one_in_n_and_other_paths_untouched() -> None:
    async with FakeBotAPI() as fake, httpx.AsyncClient(timeout=2) as http:
        fake.faults.server_errors(503, paths=("sendMessage",), one_in=2)
        codes = [(await send(fake, http, str(n))).status_code for n in range(4)]
        me = await http.get(f"{fake.base_url}{fake.token}/getMe")
    assert codes == [200, 503, 200, 503]
    assert me.status_code == 200
    assert [d.text for d in fake.deliveries()] == ["0", "2"]


async def test_a_black_hole_never_answers_and_cuts_at_its_end() -> None:
    async with FakeBotAPI() as fake, httpx.AsyncClient(timeout=0.3) as http:
        fake.faults.black_hole(seconds=1)
        with pytest.raises(httpx.ReadTimeout):
            await send(fake, http, "held")
        async with httpx.AsyncClient(timeout=3) as patient:
            with pytest.raises(httpx.TransportError):
                await send(fake, patient, "cut")  # cut when the black hole ends
        assert (await send(fake, http, "after")).status_code == 200
    assert [d.text for d in fake.deliveries()] == ["after"]


async def test_the_whatsapp_fake_has_the_same_faults() -> None:
    body = {"messaging_product": "whatsapp", "to": "6281234567890", "text": {"body": "halo"}}
    async with FakeGraphAPI() as fake, httpx.AsyncClient(timeout=2) as http:
        headers = {"Authorization": f"Bearer {fake.token}"}
        fake.faults.reset_after_record(times=1)
        with pytest.raises(httpx.TransportError):
            await http.post(fake.messages_url(), json=body, headers=headers)
        fake.faults.refuse()
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.ConnectError):
            await http.post(fake.messages_url(), json=body, headers=headers)
    assert [(d.chat, d.text) for d in fake.deliveries()] == [("6281234567890", "halo")]
