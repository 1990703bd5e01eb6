"""Evaluator surveys: the file checked, `survey send` to a segment (roles, kelurahan limit,
berhenti, sending again), the invitation answered in chat question by question (every kind,
bad input, skip, pause and resume, stale buttons, closing), `export survey ID` (columns, no
name, no NIK, XLSX), erasure, and the whole path over the fake Telegram server."""

import csv
import io
import tomllib
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine as Database
from sqlalchemy import select

from bot import broadcasting, surveying
from bot.__main__ import parse_args, run_staff_command
from bot.settings import Settings
from handlers.broadcast_reports import report_text
from handlers.messages import Kind
from storage import audit, broadcasts, staff, survey_responses, surveys
from storage.broadcasts import Broadcast
from storage.erasure import erase_resident
from storage.outbox import Outbound, OutboundKind, OutboundStatus
from storage.residents import Resident
from storage.staff import PARTNERS_FILE, Role
from storage.survey_file import SurveyFile, SurveyFileProblem, from_data, read
from storage.surveys import SurveyAnswer, SurveyResponse
from storage.types import utcnow
from tests import telegram_updates as tg
from tests.conftest import TEST_DATABASE_URL, TEST_KEY
from tests.fake_telegram import FakeBotAPI
from tests.helpers import Chat
from tests.test_outbound import new_drainer
from tests.test_platform_limits import misfits
from tests.test_registration import HAPPY_EN, HAPPY_ID, stored
from tests.test_telegram import Telegram, inline_data, register, start_channel

KLENDER = "31.75.07.1003"
BAMBU = "31.75.07.1002"
NIK = "3175071234567890"
EXAMPLE = Path("storage/data/survey-example.toml")

SURVEY = """
code = "sembako-des"
title = { id = "Layanan sembako", en = "Sembako service" }
intro = { id = "Empat pertanyaan singkat.", en = "Four short questions." }

[[questions]]
key = "puas"
kind = "rating"
text = { id = "Seberapa puas Bapak/Ibu?", en = "How satisfied are you?" }

[[questions]]
key = "jarak"
kind = "choice"
text = { id = "Seberapa jauh tempat pengambilan?", en = "How far is the pickup place?" }
choices = [
  { key = "dekat", id = "Dekat", en = "Close" },
  { key = "sedang", id = "Sedang", en = "Medium" },
  { key = "jauh", id = "Jauh sekali", en = "Very far" },
]

[[questions]]
key = "anggota"
kind = "number"
min = 1
max = 20
text = { id = "Berapa orang serumah?", en = "How many people at home?" }

[[questions]]
key = "saran"
kind = "text"
required = false
max_length = 200
text = { id = "Ada saran?", en = "Any suggestion?" }
"""


@pytest.fixture(autouse=True)
def no_login_in_the_environment(monkeypatch, clock) -> None:
    """Start every test without STAFF_LOGIN, the commands on the test's clock."""
    monkeypatch.delenv("STAFF_LOGIN", raising=False)
    monkeypatch.setattr(surveying, "utcnow", clock)


@pytest.fixture
def settings(database: Database, tmp_path: Path, clock) -> Settings:
    """Settings pointing the commands at the test database, with an evaluator (whole
    kecamatan), one limited to Pondok Bambu, and the accounts of the partners file."""
    with database.begin() as db:
        staff.load(db=db, source=PARTNERS_FILE, now=clock())  # admin, petugas, partner ypp
        staff.add(db=db, login="eva", name="Eva", role=Role.EVALUATOR, now=clock(),
                  channel="console", external_id="eva")  # fmt: skip
        staff.add(db=db, login="eva-bambu", name="Eva B", role=Role.EVALUATOR, now=clock(),
                  kelurahan_code=BAMBU)  # fmt: skip
    url = TEST_DATABASE_URL or database.url.render_as_string(hide_password=False)
    return Settings(database_url=url, data_dir=tmp_path / "data", nik_pepper=TEST_KEY.decode())


def cli(settings: Settings, *args: str) -> int:
    """Run a command in this process, as `python -m bot` parses it."""
    return run_staff_command(settings, parse_args(list(args)))


