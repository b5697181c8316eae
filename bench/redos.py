"""ReDoS figures: the probes of ``bench/redos_probes.py`` through the app's renderer.

Each probe is timed through ``core.markup.render_comment`` at the length limit
(``COMMENTS_MAX_LENGTH``) and at 100,000 characters; then each is POSTed at 100,001
characters as a new comment, to see the form refuse it before anything renders it. During
the POSTs ``render_comment`` is wrapped where the app calls it (``comments.services`` and
``comments.views``) to record the length of every text it is given.
"""

from unittest import mock

from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from bench.harness import Config, fmt_ms, log, median_seconds, p50, timed
from bench.redos_probes import probe_texts
from comments.forms import CommentForm
from core import markup

BIG = 100_000


def _length_refusal(text: str) -> str | None:
    """What the form says of this text if it is over the length limit (its own words, from
    its own rule), or None: stripped, it may fit."""
    try:
        CommentForm.base_fields["body"].clean(text)
    except ValidationError as error:
        return error.messages[0]
    return None


def measure(article, config: Config) -> dict:
    """Render times of every probe, and the outcome of POSTing it to ``article``."""
    limit = settings.COMMENTS_MAX_LENGTH
    probes = {name: {} for name in probe_texts(limit)}
    for name, text in probe_texts(limit).items():
        probes[name]["limit"] = median_seconds(
            lambda text=text: markup.render_comment(text), config.redos_reps
        )
    for name, text in probe_texts(BIG).items():
        probes[name]["big"] = median_seconds(lambda text=text: markup.render_comment(text), 1)
        log(
            f"ReDoS {name}: {fmt_ms(probes[name]['limit'])} ms at {limit:,}, "
            f"{fmt_ms(probes[name]['big'])} ms at {BIG:,}"
        )
    url = f"{article.get_absolute_url()}comments/"
    client = Client(HTTP_HOST="127.0.0.1")
    rendered = []  # the length of every text render_comment is given during the POSTs
    real = markup.render_comment

    def spy(source):
        rendered.append(len(source))
        return real(source)

    with (
        mock.patch("comments.services.render_comment", spy),
        mock.patch("comments.views.render_comment", spy),
        # A post that passes the form must not be stopped by a defence meant for people.
        override_settings(
            COMMENTS_MIN_SUBMIT_SECONDS=0,
            COMMENTS_RATE_LIMIT="off",
            COMMENTS_REFUSE_DUPLICATES=False,
        ),
    ):
        for name, text in probe_texts(BIG + 1).items():
            statuses, first = [], len(rendered)
            refusal = _length_refusal(text)

            def post(text=text, statuses=statuses, refusal=refusal):
                response = client.post(url, {"body": text, "author_name": "Probe", "parent": ""})
                refused = refusal is not None and refusal in response.content.decode()
                statuses.append("refused" if refused else str(response.status_code))

            samples = timed(post, config.refusal_reps)
            probes[name]["refusal"] = p50(samples.wall)
            probes[name]["outcome"] = ", ".join(sorted(set(statuses)))
            probes[name]["rendered"] = max(rendered[first:], default=0)
    return {
        "probes": probes,
        "render_calls": len(rendered),
        "limit": limit,
        "big": BIG,
        "reps": config.redos_reps,
        "refusal_reps": config.refusal_reps,
    }
