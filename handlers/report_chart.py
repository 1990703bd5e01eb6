"""The chart of the report (`laporan`): the average rating per program or service, as
horizontal bars on 0–5 with the number of ratings, as a small PNG.

Drawn with matplotlib's object API (a Figure on an Agg canvas): no pyplot, no global state, safe
from several threads. Matplotlib keeps a font cache in MPLCONFIGDIR; where that is not set (or
the home directory cannot be written, as in a container) a directory under the system's
temporary one is used, so that it never warns about it.
"""

import io
import os
import tempfile
from pathlib import Path

os.environ.setdefault("MPLCONFIGDIR", str(Path(tempfile.gettempdir()) / "layanan-matplotlib"))

from babel.numbers import format_decimal
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from handlers.formatting import babel_locale, format_count
from handlers.i18n import N_, translations
from storage.report_figures import UNSAID, Summary

CHARTED = 10  # bars at most: the most rated programs
DPI = 100
WIDTH = 6.4  # inches
BAR_COLOUR = "#2e7d32"
# the services a rating may be about, by the word stored for them
SERVICE_NAMES = {
    "sembako": N_("Sembako pickup"),
    "pelatihan": N_("Skills training"),
    "kesehatan": N_("Health checks & talks"),
    "beasiswa": N_("Scholarship"),
    "modal": N_("Business capital"),
    "layanan bot": N_("The chat service"),
    UNSAID: N_("Other"),
}
SHORT_PROGRAMS = {"KJP_PLUS": "KJP Plus"}  # registry codes people write otherwise


def program_name(program: str, language: str) -> str:
    """Name a program or service a rating is about: a service in the language, a registry
    program by its code."""
    if program in SERVICE_NAMES:
        return translations(language).gettext(SERVICE_NAMES[program])
    return SHORT_PROGRAMS.get(program, program)


def format_average(value: float, language: str) -> str:
    """Format an average rating with one decimal: '4,5' (Indonesian), '4.5' (English)."""
    return format_decimal(round(value, 1), format="#,##0.0", locale=babel_locale(language))


def rating_chart(summary: Summary, language: str) -> bytes:
    """Draw the average rating per program (most rated first, at the top) as a PNG."""
    _ = translations(language).gettext
    ngettext = translations(language).ngettext
    shown = list(summary.by_program[:CHARTED])
    height = 1.4 + 0.45 * max(len(shown), 1)
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(_("Average rating per program"), fontsize=11)
    axes.set_xlabel(_("Average rating (1 to 5)"), fontsize=9)
    axes.set_xlim(0, 6.6)  # the scale is 0–5; the rest holds the labels of the longest bars
    axes.set_xticks(range(6))
    axes.spines["bottom"].set_bounds(0, 5)
    axes.tick_params(labelsize=9)
    axes.spines[["top", "right"]].set_visible(False)
    if not shown:
        axes.set_yticks([])
        axes.text(
            2.5,
            0.5,
            _("No ratings in this period"),
            ha="center",
            va="center",
            fontsize=10,
            transform=axes.get_xaxis_transform(),
        )
    else:
        shown.reverse()  # barh draws the first at the bottom
        names = [program_name(item.name, language) for item in shown]
        bars = axes.barh(
            range(len(shown)), [item.average for item in shown], color=BAR_COLOUR, height=0.6
        )
        axes.set_yticks(range(len(shown)), names)
        labels = [
            ngettext(
                "{average} ({count} rating)", "{average} ({count} ratings)", item.count
            ).format(
                average=format_average(item.average, language),
                count=format_count(item.count, language),
            )
            for item in shown
        ]
        axes.bar_label(bars, labels=labels, padding=3, fontsize=8)
    output = io.BytesIO()
    canvas.print_figure(output, format="png", dpi=DPI)
    return output.getvalue()