def survey_file(tmp_path: Path, text: str = SURVEY, name: str = "survei.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def invitations(database: Database) -> list[Outbound]:
    with database.connect() as db:
        rows = db.execute(
            select(Outbound.__table__)
            .where(Outbound.kind == OutboundKind.SURVEY)
            .order_by(Outbound.id)
        ).all()
    return [Outbound.model_validate(row._asdict()) for row in rows]


def answers_of(database: Database) -> dict[str, tuple]:
    with database.connect() as db:
        rows = db.execute(select(SurveyAnswer.question, SurveyAnswer.value, SurveyAnswer.number))
        return {question: (value, number) for question, value, number in rows}


def responses(database: Database) -> list:
    with database.connect() as db:
        return db.execute(select(SurveyResponse.__table__).order_by(SurveyResponse.id)).all()


async def residents_of_two_kelurahan(engine) -> tuple[Chat, Chat]:
    """Siti of Klender (Indonesian) and Budi of Pondok Bambu (English), registered."""
    siti, budi = Chat(engine, "siti"), Chat(engine, "budi")
    await siti.run(HAPPY_ID)
    await budi.run(HAPPY_EN)
    return siti, budi


# -- the file ------------------------------------------------------------------------------------


def test_the_example_and_a_yaml_file_read_the_same(tmp_path: Path) -> None:
    example = read(EXAMPLE)
    assert [q.kind.value for q in example.questions] == ["rating", "choice", "number", "text"]
    as_yaml = """
code: sembako-des
title: {id: Layanan sembako, en: Sembako service}
intro:
  id: Empat pertanyaan singkat.
  en: Four short questions.
questions:
  - key: puas
    kind: rating
    text: {id: "Seberapa puas Bapak/Ibu?", en: "How satisfied are you?"}
  - key: jarak
    kind: choice
    text:
      id: Seberapa jauh tempat pengambilan?
      en: How far is the pickup place?
    choices:
      - {key: dekat, id: Dekat, en: Close}
      - {key: sedang, id: Sedang, en: Medium}
      - {key: jauh, id: Jauh sekali, en: Very far}
  - key: anggota
    kind: number
    min: 1
    max: 20
    text: {id: "Berapa orang serumah?", en: "How many people at home?"}
  - key: saran
    kind: text
    required: false
    max_length: 200
    text: {id: "Ada saran?", en: "Any suggestion?"}
"""
    from_yaml = read(Path(survey_file(tmp_path, as_yaml, "survei.yaml")))
    assert from_yaml == read(Path(survey_file(tmp_path)))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('code = "sembako-des"', 'code = "Sembako Des!"'), "code:"),
        (('en = "Sembako service"', 'en = ""'), "title: the en text is missing"),
        (('kind = "rating"', 'kind = "stars"'), "kind is one of choice, rating, number, text"),
        (('key = "jarak"', 'key = "puas"'), "the key 'puas' is used twice"),
        (("min = 1", "min = 30"), "min and max are whole numbers, min below max"),
        (("max_length = 200", "max_length = 5000"), "max_length is 1 to 1000"),
        (('{ key = "sedang", id = "Sedang", en = "Medium" },', ""), None),  # two are enough
        (
            ('{ key = "jauh", id = "Jauh sekali", en = "Very far" },', '{ key = "jauh" },'),
            "choice jauh: the id text is missing",
        ),
        (('{ key = "sedang",', '{ key = "dekat",'), "two choices have the same key"),
        (("[[questions]]", "[[question]]"), "questions: 1 to 30"),
        (("required = false", 'required = "no"'), "required is true or false"),
        (('en = "Medium"', "en = true"), "put the en text True in quotes"),
        (
            ('en = "Medium"', 'en = "Somewhere in the middle"'),
            "the en label 'Somewhere in the middle' has 23 characters and WhatsApp shows 20 here",
        ),
        (('en = "Medium" }', 'en = "Somewhere in the middle", short_en = "In between" }'), None),
        (
            (
                '{ key = "jauh", id = "Jauh sekali", en = "Very far" },',
                "".join(f'{{ key = "k{n}", id = "P{n}", en = "C{n}" }},' for n in range(8)),
            ),
            None,
        ),  # ten choices: fine while the question is required
    ],
)
def test_a_wrong_survey_file_says_where(tmp_path: Path, change, problem) -> None:
    old, new = change
    path = Path(survey_file(tmp_path, SURVEY.replace(old, new)))
    if problem is None:
        assert read(path).questions[1].choices[-1].key in ("jauh", "k7")
        assert "jarak" in [question.key for question in read(path).questions]
        return
    with pytest.raises(SurveyFileProblem, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read(path)


def test_an_unreadable_file_is_refused_kindly(settings, tmp_path: Path, capsys) -> None:
    broken = survey_file(tmp_path, "code = [unclosed")
    assert cli(settings, "survey", "send", broken, "--segment", "everyone", "--as", "eva") == 2
    assert "is not valid TOML" in capsys.readouterr().err
    missing = str(tmp_path / "nowhere.toml")
    assert cli(settings, "survey", "send", missing, "--segment", "everyone", "--as", "eva") == 2
    assert "Cannot read" in capsys.readouterr().err


# -- sending -------------------------------------------------------------------------------------


async def test_sending_invites_the_segment_in_each_language_and_is_audited(
    settings, engine, database, tmp_path, capsys
) -> None:
    await residents_of_two_kelurahan(engine)
    await Chat(engine, "ani").run([*HAPPY_ID[:5], ("RW 2", "nomor HP"), ("0812-1111-2222", "")])
    await Chat(engine, "ani").send("berhenti")
    file = survey_file(tmp_path)
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--dry-run",
               "--as", "eva") == 0  # fmt: skip
    assert "To invite: 2; invited before: 0; skipped (said berhenti): 1" in capsys.readouterr().out
    assert invitations(database) == []  # a dry run queues nothing
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "eva") == 0
    assert "2 invitations queued" in capsys.readouterr().out
    sent = {row.resident_id: row for row in invitations(database)}
    siti_id, budi_id = stored(database, "siti").id, stored(database, "budi").id
    assert set(sent) == {siti_id, budi_id}
    survey_id = responses(database)[0].survey_id
    assert sent[siti_id].text.startswith("📋 Survei: Layanan sembako\n\nEmpat pertanyaan singkat.")
    assert "4 pertanyaan singkat. Kira-kira 1 menit." in sent[siti_id].text
    assert "4 short questions. It takes about 1 minute." in sent[budi_id].text
    assert sent[siti_id].options == [
        {"key": f"survey:{survey_id}:start", "label": "Mulai survei"},
        {"key": f"survey:{survey_id}:no", "label": "Tidak, terima kasih"},
    ]
    assert sent[budi_id].text.startswith("📋 Survey: Sembako service")
    assert [option["label"] for option in sent[budi_id].options] == [
        "Start the survey",
        "No, thank you",
    ]
    with database.connect() as db:
        entry = db.execute(select(audit.AuditEntry.__table__)).all()[-1]
    assert (entry.actor, entry.action, entry.target) == (
        "eva",
        "survey.send",
        f"survey #{survey_id}",
    )
    # the same survey again, to everyone: nobody new, nothing queued twice
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "eva") == 2
    assert "Nobody new to invite" in capsys.readouterr().err
    assert len(invitations(database)) == 2


