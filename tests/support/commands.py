"""Management commands run as an operator runs them, for the tests that check their output."""

from io import StringIO

from django.core.management import CommandError, call_command


def check_comment_trees(*args):
    """Run the command; return its exit status and everything it printed."""
    out = StringIO()
    try:
        call_command("check_comment_trees", *args, stdout=out, no_color=True)
    except CommandError as error:
        return error.returncode, f"{out.getvalue()}{error}\n"
    return 0, out.getvalue()
