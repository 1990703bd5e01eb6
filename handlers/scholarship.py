"""Beasiswa: a scholarship application for a child — name, level, school, grade, the
documents ready — filed with a reference number (BSW-2027-000123)."""

import re
from zoneinfo import ZoneInfo

from handlers import rounds
from handlers.answers import register_first, yes_no
from handlers.application_rules import rules
from handlers.applications import in_progress, submitted_text
from handlers.complaint_words import holds_nik, nik_refused
from handlers.messages import Incoming, Option, Reply
from handlers.numbers import MAX_TYPED, parse_number, whole
from handlers.positions import HOME, ApplyStep, FlowName, ScholarshipStep, apply, scholarship
from handlers.registration import clean_name
from handlers.steps import Context, Expect, Flow, Outcome, Step, no_options, options_of
from storage import applications as filing
from storage.applications import Kind
from storage.identity import name_key
from storage.residents import ProfileIncomplete

SCHOOL_MAX = 120
_NUMBERS = re.compile(r"[0-9]+")
_NUMBER_LIST = re.compile(
    r"^\s*[0-9]+(?:\s*(?:[,;/&+]|dan|and)?\s*[0-9]+)*\s*\.?\s*$", re.IGNORECASE
)
_GRADE = re.compile(r"^\s*(?:kelas|semester|smt|grade|class)?\s*([0-9]{1,2})\s*\.?\s*$", re.I)
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9,
         "x": 10, "xi": 11, "xii": 12}  # fmt: skip


def ask_child(ctx: Context) -> Reply:
    """Asks for the child's name."""
    _ = ctx.gettext
    text = _("Scholarship application. What is the child's full name, as on the Kartu Keluarga?")
    return Reply(text)


