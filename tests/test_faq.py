"""Answers to frequent questions, from data: the data files checked, and transcripts through the
engine in both languages. Until the free-text classifier is wired into the engine, a stand-in at
the main menu reads a few exact sentences as their labels and calls `faq.answer_faq`, as the
classifier will."""

import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from handlers import faq, faq_data, flows, menu
from handlers.engine import Engine
from handlers.faq_data import FaqProblem, parse_entry
from handlers.messages import Incoming, Kind
from handlers.positions import FlowName, MenuStep
from handlers.steps import Context, EngineConfig, Expect, Flow, Outcome
from handlers.text import normalise
from storage import offices
from tests.conftest import TEST_KEY
from tests.helpers import Chat
from tests.test_buttons import STALE
from tests.test_registration import HAPPY_EN, HAPPY_ID

ROOT = Path(__file__).resolve().parent.parent
INTENTS = [
    "faq:sembako_bring",
    "faq:representative",
    "faq:kjp_requirements",
    "faq:capital_requirements",
    "faq:payment_schedule",
    "faq:dtsen",
    "faq:usulan",
    "faq:office_hours",
    "faq:office_contact",
    "faq:lost_card",
    "faq:fees",
    "faq:privacy",
]
# the stand-in classifier: these messages, typed at the menu, are these questions
LABELS = {
    "syarat kjp apa": "faq:kjp_requirements",
    "kjp requirements please": "faq:kjp_requirements",
    "pkh cair bulan apa": "faq:payment_schedule",
    "kapan bansos cair": "faq:payment_schedule",
    "when is kjp plus paid": "faq:payment_schedule",
    "bantuan pangan non tunai kapan cair": "faq:payment_schedule",
    "no telp kelurahan berapa": "faq:office_contact",
    "where is the kelurahan office": "faq:office_contact",
    "kelurahan buka jam berapa": "faq:office_hours",
    "what time does the kelurahan office open": "faq:office_hours",
    "modal usaha syaratnya apa": "faq:capital_requirements",
    "ambil sembako bawa apa": "faq:sembako_bring",
    "what to bring for sembako": "faq:sembako_bring",
}


# -- the data --------------------------------------------------------------------------------


def test_every_frequent_question_of_the_intents_is_answered() -> None:
    assert set(INTENTS) <= set(faq.labels())
    assert len(faq.labels()) == len(set(faq.labels()))


@pytest.mark.parametrize("entry", faq.entries(), ids=lambda entry: entry.id)
def test_each_entry_has_both_languages_a_source_services_and_phrasings(entry) -> None:
    assert entry.answer("id") and entry.answer("en") and entry.answer("id") != entry.answer("en")
    assert "Bapak/Ibu" in entry.answer("id") or entry.fill == "office_contact"
    assert entry.source
    assert set(entry.services) <= faq.service_keys()
    for language in ("id", "en"):
        found = entry.phrasings[language]
        assert 6 <= len(found) <= 10, (entry.id, language)
        assert len({normalise(text) for text in found}) == len(found)  # no doubles


def test_phrasings_are_label_language_text_for_the_classifier() -> None:
    found = faq.phrasings()
    assert ("faq:kjp_requirements", "id", "syarat kjp apa?") in found
    assert {label for label, _language, _text in found} == set(faq.labels())
    assert {language for _label, language, _text in found} == {"id", "en"}
    assert all(text.strip() for _label, _language, text in found)


GOOD = {
    "id": "faq:example",
    "answer_id": "Jawaban, Bapak/Ibu.",
    "answer_en": "Answer.",
    "source": "demo",
    "services": ["svc:sembako"],
    "phrasings_id": [f"tanya {n}" for n in range(6)],
    "phrasings_en": [f"ask {n}" for n in range(6)],
}


