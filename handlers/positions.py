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


ENTRY = StepRef(FlowName.START, StartStep.LANGUAGE)
HOME = StepRef(FlowName.MENU, MenuStep.MAIN)
CONSENT = StepRef(FlowName.START, StartStep.CONSENT)
CHOOSE_LANGUAGE = StepRef(FlowName.LANGUAGE, LanguageStep.CHOOSE)
PROFILE = StepRef(FlowName.PROFILE, ProfileStep.VIEW)
ERASE = StepRef(FlowName.ERASE, EraseStep.CONFIRM)


def registration(step: RegistrationStep) -> StepRef:
    """Return a position in the registration flow."""
    return StepRef(FlowName.REGISTRATION, step)
