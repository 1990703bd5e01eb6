"""The WhatsApp fixtures have Meta's webhook shapes, and the fake Graph API answers, refuses
and limits sends the way the Cloud API does."""

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import fake_whatsapp as wa
from tests.fake_whatsapp import FakeGraphAPI

FIXTURE_NAMES = sorted(path.stem for path in wa.FIXTURES.glob("*.json"))
SITI, BUDI = wa.WA_ID, "6285711112222"


class ManualClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(clock=clock) as server:
        yield server


@pytest.fixture
async def client(fake: FakeGraphAPI) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {fake.token}"}
    async with httpx.AsyncClient(base_url=fake.base_url, headers=headers) as http:
        yield http


def path(fake: FakeGraphAPI) -> str:
    return f"/{wa.API_VERSION}/{fake.phone_number_id}/messages"


def text(body: str, to: str = SITI) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
    }


def buttons(*titles: str, body: str = "Pilih bahasa", to: str = SITI) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"opt:{i}", "title": title}}
                    for i, title in enumerate(titles)
                ]
            },
        },
    }


def list_message(
    *sections: list[dict[str, str]], button: str = "Lihat menu", body: str = "Menu utama"
) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": SITI,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": button,
                "sections": [
                    {"title": f"Bagian {i}", "rows": rows} for i, rows in enumerate(sections)
                ],
            },
        },
    }


def rows(count: int, start: int = 0, **fields: str) -> list[dict[str, str]]:
    return [
        {"id": f"row:{i}", "title": f"Pilihan {i}", **fields} for i in range(start, start + count)
    ]


def template(name: str = "pengingat_jadwal", *params: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": SITI,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": "id"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
            ],
        },
    }


# --- fixtures and webhook helpers -----------------------------------------------------------


def test_fixture_files_are_all_there() -> None:
    assert sorted(wa.KINDS + wa.STORED_KINDS) == FIXTURE_NAMES


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_fixture_has_the_webhook_envelope(name: str) -> None:
    payload = wa.load(name)
    assert payload["object"] == "whatsapp_business_account"
    (entry,) = payload["entry"]
    (change,) = entry["changes"]
    assert change["field"] == "messages" and entry["id"] == wa.WABA_ID
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {
        "display_phone_number": wa.DISPLAY_PHONE_NUMBER,
        "phone_number_id": wa.PHONE_NUMBER_ID,
    }
    if name.startswith("status_"):
        (status,) = value["statuses"]
        assert status["status"] == name.split("_")[1] and status["recipient_id"] == SITI
        assert status["id"].startswith("wamid.HBgN") and isinstance(status["timestamp"], str)
        if status["status"] == "failed":
            (error,) = status["errors"]
            assert str(error["code"]) == name.rsplit("_", 1)[1]
            assert error["title"] and error["error_data"]["details"]
        else:
            assert status["pricing"]["category"] == "service"
    else:
        (contact,) = value["contacts"]
        (message,) = value["messages"]
        if "user_id" in contact:  # usernames: the business-scoped id, with the phone or not
            assert contact["user_id"] == message["from_user_id"]
            assert contact.get("wa_id") == message.get("from")
        else:
            assert contact == {"profile": {"name": "Siti Rahayu"}, "wa_id": SITI}
            assert message["from"] == SITI
        assert message["id"].startswith("wamid.HBgN")
        assert isinstance(message["timestamp"], str)  # Meta sends Unix time as a string
        kind = message["type"]
        assert kind in message or kind == "unsupported"


