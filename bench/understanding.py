"""Benchmark: how well the bot understands what residents type, on messages it never learned.

Reads the `test` part of handlers/data/understanding/labelled.tsv (the `train` part and the
phrasings are what the reader learns from) and prints, for the whole part and per language:

- top-1 accuracy: the message opens what it means (a `none` message opens nothing);
  goal at least 92 %;
- wrong-service rate: a service other than the one meant is opened (or one is opened for a
  `none` message); goal at most 3 %: asking is better than guessing wrong;
- fallback rate: nothing is opened; the resident gets suggestions or "Tanya petugas";
  of these, how often the meant service is among the suggestions;
- the time to learn at start, and p50/p99 per message (goal: p99 under 2 ms).

With --tune it reads no test message: it cross-validates over the train part instead (five
folds; each learned from everything else) and prints the same figures for a grid of the
reader's thresholds (SURE, AHEAD), which is how they were chosen.

A NIK alone counts as understood as the bansos check (the bot asks "Check bansos status?"
without keeping the NIK), and greetings as `chatter`.

    .venv/bin/python bench/understanding.py [--misses]   (--misses lists what went wrong)
    .venv/bin/python bench/understanding.py --tune
"""

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from handlers.understanding import reading

GOALS = "goals: top-1 >= 92 %, wrong service <= 3 %, p99 < 2 ms"


@dataclass(frozen=True)
class Outcome:
    """What the reader made of one test message."""

    language: str
    meant: str
    opened: str | None  # the label acted on, None when it suggested or fell back
    suggested: tuple[str, ...]
    text: str
    seconds: float

    @property
    def right(self) -> bool:
        return self.opened == self.meant or (self.opened is None and self.meant == "none")

    @property
    def wrong(self) -> bool:
        return self.opened is not None and self.opened not in (self.meant, "chatter", "none")


def judge(row: reading.Phrasing, reader: reading.Reader | None = None) -> Outcome:
    """Read one message and time it."""
    reader = reader or reading.reader()
    started = time.perf_counter()
    found = reader.read(row.text)
    seconds = time.perf_counter() - started
    opened = None
    if found.nik:
        opened = "bansos"
    elif found.meaning is not None and found.meaning.label != reading.NOTHING:
        opened = found.meaning.label
    suggested = tuple(meaning.label for meaning in found.likely)
    return Outcome(row.language, row.label, opened, suggested, row.text, seconds)


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "    -"


def report(label: str, outcomes: list[Outcome]) -> None:
    """Print one line of figures."""
    total = len(outcomes)
    fallback = [outcome for outcome in outcomes if outcome.opened is None]
    helped = sum(1 for outcome in fallback if outcome.meant in outcome.suggested)
    print(
        f"{label:<10} {total:4d} messages   {figures(outcomes)}"
        f" (meant one suggested: {share(helped, len(fallback))})"
    )


def figures(outcomes: list[Outcome]) -> str:
    """Return top-1, wrong-service and fallback rates in one line."""
    total = len(outcomes)
    return (
        f"top-1 {share(sum(o.right for o in outcomes), total)}"
        f"   wrong service {share(sum(o.wrong for o in outcomes), total)}"
        f"   fallback {share(sum(o.opened is None for o in outcomes), total)}"
    )


def tune(misses: bool, folds: int = 5) -> None:
    """Cross-validate the thresholds over the train part (the test part is not read)."""
    train = list(reading.labelled("train"))
    written = list(reading.written())
    details = reading.intents_data().get("details", {})
    readers = []
    for fold in range(folds):
        kept = [row for number, row in enumerate(train) if number % folds != fold]
        held = [row for number, row in enumerate(train) if number % folds == fold]
        readers.append((reading.Reader(written + kept, details), held))
    chosen = reading.SURE
    for sure in (0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
        reading.SURE = sure
        outcomes = [judge(row, reader) for reader, held in readers for row in held]
        print(f"SURE {sure:.2f}   {figures(outcomes)}{'   (chosen)' if sure == chosen else ''}")
        if sure == chosen and misses:
            show(outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the messages not right")
    parser.add_argument("--tune", action="store_true", help="cross-validate the thresholds")
    args = parser.parse_args()
    if args.tune:
        tune(args.misses)
        return
    started = time.perf_counter()
    learned = reading.reader()
    start_ms = (time.perf_counter() - started) * 1000
    rows = list(reading.labelled("test"))
    if not rows:
        raise SystemExit("no test part in the labelled set")
    for row in rows[:20]:  # the first reads fill caches; time the steady state
        reading.read(row.text)
    outcomes = [judge(row) for row in rows]
    print(f"learned {learned.model.examples.shape[0]} phrasings in {start_ms:.0f} ms")
    report("all", outcomes)
    for language in sorted({outcome.language for outcome in outcomes}):
        report(language, [outcome for outcome in outcomes if outcome.language == language])
    times = sorted(outcome.seconds * 1000 for outcome in outcomes)
    p99 = times[min(len(times) - 1, round(0.99 * len(times)))]
    print(f"per message: p50 {statistics.median(times):.2f} ms   p99 {p99:.2f} ms   ({GOALS})")
    wrong = Counter((o.meant, o.opened) for o in outcomes if o.wrong)
    if wrong:
        print("wrong services:", ", ".join(f"{a} as {b} ×{n}" for (a, b), n in wrong.items()))
    if args.misses:
        show(outcomes)


def show(outcomes: list[Outcome]) -> None:
    """Print the messages not read right: meant, opened, suggested, text."""
    for outcome in outcomes:
        if not outcome.right:
            print(
                f"  {outcome.meant:>20} -> {outcome.opened or '-':<20}"
                f" {'/'.join(outcome.suggested):<30} {outcome.text}"
            )


if __name__ == "__main__":
    main()