async def test_sending_again_invites_only_the_new_and_changed_questions_need_a_new_code(
    settings, engine, tmp_path, database, capsys
) -> None:
    await residents_of_two_kelurahan(engine)
    file = survey_file(tmp_path)
    assert cli(settings, "survey", "send", file, "--segment", "kelurahan=klender",
               "--as", "eva") == 0  # fmt: skip
    assert len(invitations(database)) == 1
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "eva") == 0
    assert "To invite: 1; invited before: 1" in capsys.readouterr().out
    assert len(invitations(database)) == 2 and len(responses(database)) == 2
    changed = survey_file(tmp_path, SURVEY.replace("max = 20", "max = 30"), "baru.toml")
    await Chat(engine, "ani").run([*HAPPY_ID[:5], ("RW 2", "nomor HP"), ("0812-1111-2222", "")])
    assert cli(settings, "survey", "send", changed, "--segment", "everyone", "--as", "eva") == 2
    assert "was sent before with other questions" in capsys.readouterr().err
    assert len(invitations(database)) == 2


async def test_who_may_send_a_survey_and_the_kelurahan_limit(
    settings, engine, tmp_path, database, capsys
) -> None:
    await residents_of_two_kelurahan(engine)
    file = survey_file(tmp_path)
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "ypp") == 2
    assert "partner account" in capsys.readouterr().err
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "siti") == 2
    assert cli(settings, "survey", "send", file, "--segment", "everyone") == 2
    assert invitations(database) == []
    # an evaluator of Pondok Bambu reaches Pondok Bambu only, whatever the segment says
    assert cli(settings, "survey", "send", file, "--segment", "everyone",
               "--as", "eva-bambu") == 0  # fmt: skip
    assert [row.resident_id for row in invitations(database)] == [stored(database, "budi").id]
    assert cli(settings, "survey", "list", "--as", "eva-bambu") == 0
    listed = capsys.readouterr().out
    assert "sembako-des" in listed and "       1        0      0        0  yes" in listed
    survey_id = responses(database)[0].survey_id
    assert cli(settings, "survey", "close", str(survey_id), "--as", "ypp") == 2
    assert cli(settings, "survey", "close", str(survey_id), "--as", "eva-bambu") == 0


def test_bad_segments_times_and_closing_days_are_refused(settings, tmp_path, capsys) -> None:
    file = survey_file(tmp_path)
    assert cli(settings, "survey", "send", file, "--segment", "planet=mars", "--as", "eva") == 2
    assert "Unknown segment" in capsys.readouterr().err
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--at", "kemarin",
               "--as", "eva") == 2  # fmt: skip
    assert "--at must be a time to come" in capsys.readouterr().err
    over = survey_file(tmp_path, SURVEY.replace('code = "sembako-des"',
                       'code = "sembako-des"\ncloses = 2020-01-31'), "lama.toml")  # fmt: skip
    assert cli(settings, "survey", "send", over, "--segment", "everyone", "--as", "eva") == 2
    assert "that day is over" in capsys.readouterr().err


