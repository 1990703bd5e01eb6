"""Dates and times as people type them, in Indonesian or English: 'besok 08.00', 'lusa 7',
'1/12 08.00', '2026-12-01 08:00', '1 Desember 08.00 WIB'."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "januari jan january",
            "februari feb february",
            "maret mar march",
            "april apr",
            "mei may",
            "juni jun june",
            "juli jul july",
            "agustus agu agt aug august",
            "september sep sept",
            "oktober okt oct october",
            "november nov nop",
            "desember des dec december",
        ),
        1,
    )
    for name in names.split()
}
RELATIVE = {"hari ini": 0, "today": 0, "besok": 1, "tomorrow": 1, "lusa": 2}
_TIME = r"(?:(?:jam|pukul|pkl|at)\s+)?([0-9]{1,2})(?:[.:]([0-9]{2}))?(?:\s*wib)?$"
_RELATIVE = re.compile(r"^(hari ini|today|besok|tomorrow|lusa)\s+" + _TIME)
_ISO = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:t|\s+)" + _TIME)
_NUMERIC = re.compile(r"^([0-9]{1,2})[/-]([0-9]{1,2})(?:[/-]([0-9]{2}|[0-9]{4}))?\s+" + _TIME)
_NAMED = re.compile(r"^([0-9]{1,2})\s+([a-z]+)(?:\s+([0-9]{4}))?\s+" + _TIME)


def parse_moment(text: str, now: datetime, zone: str) -> datetime | None:
    """Read a local date and time ('besok 08.00', '1/12 08.00', '2026-12-01 08:00',
    '1 Desember 08.00'); return it in UTC, or None when it cannot be read."""
    typed = " ".join(text.strip().lower().replace(",", " ").split())
    local_now = now.astimezone(ZoneInfo(zone))
    today = local_now.date()
    year_given = True
    if found := _RELATIVE.match(typed):
        day = today + timedelta(days=RELATIVE[found.group(1)])
        year, month, day_ = day.year, day.month, day.day
        hour, minute = found.group(2), found.group(3)
    elif found := _ISO.match(typed):
        year, month, day_ = (int(part) for part in found.group(1, 2, 3))
        hour, minute = found.group(4), found.group(5)
    elif (found := _NUMERIC.match(typed)) or (found := _NAMED.match(typed)):
        day_ = int(found.group(1))
        month_text = found.group(2)
        month = int(month_text) if month_text.isdigit() else MONTHS.get(month_text)
        if month is None:
            return None
        year_text = found.group(3)
        year_given = year_text is not None
        year = int(year_text) if year_text else today.year
        if year < 100:
            year += 2000
        hour, minute = found.group(4), found.group(5)
    else:
        return None
    try:
        moment = datetime(year, month, day_, int(hour), int(minute or 0), tzinfo=ZoneInfo(zone))
    except ValueError:
        return None
    if not year_given and moment.date() < today - timedelta(days=60):  # "5/1" in December
        moment = moment.replace(year=year + 1)
    return moment.astimezone(now.tzinfo)
