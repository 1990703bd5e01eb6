"""Names of every flow and step, in one place, so flows can point at each other.

Stored conversations hold these strings: rename one only with a migration of the stored rows.
"""

from enum import StrEnum

from handlers.steps import StepRef


class FlowName(StrEnum):
    """The flows."""

    START = "start"
    LANGUAGE = "language"
    MENU = "menu"
    REGISTRATION = "registration"
    PROFILE = "profile"
    ERASE = "erase"
    BANSOS = "bansos"
    ELIGIBILITY = "eligibility"
    SEMBAKO = "sembako"
    TRAINING = "training"
    HEALTH = "health"
    APPLY = "apply"
    SCHOLARSHIP = "scholarship"
    CAPITAL = "capital"
    REMINDERS = "reminders"
    FEEDBACK = "feedback"
    MASUKAN = "masukan"
    BROADCAST = "broadcast"
    COMPLAINT = "complaint"
    COMPLAINT_STAFF = "complaint_staff"
    REPORT = "report"
    SURVEY = "survey"
    BROADCAST_PLAN = "broadcast_plan"
    UNDERSTAND = "understand"
    FAQ = "faq"
    ASK_STAFF = "ask_staff"


class StartStep(StrEnum):
    """Greeting and consent."""

    LANGUAGE = "language"
    CONSENT = "consent"


class LanguageStep(StrEnum):
    """The `bahasa` keyword."""

    CHOOSE = "choose"


class MenuStep(StrEnum):
    """The main menu."""

    MAIN = "main"


class RegistrationStep(StrEnum):
    """Registration, also used to edit the profile one field at a time."""

    NAME = "name"
    KELURAHAN = "kelurahan"
    RW = "rw"
    PHONE = "phone"


class ProfileStep(StrEnum):
    """The resident's profile."""

    VIEW = "view"


class EraseStep(StrEnum):
    """Erasure of personal data."""

    CONFIRM = "confirm"


class BansosStep(StrEnum):
    """Cek status bansos."""

    NIK = "nik"
    NAME = "name"
    OWN = "own"  # after a hit: is this the resident's own data?
    DONE = "done"


class EligibilityStep(StrEnum):
    """Self-screening (cek kelayakan)."""

    SIZE = "size"
    INCOME = "income"
    MEMBERS = "members"
    WORK = "work"
    HOUSING = "housing"
    DTSEN = "dtsen"
    DONE = "done"


class SembakoStep(StrEnum):
    """Sembako schedules."""

    KELURAHAN = "kelurahan"
    RW = "rw"
    LIST = "list"
    LOCATION = "location"


class TrainingStep(StrEnum):
    """Skills training: browse, enrol, see and cancel enrolments."""

    CATEGORY = "category"
    BATCHES = "batches"
    DETAIL = "detail"
    AGE = "age"
    PRIORITY = "priority"
    CONFIRM = "confirm"
    MINE = "mine"
    CANCEL = "cancel"


class HealthStep(StrEnum):
    """Health talks and free health checks: browse, book, see and cancel bookings."""

    KIND = "kind"
    TOPIC = "topic"
    EVENTS = "events"
    SLOTS = "slots"
    CONFIRM = "confirm"
    MINE = "mine"
    CANCEL = "cancel"


class ApplyStep(StrEnum):
    """Applications for support: choose what to apply for, follow the status."""

    CHOOSE = "choose"
    STATUS = "status"


class ScholarshipStep(StrEnum):
    """A scholarship (beasiswa) application for a child."""

    CHILD = "child"
    LEVEL = "level"
    SCHOOL = "school"
    GRADE = "grade"
    DOCUMENTS = "documents"
    CONFIRM = "confirm"


class CapitalStep(StrEnum):
    """A business-capital (modal usaha) application."""

    TYPE = "type"
    MONTHS = "months"
    REVENUE = "revenue"
    COSTS = "costs"
    AMOUNT = "amount"
    PURPOSE = "purpose"
    WOMEN_LED = "women_led"
    CONFIRM = "confirm"


class ReminderStep(StrEnum):
    """Pengingat saya: see and cancel one's reminders."""

    LIST = "list"
    CANCEL_ALL = "cancel_all"


class FeedbackStep(StrEnum):
    """A rating 1–5 of something the resident took part in."""

    RATE = "rate"


class MasukanStep(StrEnum):
    """Beri masukan: a rating 1–5 of a program or service at any time, and a comment."""

    PROGRAM = "program"
    SCORE = "score"
    COMMENT = "comment"
    OFFER = "offer"  # after an invitation's score: add a comment?


class BroadcastStep(StrEnum):
    """Staff: an announcement (siaran) to a segment of residents."""

    KIND = "kind"
    CHOOSE = "choose"
    CODE = "code"
    RW = "rw"
    MESSAGE = "message"
    PREVIEW = "preview"
    WHEN = "when"
    REPEAT = "repeat"


class BroadcastPlanStep(StrEnum):
    """Staff: a recurring siaran planned in chat, or one stopped."""

    OFTEN = "often"
    FIRST = "first"
    STOP = "stop"


