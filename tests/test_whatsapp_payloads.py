"""WhatsApp's shapes: every fixture read into what the engine takes, and replies rendered into
bodies the Graph API accepts (checked by the fake's validator) — buttons, lists, numbered text,
short labels instead of cut ones, long texts in parts, places, templates."""

from pathlib import Path

import pytest

from bot.channels.whatsapp_payloads import (
    Template,
    TemplatesProblem,
    load_templates,
    read_webhook,
    render,
    signature_ok,
    template_body,
)
from handlers.messages import Kind, Option, Place, Reply
from tests.fake_whatsapp import APP_SECRET, sign, validate_message, webhook_body, webhook_payload

WA_ID = "6281234567890"


def valid(body: dict, templates: dict[str, int] | None = None) -> str:
    """Check a rendered body as the Graph API would; return its type."""
    _to, kind = validate_message({"messaging_product": "whatsapp", "to": WA_ID, **body}, templates)
    return kind


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("text", Kind.TEXT),
        ("interactive_button_reply", Kind.OPTION),
        ("interactive_list_reply", Kind.OPTION),
        ("location", Kind.LOCATION),
        ("contacts", Kind.CONTACT),
        ("image", Kind.PHOTO),
        ("audio", Kind.VOICE),
        ("sticker", Kind.STICKER),
        ("document", Kind.DOCUMENT),
        ("reaction", Kind.REACTION),
        ("unsupported", Kind.OTHER),
    ],
)
def test_every_kind_of_message_is_read(kind: str, expected: Kind) -> None:
    delivery = read_webhook(webhook_payload(kind))
    [message] = delivery.messages
    assert message.kind == expected
    assert (message.channel, message.external_id) == ("whatsapp", WA_ID)
    assert message.message_id.startswith("wamid.")
    assert message.sender_phone == "+6281234567890"
    assert delivery.statuses == []


def test_the_details_of_texts_taps_places_and_contacts() -> None:
    [text] = read_webhook(webhook_payload("text", text="Cek status bansos")).messages
    assert text.text == "Cek status bansos"
    payload = webhook_payload("interactive_list_reply", reply_id="svc:bansos", title="Cek")
    [tap] = read_webhook(payload).messages
    assert tap.option == "svc:bansos"
    [where] = read_webhook(webhook_payload("location", latitude=-6.23, longitude=106.9)).messages
    assert (where.latitude, where.longitude) == (-6.23, 106.9)
    [card] = read_webhook(webhook_payload("contacts")).messages
    assert card.phone and card.contact_is_own == (card.phone.lstrip("+") == WA_ID)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("status_sent", "sent", None),
        ("status_delivered", "delivered", None),
        ("status_read", "read", None),
        ("status_failed_131047", "failed", 131047),
        ("status_failed_131026", "failed", 131026),
    ],
)
def test_status_reports_are_read(kind: str, status: str, code: int | None) -> None:
    delivery = read_webhook(webhook_payload(kind, message_id="wamid.OUT-1"))
    [report] = delivery.statuses
    assert (report.message_id, report.status, report.error_code) == ("wamid.OUT-1", status, code)
    assert report.recipient == WA_ID
    assert delivery.messages == []


def test_odd_payloads_are_skipped_not_fatal() -> None:
    odd = {"object": "whatsapp_business_account", "entry": [{"changes": [None]}, None]}
    for payload in ({}, [], {"object": "page"}, {"object": "whatsapp_business_account"}, odd):
        assert read_webhook(payload).messages == []
    broken = webhook_payload("text")
    broken["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = None
    assert read_webhook(broken).messages == []


def test_the_signature_is_over_the_raw_bytes_in_constant_time() -> None:
    body = webhook_body(webhook_payload("text", text="Selamat pagi ☀️"))
    assert b"\\u2600" in body  # non-ASCII escaped, as Meta signs it
    assert signature_ok(body, sign(body, APP_SECRET), APP_SECRET)
    assert signature_ok(
        body, sign(body, APP_SECRET).upper().replace("SHA256", "sha256"), APP_SECRET
    )
    assert not signature_ok(body, sign(body, "other"), APP_SECRET)
    assert not signature_ok(body + b" ", sign(body, APP_SECRET), APP_SECRET)
    assert not signature_ok(body, None, APP_SECRET)
    assert not signature_ok(body, sign(body, APP_SECRET), "")


# -- rendering ----------------------------------------------------------------------------------


def options(*labels: str, short: str = "") -> tuple[Option, ...]:
    return tuple(Option(f"k{number}", label, short=short) for number, label in enumerate(labels))


def test_up_to_three_short_options_are_reply_buttons() -> None:
    [body] = render(Reply("Apakah Bapak/Ibu setuju?", options("Saya setuju", "Tidak")), "id")
    assert valid(body) == "interactive" and body["interactive"]["type"] == "button"
    titles = [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]]
    assert titles == ["Saya setuju", "Tidak"]


