from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo" / "raqqa-thread.txt"


class Command(BaseCommand):
    help = (
        "Load the demo article and its discussion (comments/demo/raqqa-thread.txt) with "
        "import_thread. Safe to run again: an article already loaded is left as it is."
    )

    def handle(self, **options):
        call_command("import_thread", DEMO_FILE, stdout=self.stdout, stderr=self.stderr)
