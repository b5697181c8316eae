from itertools import groupby

from django.core.management.base import BaseCommand, CommandError

from articles.models import Article
from comments import votes
from comments.integrity import find_broken_threads, repair_threads


class Command(BaseCommand):
    help = (
        "Check every comment thread's tree numbers (lft, rght, level, tree_id) against its "
        "parent links and print each broken thread; check every comment's vote counts and "
        "order keys against its counted votes and print each comment that disagrees. Exits 1 "
        "when any thread is broken or any count is wrong. With --repair, rebuilds the broken "
        "threads from their parent links, recounts the wrong comments from their votes, and "
        "checks again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Rebuild broken threads (each under its thread lock) and recount wrong vote "
            "counts (each comment's row locked as a vote locks it), then check again.",
        )

    def handle(self, *args, repair=False, **options):
        problems = find_broken_threads()
        miscounts = votes.miscounted()
        if not problems:
            self.stdout.write(self.style.SUCCESS("Every comment thread is sound."))
        if not problems and not miscounts:
            return
        broken = self._report(problems) if problems else 0
        self._report_votes(miscounts)
        if not repair:
            found, fixes = [], []
            if broken:
                found.append(f"{broken} broken thread(s)")
                fixes.append("rebuild")
            if miscounts:
                found.append(f"{len(miscounts)} comment(s) with wrong vote counts")
                fixes.append("recount")
            raise CommandError(
                f"{', '.join(found)}. Run with --repair to {' and '.join(fixes)} them."
            )
        still = [*self._rebuild(problems), *self._recount(miscounts)]
        if still:
            raise CommandError(f"{'; '.join(still)}.")

    def _rebuild(self, problems) -> list[str]:
        """Rebuild the broken threads and check every thread again; what is still wrong."""
        if not problems:
            return []
        rebuilt = repair_threads({problem.tree_id for problem in problems})
        self.stdout.write(f"Rebuilt thread(s) {', '.join(map(str, rebuilt))}.")
        problems = find_broken_threads()
        if problems:
            return [f"{self._report(problems)} thread(s) still broken after the repair"]
        self.stdout.write(self.style.SUCCESS("Repaired: every comment thread is sound."))
        return []

    def _recount(self, miscounts) -> list[str]:
        """Recount the wrong comments from their votes and check every comment again."""
        if not miscounts:
            return []
        pks = [pk for pk, _, _ in miscounts]
        votes.votes_recount(pks=pks)
        self.stdout.write(f"Recounted the votes of comment(s) {', '.join(f'#{pk}' for pk in pks)}.")
        miscounts = votes.miscounted()
        if miscounts:
            self._report_votes(miscounts)
            return [f"{len(miscounts)} comment(s) still miscounted after the recount"]
        self.stdout.write(self.style.SUCCESS("Recounted: every vote count matches the votes."))
        return []

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

    def _report_votes(self, miscounts) -> None:
        """Print each comment whose counts or order keys disagree with its votes."""
        if not miscounts:
            return
        self.stdout.write(self.style.ERROR("Vote counts that disagree with the votes:"))
        for pk, (ups, downs), (counted_ups, counted_downs) in miscounts:
            if (ups, downs) == (counted_ups, counted_downs):
                self.stdout.write(
                    f"  comment #{pk}: counts {ups} up {downs} down match its votes, "
                    "but its order keys (best, controversy) do not"
                )
            else:
                self.stdout.write(
                    f"  comment #{pk}: counts {ups} up {downs} down, "
                    f"votes say {counted_ups} up {counted_downs} down"
                )