# -- answering in chat ---------------------------------------------------------------------------


async def sent_to_siti(settings, engine, tmp_path, text: str = SURVEY) -> tuple[Chat, int]:
    """Register Siti, send her the survey; return her chat and the survey's id."""
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    file = survey_file(tmp_path, text)
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "eva") == 0
    with engine.database.connect() as db:
        survey_id = db.execute(select(surveys.Survey.id)).scalar_one()
    return siti, survey_id


async def test_a_survey_answered_question_by_question_with_bad_input_on_the_way(
    settings, engine, database, tmp_path
) -> None:
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path)
    await siti.tap(f"survey:{survey_id}:start")
    assert "Terima kasih! Survei “Layanan sembako”" in siti.text
    assert "Pertanyaan 1 dari 4\nSeberapa puas Bapak/Ibu?" in siti.text
    assert siti.keys == [f"sv:{survey_id}:1:{score}" for score in range(1, 6)]
    await siti.send_kind(Kind.STICKER)
    assert "Pertanyaan 1 dari 4" in siti.text and "stiker" in siti.text.lower()
    await siti.send("9")
    assert "ketik nomor 1 sampai 5" in siti.text
    await siti.send("4")  # typed: the fourth button
    assert "Pertanyaan 2 dari 4\nSeberapa jauh tempat pengambilan?" in siti.text
    assert siti.labels == ["Dekat", "Sedang", "Jauh sekali"]
    assert siti.keys == [f"sv:{survey_id}:2:{number}" for number in (1, 2, 3)]
    await siti.tap(f"sv:{survey_id}:1:2")  # the first question's button, from before
    assert "Tombol itu dari pesan lama" in siti.text and "Pertanyaan 2 dari 4" in siti.text
    await siti.send("jauh")
    assert "Pertanyaan 3 dari 4\nBerapa orang serumah?" in siti.text
    assert "Mohon ketik angka bulat dari 1 sampai 20." in siti.text
    for wrong in ("banyak", "2 atau 3"):
        await siti.send(wrong)
        assert siti.text.startswith("Mohon tulis jawabannya sebagai angka, misalnya 3"), wrong
        assert "Pertanyaan 3 dari 4" in siti.text
    for wrong in ("25", "0", "1.500"):
        await siti.send(wrong)
        assert siti.text.startswith(f"Angka {wrong} di luar batas pertanyaan ini."), wrong
        assert "Mohon ketik angka bulat dari 1 sampai 20." in siti.text
    await siti.send("5 orang")
    assert "Pertanyaan 4 dari 4\nAda saran?" in siti.text
    assert "paling banyak 200 karakter" in siti.text and siti.labels == ["Lewati"]
    await siti.send("x" * 201)
    assert "Jawaban Bapak/Ibu 201 karakter" in siti.text
    await siti.send(f"NIK saya {NIK}, tolong dicek")
    assert "Mohon jangan menulis NIK" in siti.text
    await siti.send("Antrean lebih tertib 👍")
    assert "Terima kasih! Jawaban Bapak/Ibu untuk “Layanan sembako” sudah kami terima." in (
        siti.text
    )
    assert "Menu utama" in siti.text
    assert answers_of(database) == {
        "puas": (None, 4),
        "jarak": ("jauh", None),
        "anggota": (None, 5),
        "saran": ("Antrean lebih tertib 👍", None),
    }
    assert responses(database)[0].completed_at is not None
    await siti.tap(f"survey:{survey_id}:start")  # the invitation again
    assert "Bapak/Ibu sudah mengisi survei ini" in siti.text
    await siti.send("survei")
    assert "tidak ada survei yang terbuka" in siti.text


@pytest.mark.parametrize("language", ["id", "en"])
async def test_the_example_survey_fits_whatsapps_buttons_and_lists(
    settings, engine, tmp_path, language
) -> None:
    resident = Chat(engine, "siti")
    await resident.run(HAPPY_ID if language == "id" else HAPPY_EN)
    assert cli(settings, "survey", "send", str(EXAMPLE), "--segment", "everyone",
               "--as", "eva") == 0  # fmt: skip
    seen = []
    await resident.send("survei")
    seen += resident.replies
    for answer in ("4", "2", "3"):
        await resident.send(answer)
        seen += resident.replies
    assert len([reply for reply in seen if reply.options]) == 3  # all questions but the number
    assert not misfits(seen), "\n".join(misfits(seen))


