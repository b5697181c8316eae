"""Page figures: article pages cold and warm, focused pages, and the parts of a cold page.

Every page is a GET through Django's test client in this process (URL resolving, every
middleware, the queries, the templates; no network), with the settings of ``make serve``.
The breakdown times the app's own pieces on the same comments: the selector
(``comments.selectors.DiscussionPage``), the query (``Comment.objects.for_discussion``),
``comments.nodes.build_nodes``, ``core.markup.sanitize`` and the ``nodes`` partial of
``comments/discussion.html``.
"""

import cProfile
import pstats
import re

from django.core.cache import cache
from django.db import connection, reset_queries
from django.template.loader import get_template
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from bench.harness import (
    ROOT,
    Config,
    fmt_ms,
    full_label,
    full_size,
    label,
    largest_thread,
    log,
    median_seconds,
    p50,
    timed,
)
from comments.models import Comment
from comments.nodes import ANONYMOUS, build_nodes, comment_url
from comments.selectors import DiscussionPage
from core import markup

# The page limits lifted, so that the whole discussion is on one page.
SHOW_ALL = {"COMMENTS_PAGE_THREADS": 10**6, "COMMENTS_PAGE_MAX": 10**6, "COMMENTS_MAX_DEPTH": 99}
COMMENT_ELEMENT = re.compile(r'id="comment-\d+"')  # one per comment drawn (README, hooks)
BREAKDOWN_REPS = 10


def measure_page(client: Client, name: str, url: str, config: Config, *, warm=True) -> dict:
    """Time the page cold (cache emptied before each request) and, with ``warm``, warm
    (the discussion fragment cached)."""

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    def count_queries() -> int:
        # A request resets the query log: start it at 0 so that the context sees them all,
        # and count at once (the context reads the log when asked).
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            get()
        return len(queries)

    cache.clear()
    response = get()
    cache.clear()
    row = {
        "name": name,
        "shown": len(COMMENT_ELEMENT.findall(response.content.decode())),
        "bytes": len(response.content),
        "cold_queries": count_queries(),
        "warm_queries": count_queries(),
        "cold": timed(get, config.cold_reps, before=cache.clear),
    }
    message = f"page {name}: {row['shown']} comments, cold p50 {fmt_ms(p50(row['cold'].wall))} ms"
    if warm:
        get()
        row["warm"] = timed(get, config.warm_reps)
        message += f", warm p50 {fmt_ms(p50(row['warm'].wall))} ms"
    log(message)
    return row


def measure_pages(articles: dict, config: Config) -> dict:
    """The first page of each article's discussion; the ``full_size`` one also whole."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.get("/")  # imports, URL resolver and template loaders: not part of any figure
    pages = {}
    for size, article in articles.items():
        url = article.get_absolute_url()
        pages[label(size)] = measure_page(client, label(size), url, config)
        if size == full_size(articles):
            with override_settings(**SHOW_ALL):
                name = full_label(articles)
                pages[name] = measure_page(client, name, url, config)
    return pages


def measure_focused(articles: dict, config: Config) -> dict:
    """The focused page (``comments.selectors.Subtree``, never cached) of the top comment
    of each article's largest thread: it and its replies, within the page limits."""
    client = Client(HTTP_HOST="127.0.0.1")
    focused = {}
    for size, article in articles.items():
        url = comment_url("comment_thread", largest_thread(article).pk)
        focused[label(size)] = measure_page(
            client, f"focused, {label(size)}", url, config, warm=False
        )
    return focused


# --- where the time of a page goes ---------------------------------------------------------

AREAS = (
    ("Django template engine", ("django/template/", "django/templatetags/")),
    (
        "escaping, lazy and safe strings, localize (for the templates)",
        (
            "django/utils/html.py",
            "django/utils/safestring.py",
            "django/utils/functional.py",
            "django/utils/formats.py",
            "django/utils/numberformat.py",
            "/html/__init__",
        ),
    ),
    ("sanitize (core/markup.py, nh3) at output", ("nh3", "core/markup.py")),
    ("selectors, build_nodes", ("comments/selectors.py", "comments/nodes.py")),
    ("dates (localtime, strftime)", ("django/utils/timezone.py", "datetime", "zoneinfo")),
    ("queries, rows to objects", ("django/db/", "psycopg2")),
    ("cache (pickle)", ("django/core/cache/", "pickle")),
    (
        "forms, CSRF, signing, hashing",
        ("django/forms/", "django/core/signing", "django/middleware/csrf", "hashlib", "hmac"),
    ),
    ("URLs (resolve, reverse)", ("django/urls/",)),
)
ELSEWHERE = "everything else (middleware, request, response, ...)"


