"""What people read: dates, times and Rupiah through Babel, in Indonesia's conventions."""

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.numbers import format_currency, format_decimal

# English as used in Indonesia keeps Rupiah and 24-hour times ("Rp852.768", "19.30")
BABEL_LOCALES = {"id": "id_ID", "en": "en_ID"}

DAY_PATTERN = "EEEE, d MMMM y"  # 'Selasa, 1 Desember 2026', 'Tuesday, 1 December 2026'

# Indonesia's zone abbreviations; Babel only knows "+0700" for them
ZONE_ABBREVIATIONS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


@cache
def babel_locale(language: str) -> Locale:
    """Return the Babel locale for one of our languages (parsed once)."""
    return Locale.parse(BABEL_LOCALES.get(language, BABEL_LOCALES["id"]))


def format_day(value: date | datetime, language: str, zone: str = "Asia/Jakarta") -> str:
    """Format a day in full: 'Sabtu, 28 November 2026'."""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(zone)).date()
    # CLDR's "full" pattern pads the day ("01 Desember"); people write "1 Desember"
    return babel_format_date(value, DAY_PATTERN, locale=babel_locale(language))


def format_moment(value: datetime, language: str, zone: str = "Asia/Jakarta") -> str:
    """Format a moment in local time with its zone: 'Sabtu, 28 November 2026 19.30 WIB'."""
    local = value.astimezone(ZoneInfo(zone))
    time = babel_format_time(local, "short", locale=babel_locale(language))
    abbreviation = ZONE_ABBREVIATIONS.get(zone) or local.strftime("%Z")
    return f"{format_day(local, language, zone)} {time} {abbreviation}"


def format_rupiah(amount: int | Decimal, language: str) -> str:
    """Format an amount of Rupiah: 'Rp852.768'."""
    return format_currency(amount, "IDR", locale=babel_locale(language))


def mask_tail(value: str, keep: int = 4) -> str:
    """Hide all but the last few characters: '************1234'."""
    if len(value) <= keep:
        return value
    return "*" * (len(value) - keep) + value[-keep:]


def format_phone(phone: str) -> str:
    """Show a stored +62 mobile number the way people write it: '0812-3456-7890'."""
    if not phone.startswith("+62"):
        return phone
    local = "0" + phone[3:]
    return "-".join(local[index : index + 4] for index in range(0, len(local), 4))


def format_window(
    start: datetime, end: datetime, language: str, zone: str = "Asia/Jakarta"
) -> str:
    """Format a time window on one day: 'Sabtu, 13 Februari 2027, 08.00–11.00 WIB'."""
    local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    locale = babel_locale(language)
    first = babel_format_time(local_start, "short", locale=locale)
    last = babel_format_time(local_end, "short", locale=locale)
    abbreviation = ZONE_ABBREVIATIONS.get(zone) or local_start.strftime("%Z")
    if local_start.date() != local_end.date():  # overnight: name both days
        return (
            f"{format_day(local_start, language, zone)} {first} – "
            f"{format_day(local_end, language, zone)} {last} {abbreviation}"
        )
    return f"{format_day(local_start, language, zone)}, {first}–{last} {abbreviation}"


def format_distance(kilometres: float, language: str) -> str:
    """Format a distance: '850 m' below a kilometre, else '1,2 km' (in Indonesian)."""
    if kilometres < 1:
        return f"{round(kilometres * 1000, -1):.0f} m"
    return f"{format_decimal(round(kilometres, 1), locale=babel_locale(language))} km"


def format_short_slot(start: datetime, language: str, zone: str = "Asia/Jakarta") -> str:
    """Format a slot for a button: 'Sab 12 Des 08.00'."""
    local = start.astimezone(ZoneInfo(zone))
    locale = babel_locale(language)
    day = babel_format_date(local, "EEE d MMM", locale=locale)
    return f"{day} {babel_format_time(local, 'short', locale=locale)}"


def format_count(value: int, language: str) -> str:
    """Format a count for people: '1.234'."""
    return format_decimal(value, locale=babel_locale(language))