async def test_pause_resume_skip_and_a_typed_number_that_is_not_the_skip_button(
    settings, engine, database, tmp_path
) -> None:
    optional_number = SURVEY.replace("min = 1\nmax = 20", "min = 1\nmax = 20\nrequired = false")
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path, optional_number)
    await siti.send("survei")  # typed instead of tapping
    await siti.tap(f"sv:{survey_id}:1:5")
    await siti.send("batal")
    assert "Survei dijeda. Jawaban Bapak/Ibu sejauh ini tetap tersimpan" in siti.text
    assert "Menu utama" in siti.text
    await siti.tap(f"survey:{survey_id}:start")
    assert "Mari kita lanjutkan survei “Layanan sembako”." in siti.text
    assert "Pertanyaan 2 dari 4" in siti.text
    await siti.send("2")
    assert "Pertanyaan 3 dari 4" in siti.text and siti.labels == ["Lewati"]
    await siti.send("1")  # one person, not the first (and only) button
    assert "Pertanyaan 4 dari 4" in siti.text
    await siti.tap(f"sv:{survey_id}:4:skip")
    assert "sudah kami terima" in siti.text
    assert answers_of(database) == {
        "puas": (None, 5),
        "jarak": ("sedang", None),
        "anggota": (None, 1),
        "saran": (None, None),
    }


async def test_declining_closing_and_an_uninvited_resident(
    settings, engine, database, tmp_path, clock
) -> None:
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path)
    await siti.tap(f"survey:{survey_id}:no")
    assert "Baik, terima kasih. Bila Bapak/Ibu berubah pikiran, ketik SURVEI" in siti.text
    assert responses(database)[0].declined_at is not None
    budi = Chat(engine, "budi")
    await budi.run(HAPPY_EN)  # registered after the survey was sent: not invited
    await budi.tap(f"survey:{survey_id}:start")
    assert "This survey is not open to you." in budi.text
    await budi.tap("survey:abc:start")  # no key we made: a stale button
    assert "That button is from an old message" in budi.text
    await siti.tap(f"survey:{survey_id}:start")  # changed her mind
    assert "Pertanyaan 1 dari 4" in siti.text
    assert responses(database)[0].declined_at is None
    assert cli(settings, "survey", "close", str(survey_id), "--as", "eva") == 0
    await siti.send("3")  # the answer arrives after the survey closed
    assert "Survei ini sudah ditutup. Jawaban yang sudah Bapak/Ibu berikan tetap tersimpan" in (
        siti.text
    )
    await siti.tap(f"survey:{survey_id}:start")
    assert "Survei ini sudah ditutup. Terima kasih atas perhatian Bapak/Ibu." in siti.text
    assert cli(settings, "survey", "close", str(survey_id), "--as", "eva") == 2  # closed already


async def test_a_survey_ends_with_its_last_day(settings, engine, tmp_path, clock) -> None:
    last_day = (clock() + timedelta(days=2)).date()
    dated = SURVEY.replace('code = "sembako-des"', f'code = "sembako-des"\ncloses = {last_day}')
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path, dated)
    (invitation,) = invitations(engine.database)
    assert "paling lambat Senin, 30 November 2026" in invitation.text
    clock.advance(days=2, hours=16)  # 01.00 WIB the day after
    await siti.tap(f"survey:{survey_id}:start")
    assert "Survei ini sudah ditutup" in siti.text


async def test_small_words_and_menu_labels_are_answers_to_a_text_question(
    settings, engine, database, tmp_path
) -> None:
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path)
    await siti.tap(f"survey:{survey_id}:start")
    for answer in ("3", "1", "4"):
        await siti.send(answer)
    await siti.send("Jadwal sembako")  # a menu entry's label, but here an answer
    assert "sudah kami terima" in siti.text
    assert answers_of(database)["saran"] == ("Jadwal sembako", None)
    with database.begin() as db:
        db.execute(SurveyAnswer.__table__.delete().where(SurveyAnswer.question == "saran"))
        db.execute(SurveyResponse.__table__.update().values(completed_at=None))
    await siti.send("survei")
    assert "Pertanyaan 4 dari 4" in siti.text
    await siti.send("baik")  # small talk elsewhere, an answer here
    assert "sudah kami terima" in siti.text
    assert answers_of(database)["saran"] == ("baik", None)


async def test_a_button_of_the_current_question_still_counts_after_a_pause(
    settings, engine, database, tmp_path, clock
) -> None:
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path)
    await siti.tap(f"survey:{survey_id}:start")
    clock.advance(hours=2)  # the conversation went back to the menu meanwhile
    await siti.tap(f"sv:{survey_id}:1:4")
    assert "Pertanyaan 2 dari 4" in siti.text
    assert answers_of(database) == {"puas": (None, 4)}
    await siti.send("menu")
    await siti.tap(f"sv:{survey_id}:1:2")  # the answered question's button, from the menu
    assert "Tombol itu dari pesan lama" in siti.text and "Pertanyaan 2 dari 4" in siti.text
    await siti.tap(f"sv:{survey_id}:2:3")
    assert "Pertanyaan 3 dari 4" in siti.text
    assert answers_of(database) == {"puas": (None, 4), "jarak": ("jauh", None)}
    await siti.tap(f"sv:{survey_id + 1}:1:4")  # another survey's, not hers
    assert "Survei ini tidak terbuka untuk Bapak/Ibu." in siti.text