@pytest.mark.parametrize(
    "change",
    [
        {"answer_en": ""},
        {"source": ""},
        {"id": "example"},
        {"fill": "weather"},
        {"phrasings_en": ["only one"]},
        {"services": "svc:sembako"},
    ],
)
def test_a_wrong_entry_is_refused_with_its_reason(change: dict) -> None:
    assert parse_entry(GOOD).demo
    with pytest.raises(FaqProblem):
        parse_entry({**GOOD, **change})


def test_an_entry_leading_to_an_unknown_service_is_refused(monkeypatch) -> None:
    wrong = parse_entry({**GOOD, "services": ["svc:weather"]})
    monkeypatch.setattr(faq_data, "entries", lambda: (wrong,))
    faq.entries.cache_clear()
    try:
        with pytest.raises(FaqProblem, match="svc:weather"):
            faq.entries()
    finally:
        faq.entries.cache_clear()


def test_the_offices_are_the_kecamatan_and_each_kelurahan_as_the_repository_spells_them():
    wilayah = tomllib.loads((ROOT / "storage/demo/wilayah.toml").read_text(encoding="utf-8"))
    names = {place["code"]: place["name"] for place in wilayah["kelurahan"]}
    found = offices.offices()
    assert found[0].key == offices.KECAMATAN and found[0].name == "Kantor Kecamatan Duren Sawit"
    assert {office.kelurahan_code: office.name for office in found[1:]} == {
        code: f"Kantor Kelurahan {name}" for code, name in names.items()
    }
    for office in found:  # invented values say so; the phone numbers are not dialable
        assert office.phone.demo and "0000" in office.phone.text
        assert office.hours_in("id").text != office.hours_in("en").text


def test_every_program_says_when_it_pays_in_both_languages_with_its_source() -> None:
    data = tomllib.loads((ROOT / "storage/data/programs.toml").read_text(encoding="utf-8"))
    for program in data["program"]:
        assert program["id"]["schedule"] and program["en"]["schedule"], program["code"]
        assert program["schedule_source"], program["code"]


# -- transcripts -----------------------------------------------------------------------------


def with_stand_in(conversations):
    """Return the conversations with a main menu that reads LABELS as the classifier will."""
    home = conversations.flows[FlowName.MENU].steps[MenuStep.MAIN]

    def take(ctx: Context, msg: Incoming) -> Outcome:
        label = LABELS.get(normalise(msg.text)) if msg.kind == Kind.TEXT else None
        if label is not None:
            return faq.answer_faq(ctx, label, msg.text)
        return home.answer(ctx, msg)

    step = replace(home, answer=take, expects=Expect.TEXT)
    flows_ = {**conversations.flows, FlowName.MENU: Flow(FlowName.MENU, {MenuStep.MAIN: step})}
    return replace(conversations, flows=flows_)


@pytest.fixture
def engine(database, clock) -> Iterator[Engine]:
    """The engine with every flow, and the stand-in classifier at the main menu."""
    engine = Engine(
        database, with_stand_in(flows.build()), EngineConfig(nik_key=TEST_KEY), clock=clock
    )
    yield engine
    engine.close()


@pytest.fixture
async def siti(chat: Chat) -> Chat:
    """Siti Aminah, registered in Indonesian, lives in Klender RW 005."""
    await chat.run(HAPPY_ID)
    return chat


@pytest.fixture
async def budi(chat: Chat) -> Chat:
    """Budi Santoso, registered in English, lives in Pondok Bambu RW 014."""
    await chat.run(HAPPY_EN)
    return chat


@pytest.fixture
async def newcomer(chat: Chat) -> Chat:
    """Someone who chose Indonesian and declined consent: no kelurahan known."""
    await chat.run([("halo", "Selamat datang"), ("1", "setuju?"), ("tidak", "Tidak apa-apa")])
    return chat