class ComplaintStep(StrEnum):
    """Masukan & pengaduan: pengaduan, usul, sanggah, saran, and the status by number."""

    CHOOSE = "choose"
    CATEGORY = "category"
    NAME = "name"
    KELURAHAN = "kelurahan"
    RW = "rw"
    TEXT = "text"
    PHOTO = "photo"
    ANONYMOUS = "anonymous"
    CONFIRM = "confirm"
    STATUS = "status"


class ComplaintStaffStep(StrEnum):
    """Staff: the queue of complaints, one complaint, a reply."""

    QUEUE = "queue"
    ITEM = "item"
    REPLY = "reply"


class AskStaffStep(StrEnum):
    """Tanya petugas: a question the bot did not understand, passed on to the officers."""

    OFFER = "offer"  # "we did not understand": ask an officer, or the menu
    QUESTION = "question"  # type the question
    KELURAHAN = "kelurahan"  # which kelurahan's officers, for one who has none
    CONFIRM = "confirm"  # send it, after agreeing to the privacy notice


class SurveyStep(StrEnum):
    """An evaluator's survey: one step per kind of question."""

    CHOICE = "choice"
    RATING = "rating"
    NUMBER = "number"
    TEXT = "text"


class UnderstandStep(StrEnum):
    """What a typed sentence may have meant."""

    SUGGEST = "suggest"  # "Did you mean ...?" with the likeliest services


class FaqStep(StrEnum):
    """The answer to a frequent question, with buttons to the services it leads on to."""

    ANSWER = "answer"


class ReportStep(StrEnum):
    """Staff and evaluators: the figures of a period, with a chart (laporan)."""

    SHOW = "show"


SUGGEST = StepRef(FlowName.UNDERSTAND, UnderstandStep.SUGGEST)
ENTRY = StepRef(FlowName.START, StartStep.LANGUAGE)
HOME = StepRef(FlowName.MENU, MenuStep.MAIN)
CONSENT = StepRef(FlowName.START, StartStep.CONSENT)
CHOOSE_LANGUAGE = StepRef(FlowName.LANGUAGE, LanguageStep.CHOOSE)
PROFILE = StepRef(FlowName.PROFILE, ProfileStep.VIEW)
ERASE = StepRef(FlowName.ERASE, EraseStep.CONFIRM)
FAQ_ANSWER = StepRef(FlowName.FAQ, FaqStep.ANSWER)


def registration(step: RegistrationStep) -> StepRef:
    """Return a position in the registration flow."""
    return StepRef(FlowName.REGISTRATION, step)


def bansos(step: BansosStep) -> StepRef:
    """Return a position in the status check."""
    return StepRef(FlowName.BANSOS, step)


def eligibility(step: EligibilityStep) -> StepRef:
    """Return a position in self-screening."""
    return StepRef(FlowName.ELIGIBILITY, step)


def sembako(step: SembakoStep) -> StepRef:
    """Return a position in the sembako schedules."""
    return StepRef(FlowName.SEMBAKO, step)


def training(step: TrainingStep) -> StepRef:
    """Return a position in skills training."""
    return StepRef(FlowName.TRAINING, step)


def health(step: HealthStep) -> StepRef:
    """Return a position in health talks and checks."""
    return StepRef(FlowName.HEALTH, step)


def apply(step: ApplyStep) -> StepRef:
    """Return a position in the applications menu."""
    return StepRef(FlowName.APPLY, step)


def scholarship(step: ScholarshipStep) -> StepRef:
    """Return a position in a scholarship application."""
    return StepRef(FlowName.SCHOLARSHIP, step)


def capital(step: CapitalStep) -> StepRef:
    """Return a position in a business-capital application."""
    return StepRef(FlowName.CAPITAL, step)


def reminders(step: ReminderStep) -> StepRef:
    """Return a position in the resident's reminders."""
    return StepRef(FlowName.REMINDERS, step)


def feedback(step: FeedbackStep) -> StepRef:
    """Return a position in a rating."""
    return StepRef(FlowName.FEEDBACK, step)


def masukan(step: MasukanStep) -> StepRef:
    """Return a position in feedback given at any time, or a rating's comment."""
    return StepRef(FlowName.MASUKAN, step)


def broadcast(step: BroadcastStep) -> StepRef:
    """Return a position in a staff member's announcement."""
    return StepRef(FlowName.BROADCAST, step)


def complaint(step: ComplaintStep) -> StepRef:
    """Return a position in a resident's complaint, proposal, dispute or suggestion."""
    return StepRef(FlowName.COMPLAINT, step)


def complaint_staff(step: ComplaintStaffStep) -> StepRef:
    """Return a position in a staff member's handling of complaints."""
    return StepRef(FlowName.COMPLAINT_STAFF, step)


def ask_staff(step: AskStaffStep) -> StepRef:
    """Return a position in a question to the officers."""
    return StepRef(FlowName.ASK_STAFF, step)


def report(step: ReportStep) -> StepRef:
    """Return a position in the report of figures."""
    return StepRef(FlowName.REPORT, step)


def survey(step: SurveyStep) -> StepRef:
    """Return a position in a survey."""
    return StepRef(FlowName.SURVEY, step)


def broadcast_plan(step: BroadcastPlanStep) -> StepRef:
    """Return a position in a recurring siaran planned or stopped in chat."""
    return StepRef(FlowName.BROADCAST_PLAN, step)