def take_child(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the child's name and asks for the school level."""
    _ = ctx.gettext
    name = clean_name(msg.text)
    if name is None:
        text = _("Please write the child's name with letters only, for example: Dewi Lestari.")
        return Outcome([Reply(text)])
    same = [
        filed
        for filed in in_progress(ctx, Kind.SCHOLARSHIP)
        if name_key(filed.details.get("child", "")) == name_key(name)
    ]
    if same:  # one application per child at a time
        text = _(
            "You already applied for {child}: {ref}, awaiting a decision. You can follow it here."
        ).format(child=name, ref=same[0].ref)
        return Outcome([Reply(text)], goto=apply(ApplyStep.STATUS))
    ctx.data["child"] = name
    return Outcome(goto=scholarship(ScholarshipStep.LEVEL))


def level_options(ctx: Context) -> tuple[Option, ...]:
    """Return the school levels from the data."""
    return options_of(
        *(
            (
                f"level:{level.code}",
                level.label(ctx.language),
                "|".join((level.code.lower(), *level.aliases)),
                level.short(ctx.language),
            )
            for level in rules().levels
        )
    )


def ask_level(ctx: Context) -> Reply:
    """Asks at which level the child studies."""
    _ = ctx.gettext
    text = _("At which level does {child} study?").format(child=ctx.data.get("child", "-"))
    return Reply(text, level_options(ctx))


def take_level(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the level and asks for the school."""
    ctx.data["level"] = (msg.option or "").removeprefix("level:")
    return Outcome(goto=scholarship(ScholarshipStep.SCHOOL))


def ask_school(ctx: Context) -> Reply:
    """Asks for the name of the school."""
    _ = ctx.gettext
    return Reply(_("What is the name of the school or university? For example: SMPN 195 Jakarta."))


def take_school(ctx: Context, msg: Incoming) -> Outcome:
    """Keeps the school and asks for the grade."""
    _ = ctx.gettext
    school = " ".join(msg.text.split())
    letters = sum(1 for char in school if char.isalpha())
    if len(school) > SCHOOL_MAX:
        text = _("That is too long. Please write at most {count} characters.").format(
            count=SCHOOL_MAX
        )
        return Outcome([Reply(text)])
    if holds_nik(school):
        return nik_refused(ctx)
    if letters < 3:
        return Outcome([Reply(_("Please write the school's name, for example: SDN Klender 01."))])
    ctx.data["school"] = school
    return Outcome(goto=scholarship(ScholarshipStep.GRADE))


def read_grade(text: str) -> int | None:
    """Read a grade: '8', 'kelas 8', 'VIII', 'semester 3', 'kelas lima', 'dua belas'."""
    cleaned = text.strip().lower()[:MAX_TYPED]
    for word in ("kelas", "kls", "semester", "smt", "grade", "class", "year"):
        cleaned = cleaned.removeprefix(word).strip(" .")
    if cleaned in ROMAN:
        return ROMAN[cleaned]
    match = _GRADE.match(cleaned)
    if match:
        return int(match.group(1))
    return whole(parse_number(cleaned)) if cleaned and cleaned[0].isalpha() else None


def ask_grade(ctx: Context) -> Reply:
    """Asks for the grade (or semester) within the level's range."""
    _ = ctx.gettext
    level = rules().level(ctx.data.get("level", ""))
    if level is None:
        return Reply(_("Which grade? Type the number."))
    if level.unit == "semester":
        text = _("Which semester is {child} in? Type a number from {first} to {last}.")
    else:
        text = _("Which grade is {child} in? Type a number from {first} to {last}.")
    return Reply(text.format(child=ctx.data.get("child", "-"), first=level.first, last=level.last))


def take_grade(ctx: Context, msg: Incoming) -> Outcome:
    """Checks the grade against the level and asks about the documents."""
    _ = ctx.gettext
    level = rules().level(ctx.data.get("level", ""))
    if level is None:  # the data changed under the conversation: ask the level again
        return Outcome(goto=scholarship(ScholarshipStep.LEVEL))
    grade = read_grade(msg.text)
    if grade is None or not level.first <= grade <= level.last:
        text = _("Please type a number from {first} to {last}, for example {example}.").format(
            first=level.first, last=level.last, example=level.first
        )
        return Outcome([Reply(text)])
    ctx.data["grade"] = grade
    ctx.data["documents"] = []
    return Outcome(goto=scholarship(ScholarshipStep.DOCUMENTS))


def document_options(ctx: Context) -> tuple[Option, ...]:
    """Return the documents from the data, then "done"."""
    _ = ctx.gettext
    chosen = ctx.data.get("documents", [])
    choices = []
    for document in rules().documents:
        tick = "✓ " if document.code in chosen else ""
        short = document.short(ctx.language)
        label = tick + document.label(ctx.language)
        choices.append((f"doc:{document.code}", label, "", tick + short if short else ""))
    choices.append(("doc:done", _("Done"), "selesai|sudah|lanjut|done|next"))
    return options_of(*choices)


def documents_text(ctx: Context) -> str:
    """Name the documents still missing."""
    _ = ctx.gettext
    chosen = ctx.data.get("documents", [])
    missing = [doc.label(ctx.language) for doc in rules().documents if doc.code not in chosen]
    if not missing:
        return _("All documents are ready.")
    return _("Not ready yet: {documents}.").format(documents=", ".join(missing))


def ask_documents(ctx: Context) -> Reply:
    """Asks which documents are ready, as a checklist."""
    _ = ctx.gettext
    text = _(
        "These documents are checked at the kelurahan. Choose each one you already have, "
        "then “Done”. You can also type several numbers, for example 1 2 4. Missing ones can "
        "be brought later."
    )
    shown = f"{text}\n{documents_text(ctx)}"
    return Reply(shown, document_options(ctx))


def remind_documents(ctx: Context) -> Reply:
    """Asks again, briefly, for the documents."""
    _ = ctx.gettext
    text = _("Choose the documents you have, then “Done”.")
    shown = f"{text}\n{documents_text(ctx)}"
    return Reply(shown, document_options(ctx))


def take_documents(ctx: Context, msg: Incoming) -> Outcome:
    """Ticks or unticks a document; "Done" moves on to the summary."""
    _ = ctx.gettext
    options = document_options(ctx)
    if msg.option:
        keys = [msg.option]
    else:
        listed = _NUMBER_LIST.match(msg.text[:100])
        numbers = [int(number) for number in _NUMBERS.findall(msg.text[:100])] if listed else []
        if not numbers or any(not 1 <= number <= len(options) for number in numbers):
            text = _("Please choose from the list, or type the numbers, for example 1 2 4.")
            return Outcome([Reply(text)])
        keys = [options[number - 1].key for number in numbers]
    chosen = list(ctx.data.get("documents", []))
    for key in keys:
        if key == "doc:done":
            ctx.data["documents"] = chosen
            return Outcome(goto=scholarship(ScholarshipStep.CONFIRM))
        code = key.removeprefix("doc:")
        if rules().document(code) is not None:
            chosen.remove(code) if code in chosen else chosen.append(code)
    ctx.data["documents"] = chosen
    text = documents_text(ctx) + "\n" + _("Choose more, or “Done” to go on.")
    return Outcome([Reply(text, document_options(ctx))], ask=False)


def confirm_options(ctx: Context) -> tuple[Option, ...]:
    """Return submit and cancel."""
    _ = ctx.gettext
    return yes_no(ctx, "scholarship:submit", _("Submit"), _("Cancel"))


def summary(ctx: Context) -> str:
    """Sum up the answers."""
    _ = ctx.gettext
    data = ctx.data
    level = rules().level(data.get("level", ""))
    unit = level.unit if level else "grade"
    grade = (_("semester {number}") if unit == "semester" else _("grade {number}")).format(
        number=data.get("grade", "-")
    )
    return _(
        "Please check:\n"
        "Child: {child}\n"
        "School: {school} ({level}, {grade})\n"
        "Applicant: {applicant}\n"
        "{documents}"
    ).format(
        child=data.get("child", "-"),
        school=data.get("school", "-"),
        level=level.label(ctx.language) if level else "-",
        grade=grade,
        applicant=ctx.resident.name,
        documents=documents_text(ctx),
    )


def ask_confirm(ctx: Context) -> Reply:
    """Shows the answers and asks to submit."""
    _ = ctx.gettext
    shown = f"{summary(ctx)}\n\n" + _("Submit the application?")
    return Reply(shown, confirm_options(ctx))


def take_confirm(ctx: Context, msg: Incoming) -> Outcome:
    """Files the application, or drops it."""
    _ = ctx.gettext
    if msg.option == "scholarship:submit:no":
        return Outcome([Reply(_("Not submitted. Nothing was saved."))], goto=HOME)
    data = ctx.data
    if not all(key in data for key in ("child", "level", "school", "grade")):
        return Outcome(goto=scholarship(ScholarshipStep.CHILD), data={})
    details = {key: data[key] for key in ("child", "level", "school", "grade")}
    details["documents"] = list(data.get("documents", []))
    shut = rounds.closed(ctx, Kind.SCHOLARSHIP)  # closed while the form was being filled in
    if shut is not None:
        return Outcome([shut], goto=HOME)
    try:
        ref = filing.submit(
            db=ctx.db,
            kind=Kind.SCHOLARSHIP,
            resident_id=ctx.resident.id,
            details=details,
            screening={},
            partner_code=None,
            year=ctx.now.astimezone(ZoneInfo(ctx.config.time_zone)).year,
            now=ctx.now,
        )
    except ProfileIncomplete:  # however the resident got here: register first, then back
        return register_first(ctx, scholarship(ScholarshipStep.CONFIRM), dict(ctx.data))
    return Outcome([Reply(submitted_text(ctx, ref, None))], goto=HOME)


SCHOLARSHIP = Flow(
    FlowName.SCHOLARSHIP,
    {
        ScholarshipStep.CHILD: Step(ask_child, take_child, Expect.TEXT, options=no_options),
        ScholarshipStep.LEVEL: Step(ask_level, take_level, options=level_options),
        ScholarshipStep.SCHOOL: Step(ask_school, take_school, Expect.TEXT, options=no_options),
        ScholarshipStep.GRADE: Step(ask_grade, take_grade, Expect.TEXT, options=no_options),
        ScholarshipStep.DOCUMENTS: Step(
            ask_documents,
            take_documents,
            Expect.TEXT,
            options=document_options,
            remind=remind_documents,
        ),
        ScholarshipStep.CONFIRM: Step(ask_confirm, take_confirm, options=confirm_options),
    },
)