async def test_declining_twice_and_declining_after_answering(
    settings, engine, database, tmp_path
) -> None:
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path)
    for _time in (1, 2):
        await siti.tap(f"survey:{survey_id}:no")
        assert "Baik, terima kasih. Bila Bapak/Ibu berubah pikiran" in siti.text
    await siti.tap(f"survey:{survey_id}:start")
    await siti.send("5")
    await siti.tap(f"survey:{survey_id}:no")  # from the invitation, halfway through
    assert "Jawaban Bapak/Ibu sejauh ini tetap tersimpan" in siti.text
    assert "Menu utama" in siti.text
    assert responses(database)[0].declined_at is None  # she began: not declined
    await siti.send("survei")
    assert "Mari kita lanjutkan" in siti.text and "Pertanyaan 2 dari 4" in siti.text


async def test_closing_withdraws_invitations_not_sent_and_a_closed_survey_is_not_sent_again(
    settings, engine, database, tmp_path, capsys
) -> None:
    await residents_of_two_kelurahan(engine)
    file = survey_file(tmp_path)
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "eva") == 0
    siti_id, budi_id = stored(database, "siti").id, stored(database, "budi").id
    with database.begin() as db:  # Siti's went out, Budi's waits (quiet hours, say)
        db.execute(
            Outbound.__table__.update()
            .where(Outbound.resident_id == siti_id)
            .values(status=OutboundStatus.SENT)
        )
    survey_id = responses(database)[0].survey_id
    assert cli(settings, "survey", "close", str(survey_id), "--as", "eva") == 0
    statuses = {row.resident_id: (row.status, row.last_error) for row in invitations(database)}
    assert statuses == {
        siti_id: (OutboundStatus.SENT, None),
        budi_id: (OutboundStatus.CANCELLED, surveys.CLOSED),
    }
    with database.connect() as db:  # the sender's report says so, not "said berhenti"
        found = broadcasts.report(db=db, broadcast_id=responses(database)[0].broadcast_id)
    assert (found.sent, found.withdrawn, found.skipped_opted_out, found.waiting) == (1, 1, 0, 0)
    shown = report_text(found, "id", "Layanan sembako")
    assert "• ditarik, survei sudah ditutup: 1" in shown
    assert "• dilewati, sudah mengetik “berhenti”: 0" in shown
    await Chat(engine, "ani").run([*HAPPY_ID[:5], ("RW 2", "nomor HP"), ("0812-1111-2222", "")])
    capsys.readouterr()
    for dry in ((), ("--dry-run",)):
        assert cli(settings, "survey", "send", file, "--segment", "everyone", *dry,
                   "--as", "eva") == 2  # fmt: skip
        assert "is closed; give a new round a new code" in capsys.readouterr().err
    assert len(invitations(database)) == 2


async def test_an_account_of_one_kelurahan_does_not_change_a_survey_of_all(
    settings, engine, database, tmp_path, capsys
) -> None:
    await residents_of_two_kelurahan(engine)
    assert cli(settings, "survey", "send", survey_file(tmp_path), "--segment",
               "kelurahan=klender", "--as", "eva") == 0  # fmt: skip
    retitled = SURVEY.replace('id = "Layanan sembako"', 'id = "Judul lain"')
    assert cli(settings, "survey", "send", survey_file(tmp_path, retitled, "lain.toml"),
               "--segment", "everyone", "--as", "eva-bambu") == 0  # fmt: skip
    assert len(responses(database)) == 2
    with database.connect() as db:
        kept = surveys.get(db=db, survey_id=responses(database)[0].survey_id)
    assert kept.title("id") == "Layanan sembako" and kept.kelurahan_limit is None
    # a survey of Pondok Bambu's evaluator is not for a Klender-limited account to send
    own = SURVEY.replace('code = "sembako-des"', 'code = "bambu-saja"')
    assert cli(settings, "survey", "send", survey_file(tmp_path, own, "bambu.toml"),
               "--segment", "everyone", "--as", "eva-bambu") == 0  # fmt: skip
    with database.begin() as db:
        staff.add(db=db, login="eva-klender", name="Eva K", role=Role.EVALUATOR,
                  now=utcnow(), kelurahan_code=KLENDER)  # fmt: skip
    assert cli(settings, "survey", "send", str(tmp_path / "bambu.toml"), "--segment",
               "everyone", "--as", "eva-klender") == 2  # fmt: skip
    assert "belongs to another kelurahan" in capsys.readouterr().err