async def test_kjp_requirements_answer_with_buttons_to_the_services(siti: Chat) -> None:
    await siti.send("syarat KJP apa?")
    assert "Syarat KJP Plus: anak bersekolah di SD sampai SMA/SMK atau PKBM" in siti.text
    assert "Sumber: Pemprov DKI Jakarta (KJP Plus)" in siti.text
    assert "Mohon pilih" not in siti.text  # an answer, not the menu again
    assert siti.keys == ["svc:apply", "svc:eligibility", "fq:menu"]
    assert siti.labels == ["Beasiswa & modal usaha", "Cek kelayakan", "Menu utama"]
    await siti.tap("svc:apply")
    assert "apply:scholarship" in siti.keys and "apply:capital" in siti.keys


async def test_in_english_typing_the_number_of_a_button_opens_the_service(budi: Chat) -> None:
    await budi.send("kjp requirements please")
    assert "Requirements for KJP Plus: the child attends primary" in budi.text
    assert "Source: Pemprov DKI Jakarta (KJP Plus)" in budi.text
    assert budi.labels == ["Scholarships & capital", "Check eligibility", "Main menu"]
    await budi.send("2")
    assert "Check eligibility: six short questions about your household" in budi.text


async def test_the_menu_button_and_the_short_question_again(siti: Chat) -> None:
    await siti.send("ambil sembako bawa apa")
    assert "bawa KTP asli, Kartu Keluarga (KK), dan kartu KKS" in siti.text
    assert "Sumber: Kemensos (Program Sembako)" in siti.text
    await siti.send("xyz")  # no button: the short question, not the whole answer again
    assert "Apa yang ingin Bapak/Ibu lakukan selanjutnya?" in siti.text
    assert "bawa KTP asli" not in siti.text
    await siti.send("Jadwal sembako")
    assert "Belum ada jadwal pembagian sembako untuk Kelurahan Klender, RW 005" in siti.text
    await siti.send("ambil sembako bawa apa")
    await siti.send("Menu utama")
    assert "Menu utama. Ada yang bisa kami bantu, Bapak/Ibu Siti Aminah?" in siti.text


async def test_when_a_program_pays_answers_for_the_program_named(siti: Chat) -> None:
    await siti.send("PKH cair bulan apa?")
    assert "• Program Keluarga Harapan (PKH): 4 tahap setahun" in siti.text
    assert "tahap 4 Oktober–Desember" in siti.text
    assert "BPNT" not in siti.text and "KJP" not in siti.text
    assert siti.keys == ["svc:bansos", "fq:menu"]
    await siti.send("menu")
    await siti.send("bantuan pangan non tunai kapan cair")  # "pangan" is a program too
    assert "(BPNT): Rp200.000 untuk setiap bulan" in siti.text
    assert "(PANGAN)" not in siti.text


async def test_when_no_program_is_named_every_program_is_listed(siti: Chat) -> None:
    await siti.send("kapan bansos cair")
    for code in ("PKH", "BPNT", "KJP_PLUS", "KLJ", "PBI_JK"):
        assert f"({code}):" in siti.text
    assert "Sumber: Kemensos; Pemprov DKI Jakarta" in siti.text


async def test_when_a_program_pays_in_english(budi: Chat) -> None:
    await budi.send("When is KJP Plus paid?")
    assert "• Kartu Jakarta Pintar Plus (KJP_PLUS): Every month, to the Bank DKI" in budi.text
    assert "(PKH)" not in budi.text


async def test_office_contact_of_a_resident_of_klender(siti: Chat) -> None:
    await siti.send("no telp kelurahan berapa")
    text = siti.text
    assert text.index("• Kantor Kelurahan Klender") < text.index("• Kantor Kecamatan Duren Sawit")
    assert "  Alamat: Jl. Bekasi Timur Raya No. 3, Klender (data contoh)" in text
    assert "  Telepon: (021) 0000 0103 (data contoh)" in text
    assert "  Jam layanan: Senin–Jumat 08.00–15.00 WIB, kecuali hari libur (data contoh)" in text
    assert "Pondok Kopi" not in text and "Isi kelurahan" not in text
    assert siti.keys == ["fq:menu"]


