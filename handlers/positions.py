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


ENTRY = StepRef(FlowName.START, StartStep.LANGUAGE)
HOME = StepRef(FlowName.MENU, MenuStep.MAIN)
CONSENT = StepRef(FlowName.START, StartStep.CONSENT)
CHOOSE_LANGUAGE = StepRef(FlowName.LANGUAGE, LanguageStep.CHOOSE)
PROFILE = StepRef(FlowName.PROFILE, ProfileStep.VIEW)
ERASE = StepRef(FlowName.ERASE, EraseStep.CONFIRM)


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
