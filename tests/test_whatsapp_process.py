"""`python -m bot run` with the WhatsApp settings, as an operator starts it: the webhook is
served on the program's HTTP server, checks Meta's handshake and signatures, answers through
the Graph API at WHATSAPP_API_BASE_URL (the fake), and sends a reminder outside the 24-hour
window as the template of WHATSAPP_TEMPLATES_FILE; SIGTERM stops it cleanly."""

import asyncio
import signal
import socket
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from storage import outbox
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.residents import ChannelIdentity
from storage.types import utcnow
from tests.fake_whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    WA_ID,
    FakeGraphAPI,
    sign,
    signed_webhook,
    verification_params,
)
from tests.test_outbound_process import start

TEMPLATES = """
[reminder.id]
name = "pengingat_layanan"
language = "id"
"""


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_program_serves_the_webhook_and_sends_through_the_graph_api(
    environment, database, tmp_path
) -> None:
    templates = tmp_path / "templates.toml"
    templates.write_text(TEMPLATES)
    port = free_port()
    async with FakeGraphAPI(templates={"pengingat_layanan": 1}) as fake:
        env = {
            **environment,
            "WHATSAPP_TOKEN": TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_VERIFY_TOKEN": "verify-me",
            "WHATSAPP_API_BASE_URL": fake.base_url,
            "WHATSAPP_TEMPLATES_FILE": str(templates),
            "HTTP_PORT": str(port),
            "CLOCK_LEASE_SECONDS": "3",
            "LOG_LEVEL": "INFO",
        }
        url = f"http://127.0.0.1:{port}/whatsapp/webhook"
        program = await start(env)
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                for _attempt in range(200):  # until the server listens
                    try:
                        health = await http.get(f"http://127.0.0.1:{port}/healthz")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                assert health.status_code == 200
                shake = await http.get(url, params=verification_params("verify-me", "8080"))
                assert (shake.status_code, shake.text) == (200, "8080")
                body, headers = signed_webhook("text", text="halo")
                forged = {**headers, "X-Hub-Signature-256": sign(body, "wrong")}
                assert (await http.post(url, content=body, headers=forged)).status_code == 403
                assert (await http.post(url, content=body, headers=headers)).status_code == 200
                await fake.wait_for(
                    lambda f: any("Selamat datang" in text for text in f.sent_texts(WA_ID))
                )
                # a day later, a reminder: the resident has not written since
                with database.begin() as db:
                    db.execute(
                        update(ChannelIdentity).values(
                            last_inbound_at=utcnow() - timedelta(hours=26)
                        )
                    )
                    resident_id = db.execute(select(ChannelIdentity.resident_id)).scalar_one()
                    outbox.enqueue(
                        db=db,
                        resident_id=resident_id,
                        kind=OutboundKind.REMINDER,
                        text="Pengingat: pemeriksaan kesehatan besok 08.00",
                        now=utcnow(),
                    )
                await fake.wait_for(lambda f: bool(f.sent_to(WA_ID, "template")), timeout=15)
        finally:
            program.send_signal(signal.SIGTERM)
            _out, err = await asyncio.wait_for(program.communicate(), timeout=30)
    assert program.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert b"halo" not in err and b"Pengingat" not in err  # what residents read stays out
    assert WA_ID.encode() not in err and TOKEN.encode() not in err  # numbers, the token too
    [template] = fake.sent_to(WA_ID, "template")
    assert template.payload["template"]["name"] == "pengingat_layanan"
    with database.connect() as db:
        statuses = db.execute(select(Outbound.kind, Outbound.status)).all()
    # the answer to "halo" went through the queue's rows too
    assert sorted(statuses) == [
        (OutboundKind.REMINDER, OutboundStatus.SENT),
        (OutboundKind.REPLY, OutboundStatus.SENT),
    ]