async def test_office_contact_without_a_kelurahan_lists_every_office(newcomer: Chat) -> None:
    await newcomer.send("no telp kelurahan berapa")
    text = newcomer.text
    assert text.index("• Kantor Kecamatan Duren Sawit") < text.index("• Kantor Kelurahan")
    for name in ("Pondok Bambu", "Duren Sawit", "Pondok Kelapa", "Pondok Kopi", "Malaka Jaya"):
        assert f"• Kantor Kelurahan {name}\n" in text
    assert "• Kantor Kelurahan Malaka Sari" in text and "• Kantor Kelurahan Klender" in text
    assert "  Alamat: Jl. Swadaya 6/4, Duren Sawit, Jakarta Timur (data contoh)" in text
    assert "Isi kelurahan Bapak/Ibu di profil" in text


async def test_office_hours_in_english(budi: Chat) -> None:
    await budi.send("What time does the kelurahan office open?")
    text = budi.text
    assert "• Kantor Kelurahan Pondok Bambu: Monday–Friday 08.00–15.00 WIB" in text
    assert "except public holidays (example data)" in text
    assert "• Kantor Kecamatan Duren Sawit: Monday–Friday 08.00–16.00 WIB" in text
    assert "Klender" not in text


async def test_capital_requirements_give_the_limits_from_the_rules(siti: Chat) -> None:
    await siti.send("modal usaha syaratnya apa")
    assert "Besar modal: Rp500.000 sampai Rp10.000.000." in siti.text
    assert "paling sedikit 6 bulan. (data contoh)" in siti.text
    await siti.tap("svc:apply")
    assert "apply:capital" in siti.keys


async def test_a_changed_language_shows_the_answer_again_in_it(siti: Chat) -> None:
    await siti.send("ambil sembako bawa apa")
    await siti.send("bahasa")
    await siti.send("English")
    assert "bring your original KTP, the family card (KK) and the KKS card" in siti.text
    assert siti.labels == ["Sembako schedule", "Main menu"]


async def test_a_faq_button_opens_its_answer_from_anywhere(budi: Chat) -> None:
    await budi.tap("faq:dtsen")
    assert "DTSEN (Data Tunggal Sosial Ekonomi Nasional) is the government's data" in budi.text
    assert "Source: Inpres 4/2025; Kepmensos 79/HUK/2025" in budi.text
    assert budi.keys == ["svc:bansos", "svc:eligibility", "fq:menu"]
    await budi.tap("svc:bansos")
    assert "NIK" in budi.text


async def test_asked_in_the_middle_of_registration_the_resident_carries_on(chat: Chat) -> None:
    await chat.run(HAPPY_ID[:4])  # at the kelurahan question, the name kept
    await chat.tap(faq.button_key("faq:office_hours"))
    assert "Kantor kelurahan dan kecamatan melayani Bapak/Ibu pada hari kerja." in chat.text
    assert chat.labels == ["Lanjutkan yang tadi", "Menu utama"]
    await chat.send("lanjut")
    assert "Bapak/Ibu tinggal di kelurahan mana?" in chat.text
    await chat.run(HAPPY_ID[4:])  # the name typed before the question is still there


async def test_an_unknown_button_is_stale_and_an_unknown_label_is_refused(budi: Chat) -> None:
    for key in ("faq:no_such_question", "faq:", "faq:dtsen:1", "faq:" + "x" * 61):
        await budi.tap(key)
        assert budi.text.startswith(STALE), key
        assert "Main menu" in budi.text
    with pytest.raises(ValueError):
        faq.answer_faq(None, "faq:no_such_question")  # type: ignore[arg-type]


def test_every_service_of_the_menu_may_be_led_on_to() -> None:
    assert set(menu.SERVICES) <= faq.service_keys()
    assert {"svc:register", "svc:profile", "svc:help"} <= faq.service_keys()
