from itertools import groupby

from django.core.management.base import BaseCommand, CommandError

from articles.models import Article
from comments.integrity import find_broken_threads, repair_threads


class Command(BaseCommand):
    help = (
        "Check every comment thread's tree numbers (lft, rght, level, tree_id) against its "
        "parent links and print each broken thread. Exits 1 when any is broken. With "
        "--repair, rebuilds the broken threads from their parent links and checks again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Rebuild broken threads (each under its thread lock), then check again.",
        )

    def handle(self, *args, repair=False, **options):
        problems = find_broken_threads()
        if not problems:
            self.stdout.write(self.style.SUCCESS("Every comment thread is sound."))
            return
        broken = self._report(problems)
        if not repair:
            raise CommandError(f"{broken} broken thread(s). Run with --repair to rebuild them.")
        rebuilt = repair_threads({problem.tree_id for problem in problems})
        self.stdout.write(f"Rebuilt thread(s) {', '.join(map(str, rebuilt))}.")
        problems = find_broken_threads()
        if problems:
            broken = self._report(problems)
            raise CommandError(f"{broken} thread(s) still broken after the repair.")
        self.stdout.write(self.style.SUCCESS("Repaired: every comment thread is sound."))

    def _report(self, problems) -> int:
        """Print the problems grouped by thread; return how many threads are broken."""
        slugs = dict(
            Article.objects.filter(pk__in={p.article_id for p in problems}).values_list(
                "pk", "slug"
            )
        )
        threads = 0
        for tree_id, group in groupby(problems, key=lambda problem: problem.tree_id):
            group = list(group)
            article_id = group[0].article_id
            self.stdout.write(
                self.style.ERROR(
                    f"Thread {tree_id} (article #{article_id} {slugs.get(article_id, '')}):"
                )
            )
            for problem in group:
                self.stdout.write(f"  {problem}")
            threads += 1
        return threads