async def test_a_survey_sent_later_is_not_open_before_its_time(
    settings, engine, database, tmp_path, clock, capsys
) -> None:
    siti = Chat(engine, "siti")
    await siti.run(HAPPY_ID)
    later = (clock() + timedelta(days=1)).astimezone(ZoneInfo("Asia/Jakarta"))
    at = later.strftime("%Y-%m-%dT%H:%M")
    assert cli(settings, "survey", "send", survey_file(tmp_path), "--segment", "everyone",
               "--at", at, "--as", "eva") == 0  # fmt: skip
    assert f"1 invitation queued for {at}" in capsys.readouterr().out
    (response,) = responses(database)
    (invitation,) = invitations(database)
    assert response.invited_at == invitation.not_before > clock()
    await siti.send("survei")
    assert "tidak ada survei yang terbuka" in siti.text
    clock.now = invitation.not_before
    await siti.send("survei")
    assert "Pertanyaan 1 dari 4" in siti.text


async def test_the_evaluator_sees_the_survey_in_the_report(
    settings, engine, database, tmp_path, clock
) -> None:
    siti, budi = await residents_of_two_kelurahan(engine)
    assert cli(settings, "survey", "send", survey_file(tmp_path), "--segment", "everyone",
               "--as", "eva") == 0  # fmt: skip
    survey_id = responses(database)[0].survey_id
    await siti.tap(f"survey:{survey_id}:start")
    for answer in ("5", "1", "3", "lewati"):
        await siti.send(answer)
    await budi.tap(f"survey:{survey_id}:no")
    clock.advance(minutes=5)
    eva = Chat(engine, "eva")
    await eva.send("laporan")
    assert "Survei (undangan dalam periode ini):" in eva.text
    assert "• “Layanan sembako”: 2 diundang, 1 menjawab lengkap, 1 menolak" in eva.text


# -- exports -------------------------------------------------------------------------------------


async def test_export_survey_names_nobody_holds_no_nik_and_opens_as_xlsx(
    settings, engine, database, tmp_path, capsys, clock
) -> None:
    siti, budi = await residents_of_two_kelurahan(engine)
    file = survey_file(tmp_path)
    assert cli(settings, "survey", "send", file, "--segment", "everyone", "--as", "eva") == 0
    survey_id = responses(database)[0].survey_id
    await siti.tap(f"survey:{survey_id}:start")
    for answer in ("5", "Dekat", "4"):
        await siti.send(answer)
    await siti.send("Saran: tambah petugas, NIK 3175 0712 3456 7890")  # grouped: refused too
    assert "Mohon jangan menulis NIK" in siti.text
    await siti.send("Tambah petugas di loket")
    await budi.tap(f"survey:{survey_id}:start")
    await budi.send("2")
    with database.begin() as db:  # a text stored before NIKs were refused in answers
        response_id = db.execute(
            select(SurveyResponse.id).where(SurveyResponse.language == "en")
        ).scalar_one()
        survey_responses.answer(db=db, response_id=response_id, question="saran",
                                value=f"nik {NIK}", number=None, now=clock())  # fmt: skip
    capsys.readouterr()
    assert cli(settings, "export", "survey", str(survey_id), "--as", "eva") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == [
        "respondent",
        "status",
        "kelurahan",
        "language",
        "channel",
        "invited_at",
        "started_at",
        "completed_at",
        "q1_puas",
        "q2_jarak",
        "q3_anggota",
        "q4_saran",
    ]
    siti_row, budi_row = rows[1], rows[2]
    assert siti_row[:5] == ["1", "completed", "Klender", "id", "console"]
    assert siti_row[8:] == ["5", "Dekat", "4", "Tambah petugas di loket"]
    assert budi_row[:5] == ["2", "started", "Pondok Bambu", "en", "console"]
    assert budi_row[7:] == ["", "2", "", "", "nik [NIK dihapus]"]
    whole = "\n".join(",".join(row) for row in rows)
    assert NIK not in whole and "Siti" not in whole and "Budi" not in whole
    # XLSX for the evaluator of Pondok Bambu: only Budi's row
    output = tmp_path / "jawaban.xlsx"
    assert cli(settings, "export", "survey", str(survey_id), "--output", str(output),
               "--as", "eva-bambu") == 0  # fmt: skip
    sheet = load_workbook(output).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][8:] == ["q1_puas", "q2_jarak", "q3_anggota", "q4_saran"]
    assert len(values) == 2 and values[1][1:3] == ["started", "Pondok Bambu"]
    assert values[1][8] == 2 and sheet.freeze_panes == "A2"
    with database.connect() as db:
        entry = db.execute(select(audit.AuditEntry.__table__)).all()[-1]
    assert (entry.actor, entry.action, entry.details["survey"]) == (
        "eva-bambu",
        "export.survey",
        survey_id,
    )
    assert cli(settings, "export", "survey", str(survey_id), "--as", "ypp") == 2
    assert cli(settings, "export", "survey", "999", "--as", "eva") == 2
    assert "No survey #999" in capsys.readouterr().err
    assert cli(settings, "export", "survey", "--as", "eva") == 2
    assert cli(settings, "export", "feedback", "3", "--as", "eva") == 2


