from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from comments.importer import TextFormatError, import_article


class Command(BaseCommand):
    help = (
        "Import an article and its discussion from a plain-text file (UTF-8): the title, "
        'a "By Name | (Source) | date" byline, the body, an "N Responses" line, then '
        'indented responses numbered "1. Text", and replies "• Text" indented deeper than '
        "what they answer, at any depth (format: comments/importer.py). Responses are "
        'posted as "Anonymous reader". '
        "Safe to run again: if an article with the slug exists, nothing is imported; to "
        "import it again, delete that article first. A malformed file stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The text file to import.")
        parser.add_argument("--slug", help="The article's slug (default: from the title).")

    def handle(self, *, file, slug, **options):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from None
        try:
            article, created = import_article(text=text, slug=slug)
        except TextFormatError as exc:
            raise CommandError(f"{file}: {exc}") from None
        except ValidationError as exc:
            problems = (
                [f"{name}: {' '.join(errors)}" for name, errors in exc.message_dict.items()]
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            raise CommandError(f"{file}: {'; '.join(problems)}") from None
        if created:
            count = article.comments.count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported “{article.title}” with {count} comments: "
                    f"{article.get_absolute_url()}"
                )
            )
        else:
            self.stdout.write(
                f"An article with the slug “{article.slug}” already exists; nothing imported "
                f"({article.get_absolute_url()})."
            )