def test_a_label_too_long_for_a_button_makes_a_list_with_the_label_whole() -> None:
    reply = Reply("Pilih:", options("Daftar ulang data saya", "Batal"))  # 22 characters
    [body] = render(reply, "id")
    assert body["interactive"]["type"] == "list"  # not a cut button title
    assert valid(body) == "interactive"
    titles = [row["title"] for row in body["interactive"]["action"]["sections"][0]["rows"]]
    assert titles == ["Daftar ulang data saya", "Batal"]


def test_short_labels_are_used_and_the_whole_label_is_the_description() -> None:
    long = Option("apply:status", "Status of my applications", short="My applications")
    reply = Reply("What would you like?", (long, *options("Scholarship", "Capital", "Menu")))
    [body] = render(reply, "en")
    assert valid(body) == "interactive"
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {
        "id": "apply:status",
        "title": "My applications",
        "description": "Status of my applications",
    }
    assert body["interactive"]["action"]["button"] == "Choose"
    [two] = render(Reply("?", (long, *options("Menu"))), "en")
    assert two["interactive"]["type"] == "button"  # the short label fits a button too
    assert two["interactive"]["action"]["buttons"][0]["reply"]["title"] == "My applications"


def test_more_than_ten_or_too_long_everywhere_is_numbered_text_never_cut() -> None:
    many = Reply("Pilih RW:", options(*(f"RW {n:03d}" for n in range(1, 16))))
    [body] = render(many, "id")
    assert valid(body) == "text"
    assert body["text"]["body"].endswith("15. RW 015")
    too_long = Reply("Pilih:", options("Pemeriksaan tekanan darah dan gula darah gratis"))
    [numbered] = render(too_long, "id")
    assert "1. Pemeriksaan tekanan darah dan gula darah gratis" in numbered["text"]["body"]


def test_long_texts_go_in_parts_and_the_buttons_under_the_last() -> None:
    paragraph = "Informasi jadwal pembagian sembako untuk RW 05. " * 40  # ~1,900 characters
    text = "\n\n".join([paragraph] * 5)  # ~9,800
    bodies = render(Reply(text, options("Ya", "Tidak")), "id")
    assert [valid(body) for body in bodies][:-1] == ["text"] * (len(bodies) - 1)
    assert bodies[-1]["type"] == "interactive"
    assert all(len(b["text"]["body"]) <= 4096 for b in bodies[:-1])
    assert len(bodies[-1]["interactive"]["body"]["text"]) <= 1024
    parts = [body["text"]["body"] for body in bodies[:-1]]
    assert " ".join(parts).split() == text.split()  # every word, once, in order
    # the last part is too long to sit above buttons: they follow under a short question
    assert bodies[-1]["interactive"]["body"]["text"] == "Silakan pilih:"


def test_a_place_follows_as_a_location_message() -> None:
    place = Place(-6.2179, 106.9012, "Kantor Kelurahan Klender", "Jl. Bekasi Timur Raya No. 3")
    bodies = render(Reply("Lokasi terdekat:", place=place), "id")
    assert [valid(body) for body in bodies] == ["text", "location"]
    assert bodies[1]["location"]["name"] == "Kantor Kelurahan Klender"


def test_templates_carry_the_text_on_one_line(tmp_path: Path) -> None:
    body = template_body(Template("pengingat_layanan", "id"), "Pengingat:\n\nBesok\t08.00   WIB")
    assert valid(body, {"pengingat_layanan": 1}) == "template"
    assert body["template"]["components"][0]["parameters"][0]["text"] == (
        "Pengingat: · Besok 08.00 WIB"
    )
    assert template_body(Template("pengingat_layanan", "id"), "x" * 901) is None
    path = tmp_path / "templates.toml"
    path.write_text(
        '[reminder.id]\nname = "pengingat_layanan"\n[reminder.en]\nname = "service_reminder"\n'
        'language = "en_US"\n'
    )
    found = load_templates(path)
    assert found["reminder", "en"] == Template("service_reminder", "en_US")
    path.write_text('[greeting.id]\nname = "x"\n')
    with pytest.raises(TemplatesProblem, match="unknown template kind 'greeting'"):
        load_templates(path)
    assert load_templates(None) == {}


def test_notices_and_taken_back_reactions_get_no_answer_and_other_numbers_are_not_ours() -> None:
    taken_back = webhook_payload("reaction", emoji="")
    assert read_webhook(taken_back).messages == []
    changed = webhook_payload("text")
    message = changed["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(type="system", system={"body": "Nomor diganti", "type": "user_changed_number"})
    del message["text"]
    assert read_webhook(changed).messages == []
    ours = webhook_payload("text", phone_number_id="111")
    assert read_webhook(ours, "111").messages
    assert read_webhook(ours, "222").messages == []  # another number of the same Meta app


def test_the_time_the_resident_wrote_is_kept() -> None:
    [message] = read_webhook(webhook_payload("text", timestamp="1764295200")).messages
    assert message.sent_at.isoformat() == "2025-11-28T02:00:00+00:00"