def test_fixture_contents() -> None:
    def message(kind: str) -> dict[str, Any]:
        return wa.webhook_value(wa.load(kind))["messages"][0]

    assert message("text")["text"] == {"body": "halo"}
    button = message("interactive_button_reply")["interactive"]
    assert button == {
        "type": "button_reply",
        "button_reply": {"id": "lang:id", "title": "Bahasa Indonesia"},
    }
    row = message("interactive_list_reply")["interactive"]["list_reply"]
    assert row["id"] == "menu:sembako" and len(row["title"]) <= 24
    assert len(row["description"]) <= 72
    place = message("location")["location"]
    assert -6.3 < place["latitude"] < -6.2 and 106.8 < place["longitude"] < 107
    (card,) = message("contacts")["contacts"]
    assert card["phones"][0]["wa_id"] == SITI
    assert message("audio")["audio"]["voice"] is True
    assert message("sticker")["sticker"]["mime_type"] == "image/webp"
    assert message("document")["document"]["filename"].endswith(".pdf")
    assert message("image")["image"]["id"] and "link" not in message("image")["image"]
    reaction = message("reaction")["reaction"]
    replied_to = message("interactive_button_reply")["context"]["id"]
    assert reaction == {"message_id": replied_to, "emoji": "\N{THUMBS UP SIGN}"}
    assert message("unsupported")["errors"][0]["code"] == 131051


def test_webhook_payload_substitutes_and_numbers() -> None:
    first = wa.webhook_payload("text", wa_id=BUDI, text="menu", name="Budi", timestamp=1767225700)
    value = wa.webhook_value(first)
    assert value["contacts"] == [{"profile": {"name": "Budi"}, "wa_id": BUDI}]
    message = value["messages"][0]
    assert message["from"] == BUDI and message["text"] == {"body": "menu"}
    assert message["timestamp"] == "1767225700"
    assert message["id"].startswith("wamid.HBgN")  # 13 digits: base64 "\x1c\x18\x0d"...
    ids = {wa.webhook_value(wa.webhook_payload("text"))["messages"][0]["id"] for _ in range(5)}
    assert len(ids) == 5 and message["id"] not in ids
    fixed = wa.webhook_payload("text", message_id="wamid.SAME")
    assert wa.webhook_value(fixed)["messages"][0]["id"] == "wamid.SAME"
    assert wa.load("text") == wa.load("text")  # the stored fixture is left as it was

    reply = wa.webhook_value(
        wa.webhook_payload(
            "interactive_list_reply",
            reply_id="menu:pelatihan",
            title="Pelatihan kerja",
            description="Daftar pelatihan",
            context_id="wamid.BOT",
        )
    )["messages"][0]
    assert reply["interactive"]["list_reply"] == {
        "id": "menu:pelatihan",
        "title": "Pelatihan kerja",
        "description": "Daftar pelatihan",
    }
    assert reply["context"]["id"] == "wamid.BOT"
    place = wa.webhook_value(wa.webhook_payload("location", latitude=-6.2, longitude=106.9))
    assert place["messages"][0]["location"]["latitude"] == -6.2
    status = wa.webhook_value(wa.webhook_payload("status_read", wa_id=BUDI, message_id="wamid.X"))
    assert status["statuses"][0]["recipient_id"] == BUDI
    assert status["statuses"][0]["id"] == "wamid.X"

    with pytest.raises(ValueError, match="unknown webhook kind"):
        wa.webhook_payload("video")
    with pytest.raises(ValueError, match="text= does not apply"):
        wa.webhook_payload("sticker", text="x")
    with pytest.raises(ValueError, match="unknown overrides"):
        wa.webhook_payload("text", colour="red")
    with pytest.raises(ValueError, match="description= applies"):
        wa.webhook_payload("interactive_button_reply", description="x")


