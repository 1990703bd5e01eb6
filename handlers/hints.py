"""Short answers the engine gives when a message does not fit the step."""

from collections.abc import Callable

from handlers.i18n import N_
from handlers.messages import Kind

MEDIA_HINTS = {
    Kind.STICKER: N_(
        "Thank you for the sticker! I can only read text and the numbers of the options."
    ),
    Kind.PHOTO: N_("I cannot read photos here yet. Please type your answer instead."),
    Kind.VOICE: N_("I cannot listen to voice messages. Please type your answer instead."),
    Kind.VIDEO: N_("I cannot watch videos. Please type your answer instead."),
    Kind.DOCUMENT: N_("I cannot open documents here. Please type your answer instead."),
    Kind.REACTION: N_("Thank you! To continue, please type your answer."),
    Kind.OTHER: N_("I cannot read that kind of message. Please type your answer instead."),
    Kind.CONTACT: N_("Thank you, but I did not ask for a contact here."),
    Kind.LOCATION: N_("Thank you, but I did not ask for a location here."),
}


def media_hint(kind: Kind, _: Callable[[str], str]) -> str:
    """Say kindly that this kind of message cannot be used at this step."""
    return _(MEDIA_HINTS.get(kind, MEDIA_HINTS[Kind.OTHER]))


def empty_hint(_: Callable[[str], str]) -> str:
    """Answer an empty message."""
    return _("Your message was empty. Please type your answer.")


def choose_hint(count: int, _: Callable[[str], str]) -> str:
    """Say that the answer should be one of the options."""
    if count == 2:
        return _("Please choose one of the options: type 1 or 2, or tap a button.")
    return _(
        "Please choose one of the options: type a number from 1 to {count}, or tap a button."
    ).format(count=count)


def which_hint(labels: list[str], _: Callable[[str], str]) -> str:
    """Ask which of several options that fit the answer was meant."""
    return _("Which one do you mean: {choices}?").format(choices=", ".join(labels))


def stale_hint(_: Callable[[str], str]) -> str:
    """Answer a button from an earlier message that no longer applies."""
    return _(
        "That button is from an old message and no longer applies. Please choose from this "
        "message:"
    )


def place_hint(_: Callable[[str], str]) -> str:
    """Answer a shared location whose coordinates are not a point on Earth."""
    return _("That location could not be read. Please share it again with the map.")


def idle_hint(_: Callable[[str], str]) -> str:
    """Say that an unfinished conversation ended because the resident was away."""
    return _(
        "We had not heard from you for a while, so the last conversation has ended. "
        "Nothing was lost that you had finished. Please choose again from the menu."
    )


def error_hint(_: Callable[[str], str]) -> str:
    """Say that something went wrong on our side, and what to do."""
    return _(
        "Sorry, something went wrong on our side. Please try again in a few minutes, "
        "or type menu to start over."
    )


def private_chat_hint(_: Callable[[str], str]) -> str:
    """Ask people in a group to write to the bot privately."""
    return _(
        "Hello! To protect your data, I only serve residents in a private chat. Please "
        "open a chat with me and write halo."
    )


# commands a chat app can list in its menu; each is also a keyword in either language
COMMANDS = {
    "id": [
        ("start", N_("Start again")),
        ("menu", N_("Main menu")),
        ("bantuan", N_("Help")),
        ("bahasa", N_("Change language")),
        ("berhenti", N_("Stop announcements")),
    ],
    "en": [
        ("start", N_("Start again")),
        ("menu", N_("Main menu")),
        ("help", N_("Help")),
        ("language", N_("Change language")),
        ("stop", N_("Stop announcements")),
    ],
}


def commands(language: str, _: Callable[[str], str]) -> list[tuple[str, str]]:
    """Return the commands with their descriptions for one language."""
    return [(command, _(description)) for command, description in COMMANDS[language]]


def choose_prompt(_: Callable[[str], str]) -> str:
    """Head the options sent apart from a long text (a platform that needs text above them)."""
    return _("Please choose:")


def list_button(_: Callable[[str], str]) -> str:
    """Label the button that opens a list of options (WhatsApp: at most 20 characters)."""
    return _("Choose")