async def test_erasure_keeps_the_answers_without_the_person_or_their_words(
    settings, engine, database, tmp_path, clock
) -> None:
    siti, survey_id = await sent_to_siti(settings, engine, tmp_path)
    await siti.tap(f"survey:{survey_id}:start")
    for answer in ("3", "1", "2", "Tolong hubungi saya, Siti, Jl. Delima 4"):
        await siti.send(answer)
    resident_id = stored(database, "siti").id
    with database.begin() as db:
        erase_resident(db=db, resident_id=resident_id, now=clock())
    assert answers_of(database) == {
        "puas": (None, 3),
        "jarak": ("dekat", None),
        "anggota": (None, 2),
    }
    (response,) = responses(database)
    assert response.resident_id is None and response.completed_at is not None
    with database.connect() as db:
        assert db.execute(select(Resident.id).where(Resident.id == resident_id)).first() is None


def test_one_answer_per_question_is_kept(database, clock) -> None:
    with database.begin() as db:
        db.execute(
            Broadcast.__table__.insert().values(
                id=1,
                segment={"kind": "everyone"},
                text="-",
                text_hash="-",
                status="done",
                send_at=clock(),
                created_by="eva",
                created_at=clock(),
            )
        )
        kept = surveys.keep(db=db, survey=read_text(SURVEY), created_by="eva",
                            kelurahan_limit=None, zone="Asia/Jakarta", now=clock())  # fmt: skip
        db.execute(
            SurveyResponse.__table__.insert().values(
                survey_id=kept.id,
                language="id",
                channel="console",
                broadcast_id=1,
                invited_at=clock(),
            )
        )
        response_id = db.execute(select(SurveyResponse.id)).scalar_one()
        for score in (2, 4):
            survey_responses.answer(db=db, response_id=response_id, question="puas", value=None,
                           number=score, now=clock())  # fmt: skip
    assert answers_of(database) == {"puas": (None, 4)}


def read_text(text: str) -> SurveyFile:
    return from_data(tomllib.loads(text))


# -- the sender's report, and the whole path over Telegram ---------------------------------------


async def test_the_sender_hears_how_the_invitations_went(
    settings, engine, database, tmp_path, clock
) -> None:
    await Chat(engine, "eva").send("halo")  # the evaluator's chat, known to the bot
    await residents_of_two_kelurahan(engine)
    assert cli(settings, "survey", "send", survey_file(tmp_path), "--segment", "everyone",
               "--as", "eva") == 0  # fmt: skip
    with database.begin() as db:
        db.execute(
            Outbound.__table__.update()
            .where(Outbound.kind == OutboundKind.SURVEY)
            .values(status=OutboundStatus.SENT, sent_at=clock())
        )
    assert broadcasting.tick(database, now=clock(), time_zone="Asia/Jakarta") == 1
    with database.connect() as db:
        (report,) = db.execute(
            select(Outbound.text).where(Outbound.kind == OutboundKind.STATUS)
        ).scalars()
    assert report.startswith("Survei “Layanan sembako” (siaran #")
    assert "undangan sudah selesai dikirim (2 penerima)" in report and "terkirim: 2" in report


async def test_a_survey_sent_and_answered_over_telegram(
    settings, engine, database, tmp_path, clock
) -> None:
    async with FakeBotAPI() as fake:
        channel = await start_channel(fake, engine, database)
        telegram = Telegram(fake, channel)
        try:
            await register(telegram)
            assert cli(settings, "survey", "send", survey_file(tmp_path), "--segment",
                       "kelurahan=klender", "--as", "eva") == 0  # fmt: skip
            drainer = new_drainer(channel, database, clock)
            try:
                while await drainer.drain_once():
                    pass
            finally:
                drainer.close()
            assert "📋 Survei: Layanan sembako" in fake.sent_texts()[-1]
            start, no = inline_data(telegram.last_markup())
            assert no.endswith(":no")
            await telegram.send(tg.callback(start), "Pertanyaan 1 dari 4")
            survey_id = responses(database)[0].survey_id
            assert inline_data(telegram.last_markup())[4] == f"sv:{survey_id}:1:5"
            await telegram.send(tg.callback(f"sv:{survey_id}:1:5"), "Pertanyaan 2 dari 4")
            await telegram.send(tg.callback(f"sv:{survey_id}:2:1"), "Pertanyaan 3 dari 4")
            await telegram.send(tg.text("3"), "Pertanyaan 4 dari 4")
            await telegram.send(tg.text("Sudah baik"), "sudah kami terima")
        finally:
            await channel.stop()
    assert answers_of(database) == {
        "puas": (None, 5),
        "jarak": ("dekat", None),
        "anggota": (None, 3),
        "saran": ("Sudah baik", None),
    }