def test_signature_is_the_hmac_of_the_exact_body() -> None:
    body, headers = wa.signed_webhook("reaction", wa_id=BUDI)
    expected = hmac.new(wa.APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}" == wa.sign(body, wa.APP_SECRET)
    assert headers["Content-Type"] == "application/json"
    assert b"\\ud83d\\udc4d" in body and body.isascii()  # 👍 escaped, as Meta sends and signs
    assert json.loads(body)["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] == BUDI
    assert wa.sign(body + b" ", wa.APP_SECRET) != headers["X-Hub-Signature-256"]
    assert wa.sign(body, "other-secret") != headers["X-Hub-Signature-256"]
    assert wa.sign(b"", "s") == "sha256=" + hmac.new(b"s", b"", hashlib.sha256).hexdigest()
    assert wa.verification_params("tok", "42") == {
        "hub.mode": "subscribe",
        "hub.challenge": "42",
        "hub.verify_token": "tok",
    }


# --- accepted sends --------------------------------------------------------------------------


async def test_valid_sends_are_accepted_and_recorded(
    fake: FakeGraphAPI, client: httpx.AsyncClient
) -> None:
    answer = await client.post(path(fake), json=text("Halo, Siti!", to="+62 812-3456-7890"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+62 812-3456-7890", "wa_id": SITI}]
    (sent_id,) = [m["id"] for m in body["messages"]]
    assert sent_id.startswith("wamid.HBgN") and "message_status" not in body["messages"][0]

    located = {"latitude": -6.2349, "longitude": 106.9101, "name": "Kantor Kecamatan"}
    location = {"messaging_product": "whatsapp", "to": SITI, "type": "location"}
    image = {"messaging_product": "whatsapp", "to": BUDI, "type": "image"}
    bodies = [
        buttons("Ya", "Tidak", "Bahasa Indonesia"),
        list_message(rows(4), rows(6, start=4, description="x" * 72)),
        template("pengingat_jadwal", "Siti", "Senin"),
        location | {"location": located},
        image | {"image": {"link": "https://example.org/grafik.png", "caption": "Grafik"}},
        image | {"image": {"id": "1490538318291734"}},
        {"messaging_product": "whatsapp", "to": SITI, "text": {"body": "tanpa type"}},
    ]
    for request in bodies:
        answer = await client.post(path(fake), json=request)
        assert answer.status_code == 200, answer.json()
    assert answer.json()["contacts"][0]["wa_id"] == SITI

    assert [m.type for m in fake.sent] == [
        "text",
        "interactive",
        "interactive",
        "template",
        "location",
        "image",
        "image",
        "text",
    ]
    assert fake.sent[0].id == sent_id and fake.sent[0].to == SITI
    assert fake.sent[0].payload == text("Halo, Siti!", to="+62 812-3456-7890")
    assert fake.sent_texts(SITI) == [
        "Halo, Siti!",
        "Pilih bahasa",
        "Menu utama",
        "pengingat_jadwal",
        "Kantor Kecamatan",
        "tanpa type",
    ]
    assert fake.sent_texts(BUDI) == ["Grafik", ""]
    assert fake.sent[1].options == [
        ("opt:0", "Ya"),
        ("opt:1", "Tidak"),
        ("opt:2", "Bahasa Indonesia"),
    ]
    assert [title for _, title in fake.sent[2].options] == [f"Pilihan {i}" for i in range(10)]
    assert fake.sent_to(SITI, type="template")[0].content["language"] == {"code": "id"}
    assert len({m.id for m in fake.sent}) == len(fake.sent)
    assert not any(c.failed for c in fake.requests) and len(fake.requests) == 8
    assert (await fake.wait_for_sent(8))[-1].text == "tanpa type"


async def test_template_answer_and_approved_templates(clock: ManualClock) -> None:
    async with (
        FakeGraphAPI(clock=clock, templates={"pengingat_jadwal": 2}) as fake,
        httpx.AsyncClient(headers={"Authorization": f"Bearer {fake.token}"}) as http,
    ):
        ok = await http.post(
            fake.messages_url(), json=template("pengingat_jadwal", "Siti", "Senin")
        )
        assert ok.status_code == 200
        assert ok.json()["messages"][0]["message_status"] == "accepted"
        unknown = await http.post(fake.messages_url(), json=template("promo", "x", "y"))
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 132001
        count = await http.post(fake.messages_url(), json=template("pengingat_jadwal", "Siti"))
        assert count.status_code == 400 and count.json()["error"]["code"] == 132000
    assert [m.text for m in fake.sent] == ["pengingat_jadwal"]


# --- refused sends ---------------------------------------------------------------------------


async def test_authentication_and_unknown_objects(
    fake: FakeGraphAPI, client: httpx.AsyncClient
) -> None:
    for headers in ({"Authorization": "Bearer WRONG"}, {"Authorization": ""}):
        answer = await client.post(path(fake), json=text("x"), headers=headers)
        assert answer.status_code == 401
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "code", "error_subcode", "fbtrace_id"}
        assert error["code"] == 190 and error["type"] == "OAuthException"
    query = await client.post(
        path(fake),
        json=text("x"),
        params={"access_token": fake.token},
        headers={"Authorization": ""},
    )
    assert query.status_code == 200
    wrong_number = await client.post(f"/{wa.API_VERSION}/999999999999999/messages", json=text("x"))
    assert wrong_number.status_code == 400 and wrong_number.json()["error"]["code"] == 100
    assert "999999999999999" in wrong_number.json()["error"]["error_data"]["details"]
    bad_version = await client.post(f"/latest/{fake.phone_number_id}/messages", json=text("x"))
    assert bad_version.status_code == 400
    media = await client.post(f"/{wa.API_VERSION}/{fake.phone_number_id}/media")
    assert media.status_code == 400 and media.json()["error"]["code"] == 100
    not_json = await client.post(
        path(fake), content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == 100
    assert len(fake.sent) == 1
    assert [c.status for c in fake.requests] == [401, 401, 200, 400, 400, 400, 400]
    assert fake.requests[0].error_code == 190 and fake.requests[0].body == text("x")


def _with(body: dict[str, Any], *keys: str | int, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with body[keys...] set to `value` (or removed when value is ...)."""
    body = json.loads(json.dumps(body))
    target = body
    for key in keys[:-1]:
        target = target[key]
    if value is ...:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return body


A_ROW = [{"id": "r", "title": "t"}]
INVALID = {
    "text over 4096": (text("x" * 4097), 100),
    "empty text": (text(""), 100),
    "no messaging_product": (_with(text("x"), "messaging_product", value=...), 100),
    "no recipient": (_with(text("x"), "to", value=...), 100),
    "recipient not a number": (text("x", to="siti"), 100),
    "type we do not send": (_with(text("x"), "type", value="video"), 100),
    "text not an object": (_with(text("x"), "text", value="halo"), 100),
    "four buttons": (buttons("a", "b", "c", "d"), 131009),
    "no buttons": (buttons(), 131009),
    "button title of 21": (buttons("x" * 21), 131009),
    "empty button title": (buttons(""), 131009),
    "same button title twice": (buttons("Ya", "Ya"), 131009),
    "same button id twice": (
        _with(
            buttons("Ya", "Tidak"),
            "interactive",
            "action",
            "buttons",
            1,
            "reply",
            "id",
            value="opt:0",
        ),
        131009,
    ),
    "button id of 257": (
        _with(
            buttons("Ya"), "interactive", "action", "buttons", 0, "reply", "id", value="i" * 257
        ),
        131009,
    ),
    "button body of 1025": (buttons("Ya", body="b" * 1025), 131009),
    "button header of 61": (
        _with(buttons("Ya"), "interactive", "header", value={"type": "text", "text": "h" * 61}),
        131009,
    ),
    "eleven rows in two sections": (list_message(rows(5), rows(6, start=5)), 131009),
    "row title of 25": (list_message([{"id": "r", "title": "t" * 25}]), 131009),
    "row description of 73": (list_message(rows(1, description="d" * 73)), 131009),
    "row id of 201": (list_message([{"id": "i" * 201, "title": "t"}]), 131009),
    "same row id twice": (list_message(A_ROW, A_ROW), 131009),
    "list button of 21": (list_message(rows(2), button="b" * 21), 131009),
    "list body of 4097": (list_message(rows(2), body="b" * 4097), 131009),
    "eleven sections": (
        list_message(*[[{"id": f"r{i}", "title": "t"}] for i in range(11)]),
        131009,
    ),
    "untitled section among two": (
        _with(
            list_message(rows(1), rows(1, start=1)),
            "interactive",
            "action",
            "sections",
            1,
            "title",
            value=...,
        ),
        131009,
    ),
    "template without language": (_with(template(), "template", "language", value=...), 100),
    "template without name": (_with(template(), "template", "name", value=...), 100),
    "image with link and id": (
        {
            "messaging_product": "whatsapp",
            "to": SITI,
            "type": "image",
            "image": {"id": "1", "link": "https://x.org/a.png"},
        },
        100,
    ),
    "image with neither": (
        {"messaging_product": "whatsapp", "to": SITI, "type": "image", "image": {}},
        100,
    ),
    "location without latitude": (
        {
            "messaging_product": "whatsapp",
            "to": SITI,
            "type": "location",
            "location": {"longitude": 106.9},
        },
        100,
    ),
    "latitude out of range": (
        {
            "messaging_product": "whatsapp",
            "to": SITI,
            "type": "location",
            "location": {"latitude": 91, "longitude": 0},
        },
        131009,
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_bodies_break_a_rule(case: str) -> None:
    body, code = INVALID[case]
    with pytest.raises(wa.GraphError) as refused:
        wa.validate_message(body)
    assert refused.value.code == code and refused.value.status == 400


async def test_invalid_bodies_are_refused(fake: FakeGraphAPI, client: httpx.AsyncClient) -> None:
    for case, (body, code) in INVALID.items():
        answer = await client.post(path(fake), json=body)
        assert answer.status_code == 400, case
        error = answer.json()["error"]
        assert error["code"] == code and error["message"].startswith(f"(#{code}) "), case
        assert error["type"] == "OAuthException" and error["fbtrace_id"]
        assert error["error_data"]["messaging_product"] == "whatsapp"
        assert error["error_data"]["details"]
    assert fake.sent == []
    assert [c.error_code for c in fake.requests] == [code for _, code in INVALID.values()]


async def test_limits_are_inclusive(fake: FakeGraphAPI, client: httpx.AsyncClient) -> None:
    at_the_limit = [
        text("x" * 4096),
        buttons("x" * 20, "y" * 20, "z" * 20, body="b" * 1024),
        _with(
            buttons("Ya"), "interactive", "action", "buttons", 0, "reply", "id", value="i" * 256
        ),
        list_message(
            [{"id": "i" * 200, "title": "t" * 24, "description": "d" * 72}], button="b" * 20
        ),
        list_message(rows(10), body="b" * 4096),
    ]
    for body in at_the_limit:
        answer = await client.post(path(fake), json=body)
        assert answer.status_code == 200, answer.json()
    assert len(fake.sent) == len(at_the_limit)


# --- scripted failures, rate limits and the 24-hour window --------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (130429, 429),
        (131056, 429),
        (131047, 400),
        (131026, 400),
        (131048, 400),
        (131000, 500),
        (2, 503),
        (368, 403),
    ],
)
async def test_fail_next_answers_the_graph_error(
    code: int, status: int, fake: FakeGraphAPI, client: httpx.AsyncClient
) -> None:
    fake.fail_next(code)
    failed = await client.post(path(fake), json=text("satu"))
    assert failed.status_code == status
    error = failed.json()["error"]
    assert error["code"] == code and error["message"].startswith(f"(#{code})")
    assert (await client.post(path(fake), json=text("dua"))).status_code == 200
    assert fake.sent_texts() == ["dua"]
    assert [c.error_code for c in fake.requests] == [code, None]


async def test_fail_next_times_recipient_and_status(
    fake: FakeGraphAPI, client: httpx.AsyncClient
) -> None:
    fake.fail_next(131056, times=2, to=BUDI)
    fake.fail_next(131000, status=502, details="upstream timeout")
    assert (await client.post(path(fake), json=text("1", to=SITI))).status_code == 502
    assert (await client.post(path(fake), json=text("2", to=SITI))).status_code == 200
    for _ in range(2):
        answer = await client.post(path(fake), json=text("3", to=BUDI))
        assert answer.status_code == 429 and answer.json()["error"]["code"] == 131056
    assert (await client.post(path(fake), json=text("4", to=BUDI))).status_code == 200
    assert fake.requests[0].body["text"]["body"] == "1"
    assert fake.sent_texts() == ["2", "4"]
    invalid = await client.post(path(fake), json=buttons("a", "b", "c", "d"))
    assert invalid.json()["error"]["code"] == 131009  # validation comes first


async def test_rate_limit_refuses_beyond_the_throughput(
    fake: FakeGraphAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    fake.limit_rate(2)
    codes = [(await client.post(path(fake), json=text(str(i)))).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    limited = fake.requests[-1]
    assert limited.error_code == 130429 and fake.rate_limited == 1
    clock.advance(0.5)  # half a second: one more token
    assert (await client.post(path(fake), json=text("3"))).status_code == 200
    assert (await client.post(path(fake), json=text("4"))).status_code == 429
    clock.advance(10)  # the bucket holds one second's worth, not ten
    codes = [(await client.post(path(fake), json=text(str(i)))).status_code for i in range(3)]
    assert codes == [200, 200, 429]
    assert fake.rate_limited == 3 and fake.sent_texts() == ["0", "1", "3", "0", "1"]


async def test_pair_rate_limit_is_per_recipient(
    fake: FakeGraphAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    fake.limit_pair_rate(1 / 6)  # one message every six seconds to the same user
    assert (await client.post(path(fake), json=text("a", to=SITI))).status_code == 200
    second = await client.post(path(fake), json=text("b", to=SITI))
    assert second.status_code == 429 and second.json()["error"]["code"] == 131056
    assert (await client.post(path(fake), json=text("c", to=BUDI))).status_code == 200
    clock.advance(6)
    assert (await client.post(path(fake), json=text("d", to=SITI))).status_code == 200
    assert fake.sent_texts() == ["a", "c", "d"]


async def test_window_refuses_free_form_messages_outside_it(
    fake: FakeGraphAPI, client: httpx.AsyncClient
) -> None:
    fake.enforce_window(SITI)
    outside = await client.post(path(fake), json=text("halo", to=BUDI))
    assert outside.status_code == 400
    assert outside.json()["error"]["code"] == 131047
    assert "24 hours" in outside.json()["error"]["error_data"]["details"]
    for free_form in (buttons("Ya", to=BUDI), _with(template(), "to", value=BUDI)):
        answer = await client.post(path(fake), json=free_form)
        assert answer.status_code == (200 if free_form["type"] == "template" else 400)
    assert (await client.post(path(fake), json=text("halo", to=SITI))).status_code == 200
    fake.open_window(BUDI)
    fake.close_window(SITI)
    assert (await client.post(path(fake), json=text("lagi", to=BUDI))).status_code == 200
    assert (await client.post(path(fake), json=text("lagi", to=SITI))).status_code == 400
    assert [(m.to, m.type) for m in fake.sent] == [
        (BUDI, "template"),
        (SITI, "text"),
        (BUDI, "text"),
    ]
    assert fake.pending_statuses == []


async def test_window_in_status_mode_accepts_then_reports_failure(
    fake: FakeGraphAPI, client: httpx.AsyncClient
) -> None:
    fake.enforce_window(mode="status")
    answer = await client.post(path(fake), json=text("halo", to=BUDI))
    assert answer.status_code == 200
    (pending,) = fake.pending_statuses
    (status,) = wa.webhook_value(pending)["statuses"]
    assert status["id"] == answer.json()["messages"][0]["id"] == fake.sent[0].id
    assert status["status"] == "failed" and status["recipient_id"] == BUDI
    assert status["errors"][0]["code"] == 131047
    delivered = wa.webhook_value(fake.status_webhook(fake.sent[0], "read"))["statuses"][0]
    assert delivered["status"] == "read" and delivered["id"] == fake.sent[0].id


async def test_wait_for_reports_what_happened(fake: FakeGraphAPI) -> None:
    with pytest.raises(AssertionError, match="at least 1 messages accepted still false"):
        await fake.wait_for_sent(1, timeout=0.05)
