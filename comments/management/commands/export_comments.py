from django.core.management.base import BaseCommand, CommandError

from articles.models import Article
from comments.exports import articles_to_export, export_threadline, export_wxr


class Command(BaseCommand):
    help = (
        "Export every article (or one) with all its comments, placeholders and statuses: "
        "as Threadline's JSON Lines (restores everything; docs/import-export.md) or as "
        "WordPress WXR 1.2. Writes to standard output unless --output is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--article", metavar="SLUG", help="Only this article.")
        parser.add_argument("--format", default="threadline", choices=["threadline", "wxr"])
        parser.add_argument("--output", metavar="FILE", help="Write here (default: stdout).")

    def handle(self, *, article, format, output, **options):
        try:
            articles = articles_to_export(article)
        except Article.DoesNotExist:
            raise CommandError(f"No article has the slug {article!r}.") from None
        write = export_threadline if format == "threadline" else export_wxr
        if not output:
            count = write(self.stdout, articles)
        else:
            try:
                with open(output, "w", encoding="utf-8") as out:
                    count = write(out, articles)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc}") from None
        self.stderr.write(f"Exported {count:,} comments.")
