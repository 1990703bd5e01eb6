"""Files staff give the commands: whether one can be read, and an import's report."""

import sys
from pathlib import Path

from storage.csvfile import Report, print_report


def finish(report: Report, dry_run: bool, rejects: Path | None) -> int:
    """Print the report; exit 1 when rows were rejected, so a script notices."""
    print_report(report, dry_run=dry_run, rejects=rejects, out=sys.stdout)
    return 1 if report.rejected else 0


def readable(path: Path) -> bool:
    """Tell whether a file can be read, saying why not."""
    if not path.is_file():
        print(f"No such file: {path}", file=sys.stderr)
        return False
    return True
