import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from comments.formats import FORMATS
from comments.transfer import ImportStopped, run_import

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Import discussions from a WordPress export (WXR), a Disqus export (XML) or "
        "Threadline's own JSON Lines (docs/import-export.md). The whole file is read first "
        "(a damaged file writes nothing); then each article is written in its own "
        "transaction. Safe to run again: what is already here is recognized and skipped. "
        "Ends with a report of what was imported and what was skipped, with ids."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The export file.")
        parser.add_argument(
            "--format",
            default="auto",
            choices=["auto", *FORMATS],
            help="The file's format (default: decided from its content).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print the report; write nothing."
        )

    def handle(self, *, path, format, dry_run, **options):
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        terminal = sys.stderr.isatty()
        progress = self._bar if terminal else self._counts
        try:
            report = run_import(path, fmt=format, dry_run=dry_run, progress=progress)
        except ImportStopped as exc:
            raise CommandError(f"{path}: {exc}") from None
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        if terminal:
            sys.stderr.write("\n")
        for line in report.lines():
            self.stdout.write(line)

    def _counts(self, stage: str, done: int, total: int) -> None:
        """Not on a terminal: a plain line each time another tenth is written."""
        tenth = done * 10 // total if stage == "write" and total else -1
        if tenth > getattr(self, "_tenth", -1):
            self._tenth = tenth
            self.stderr.write(f"Processed {done:,} of {total:,} comments.")

    @staticmethod
    def _bar(stage: str, done: int, total: int) -> None:
        if stage == "read" or not total:
            sys.stderr.write(f"\rReading: {done:,} comments")
        else:
            filled = BAR_WIDTH * done // total
            sys.stderr.write(
                f"\rProcessing: [{'#' * filled}{' ' * (BAR_WIDTH - filled)}] "
                f"{done:,}/{total:,} comments"
            )
        sys.stderr.flush()