def area_of(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    for name, needles in AREAS:
        if any(needle in where for needle in needles):
            return name
    return ELSEWHERE


def profile_page(url: str, *, cold: bool, reps: int, show_all: bool) -> dict:
    """cProfile of a page, cold or warm: own time by area (a built-in function counts for
    its callers' areas) and the functions with most own time. The profiler inflates code
    that makes many small calls."""
    client = Client(HTTP_HOST="127.0.0.1")
    profiler = cProfile.Profile()
    with override_settings(**(SHOW_ALL if show_all else {})):
        client.get(url)
        for _ in range(reps):
            if cold:
                cache.clear()
            profiler.enable()
            client.get(url)
            profiler.disable()
    stats = pstats.Stats(profiler).stats
    areas: dict[str, float] = {}
    functions = []
    for (filename, line, function), (_, calls, own, _, callers) in stats.items():
        if filename == "~" and callers:  # a built-in: share its time among its callers
            total = sum(entry[2] for entry in callers.values()) or 1.0
            for (caller_file, _, caller), entry in callers.items():
                area = area_of(caller_file, caller)
                areas[area] = areas.get(area, 0.0) + own * entry[2] / total
        else:
            area = area_of(filename, function)
            areas[area] = areas.get(area, 0.0) + own
        short = filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        functions.append((own, calls // reps, f"{short}:{line}({function})"))
    functions.sort(reverse=True)
    return {
        "reps": reps,
        "areas": sorted(((own / reps, name) for name, own in areas.items()), reverse=True),
        "functions": [(own / reps, calls, name) for own, calls, name in functions[:12]],
    }


def render_breakdown(article) -> dict:
    """The whole discussion of ``article`` taken apart, without a profiler: medians of
    ``BREAKDOWN_REPS`` runs of each piece the cold page runs, on the same comments."""
    template = get_template("comments/discussion.html#nodes")
    with override_settings(**SHOW_ALL):
        nodes = DiscussionPage(article, ANONYMOUS).nodes
        selector = median_seconds(lambda: DiscussionPage(article, ANONYMOUS).nodes, BREAKDOWN_REPS)
    # With the limits lifted the page holds every row of the discussion: for_discussion's.
    rows = list(Comment.objects.for_discussion(article))
    bodies = [row.body_html for row in rows]

    def sanitize_first_time():
        markup.cache_clear()  # as in a worker that has not shown them yet
        for body in bodies:
            markup.sanitize(body)

    sanitize_first = median_seconds(sanitize_first_time, BREAKDOWN_REPS)
    context = {"nodes": nodes, "article": article, "reply_to": None, "reply_form": None}
    template.render(context)  # the sanitize cache holds these bodies, as on a cold page
    return {
        "comments": len(nodes),
        "rows": len(rows),
        "selector": selector,
        "query": median_seconds(lambda: list(Comment.objects.for_discussion(article)), 10),
        "build_nodes": median_seconds(lambda: build_nodes(rows, ANONYMOUS), BREAKDOWN_REPS),
        "sanitize_first": sanitize_first,
        "sanitize_cached": median_seconds(
            lambda: [markup.sanitize(body) for body in bodies], BREAKDOWN_REPS
        ),
        "template": median_seconds(lambda: template.render(context), BREAKDOWN_REPS),
    }


def measure(articles: dict, config: Config) -> dict:
    """Everything of this module: pages, focused pages, profiles and the breakdown."""
    full = articles[full_size(articles)]
    url = full.get_absolute_url()
    results = {
        "pages": measure_pages(articles, config),
        "focused": measure_focused(articles, config),
        "profile": profile_page(url, cold=True, reps=config.profile_reps, show_all=True),
        "warm_profile": profile_page(
            url, cold=False, reps=config.profile_reps * 10, show_all=False
        ),
        "breakdown": render_breakdown(full),
    }
    parts = results["breakdown"]
    log(
        f"breakdown of {parts['comments']:,} comments: selector {fmt_ms(parts['selector'])} ms, "
        f"template {fmt_ms(parts['template'])} ms"
    )
    return results
