"""BENCHMARKS.md from a run's figures: what was measured, how, and on what machine.

Every number in the report comes from the figures passed in; the report draws no
conclusions beyond comparing a figure with the issue's target for it.
"""

from bench.harness import fmt_ms, full_label, full_size, label, p50, percentile
from bench.targets import counted, targets
from bench.writes import WHERE


def pair(a: float, b: float) -> str:
    return f"{fmt_ms(a)} / {fmt_ms(b)}"


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def latency(samples) -> str:
    return pair(p50(samples.wall), percentile(samples.wall, 0.99))


def machine_section(results: dict) -> list[str]:
    info, config, load = results["machine"], results["config"], results["load"]
    return [
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {info['cpu']}, {info['cores']} cores ({info['usable']} usable), "
        f"{info['memory']} RAM |",
        f"| load average (1 min) | {load[0]:.1f} at the start, {load[1]:.1f} at the end "
        f"(on {info['usable']} cores; other work on the machine shares them) |",
        f"| OS | {info['os']} |",
        f"| software | Python {info['python']}, Django {info['django']}, django-mptt "
        f"{info['mptt']}, markdown-it-py {info['markdown_it']}, nh3 {info['nh3']} |",
        f"| PostgreSQL | {info['postgres']}, same machine, TCP on 127.0.0.1 |",
        f"| load generator | {info['wrk']}, same machine |",
        "| settings | those of `make serve`: `DEBUG=0`, local-memory cache (per process), "
        "`COMMENTS_PAGE_THREADS=50`, `COMMENTS_PAGE_MAX=500`, `COMMENTS_MAX_DEPTH=10` |",
        f"| run | articles of {', '.join(label(s) for s in config.sizes)} comments"
        + ("; quick (`BENCH_QUICK=1`: few repetitions)" if config.quick else "")
        + " |",
        "",
    ]


REPRODUCE = [
    "## How to reproduce",
    "",
    "```sh",
    "apt-get install wrk   # the load generator; without it the wrk lines stay empty",
    "make bench            # = .venv/bin/python bench/run.py",
    "```",
    "",
    "It needs PostgreSQL. `DATABASE_URL` defaults to "
    "`postgres://postgres@127.0.0.1:5432/threadline_bench`; the script drops and creates "
    "that database (it refuses `threadline`, `postgres`, the templates and `tl_*`), migrates "
    "it and builds one article per size with `bench.forest.realistic_forest` (seeded, so "
    "every run measures the same rows). It runs with the settings of `make serve` (`DEBUG=0`, "
    "a throwaway `SECRET_KEY`, `ALLOWED_HOSTS=127.0.0.1`, no HTTPS redirect or secure "
    "cookies) and runs `collectstatic`, as `make serve` does.",
    "",
    "Knobs: `BENCH_SIZES=10,1000` builds only those articles; `BENCH_QUICK=1` takes few "
    "repetitions of everything; `BENCH_WRK=0` skips wrk; `BENCH_OUTPUT=/tmp/bench.md` writes "
    "the report elsewhere; `BENCH_REPORT_ONLY=1` rewrites the report from the last run's "
    "figures for the same `BENCH_OUTPUT`. Modules: `bench/harness.py` (database, timing, "
    "machine), `pages.py`, `writes.py`, `redos.py` (probes in `redos_probes.py`), "
    "`http_load.py`, `votes.py` (with `render_counter.py`), `report.py` with `targets.py`.",
    "",
]


def summary_table(results: dict) -> list[str]:
    """A measure per line, an article per column."""
    shapes, pages, writes, http = (
        results["shapes"],
        results["pages"],
        results["writes"],
        results["http"],
    )
    names = list(pages)
    full = full_label(shapes)
    lines = ["| comments in the article → | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---:|" * len(names))

    def size_of(name: str) -> int:
        return int(name.split(" ")[0].replace(",", ""))

    def row(title, cell):
        lines.append(f"| {title} | " + " | ".join(cell(name) for name in names) + " |")

    def page(render):
        return lambda name: render(pages[name])

    def written(render):
        return lambda name: (
            render(writes[size_of(name)]) if size_of(name) in writes and name != full else ""
        )

    def wrk(key):
        def cell(name):
            result = http.get(key)
            if not result or name != label(full_size(shapes)):
                return ""
            if not result["requests"]:
                return "none finished"
            return f"{result['rps']:,.0f}; {fmt_ms(result['p99'])}"

        return cell

    row(
        "threads; comments in the largest",
        lambda n: f"{shapes[size_of(n)]['threads']:,}; {shapes[size_of(n)]['largest']:,}",
    )
    row("comments shown on the first page", page(lambda p: f"{p['shown']:,}"))
    row(
        "queries per page, cold / warm",
        page(lambda p: f"{p['cold_queries']} / {p['warm_queries']}"),
    )
    row(
        "first page, cold cache: p50 / p95 ms",
        page(lambda p: pair(p50(p["cold"].wall), percentile(p["cold"].wall, 0.95))),
    )
    row(
        "first page, cold: CPU of the app process, p50 ms",
        page(lambda p: fmt_ms(p50(p["cold"].cpu))),
    )
    row(
        "first page, warm cache: p50 / p95 ms",
        page(lambda p: pair(p50(p["warm"].wall), percentile(p["warm"].wall, 0.95))),
    )
    row(
        "cold p50 ÷ comments shown, µs",
        page(lambda p: f"{p50(p['cold'].wall) / max(p['shown'], 1) * 1e6:,.0f}"),
    )
    row("HTML bytes", page(lambda p: f"{p['bytes']:,}"))
    titles = {
        "early": "reply early in the largest thread",
        "end": "reply at the end of the largest thread",
        "random": "reply to a random comment of the article",
    }
    for where in WHERE:
        row(
            f"{titles[where]}: p50 / p99 ms",
            written(lambda w, where=where: latency(w[where]["samples"])),
        )

    def concurrent(w):
        state = "tree intact" if w["concurrent"]["intact"] else "TREE BROKEN"
        return f"{w['concurrent']['rate']:.0f} ({state})"

    writers = next(iter(writes.values()))["concurrent"]["writers"] if writes else 0
    row(f"{writers} concurrent writers in the largest thread: replies/s", written(concurrent))
    row("wrk, cached: requests/s; p99 ms", wrk("cached"))
    row("wrk, uncached: requests/s; p99 ms", wrk("uncached"))
    row("wrk, 304 Not Modified: requests/s; p99 ms", wrk("304"))
    return lines


def focused_table(results: dict) -> list[str]:
    lines = [
        "Focused pages (`/comments/<pk>/thread/`, never cached): the top comment of each "
        "article's largest thread with its replies, within the same page limits.",
        "",
        "| article | comments shown | queries | p50 / p95 ms | CPU p50 ms | HTML bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, p in results["focused"].items():
        cold = p["cold"]
        lines.append(
            f"| {name} | {p['shown']:,} | {p['cold_queries']} | "
            f"{pair(p50(cold.wall), percentile(cold.wall, 0.95))} | {fmt_ms(p50(cold.cpu))} | "
            f"{p['bytes']:,} |"
        )
    return [*lines, ""]


def how_measured(results: dict) -> list[str]:
    config, shapes = results["config"], results["shapes"]
    big = shapes[max(shapes)]
    checked = [size for size, shape in shapes.items() if shape.get("checked")]
    wrk = (
        f"`wrk -t{config.wrk_threads} -c{config.wrk_connections} -d{config.wrk_seconds}s "
        f"--latency` after a {config.wrk_warmup} s warm-up"
    )
    return [
        "How each figure was taken:",
        "",
        "- **Data.** `realistic_forest(article, size, seed=size)`: each new comment starts a "
        "thread with probability 0.2, else replies to a uniformly random earlier comment "
        "whose level is below 12; bodies are 1–6 sentences rendered with `render_comment`. "
        f"The {label(max(shapes))}-comment article has {big['threads']:,} threads, the largest "
        f"of {big['largest']:,} comments, {big['deepest']} levels deep at most."
        + (
            f" `find_broken_threads` finds the {label(checked[0])}-comment article's trees valid."
            if checked
            else ""
        ),
        "- **Pages.** Server time of one GET through Django's test client in the bench "
        "process: URL resolving, every middleware, queries, templates; no network. *Cold*: "
        f"the cache emptied before each of {config.cold_reps} requests; *warm*: "
        f"{config.warm_reps} requests with the discussion fragment cached. Queries are "
        "counted on requests of their own, outside the timings. p50, p95 and p99 are nearest "
        "ranks. A page shows at most 50 threads, 500 comments and 10 levels; in "
        f"the column *{full_label(shapes)}* these limits are lifted so the whole discussion "
        "is on the page.",
        "- **Replies.** `comments.services.comment_create` called directly. *Early*: "
        f"{config.replies} replies, each to one of the first leaves of the largest thread in "
        f"page order; *end*: {config.replies} replies to the thread's last comment; *random*: "
        f"{config.replies} replies to random comments of the article. One untimed reply "
        "first (its queries are the ones counted), and a `VACUUM ANALYZE` before each figure.",
        f"- **Concurrent writers.** {config.writers} Python threads, each with its own "
        "database connection, reply to random comments of the largest thread for "
        f"{config.writers_seconds} s; then `find_broken_threads` checks the thread and its "
        "rows are counted.",
        "- **wrk.** `gunicorn config.wsgi --workers 2` (the command of `make serve`), "
        f"{wrk}, all on the same cores as PostgreSQL, against the page of the "
        f"{label(full_size(shapes))}-comment article. *Cached*: anonymous GETs, each "
        "worker's local-memory cache filled in the warm-up. *Uncached*: a second gunicorn "
        "with `COMMENTS_CACHE_SECONDS=0`, so every request draws the discussion. *304*: "
        "`If-None-Match` with the ETag of a first GET, sent with that GET's `csrftoken` "
        "cookie.",
        "",
    ]


def page_parts(results: dict) -> list[str]:
    b, profile, warm = results["breakdown"], results["profile"], results["warm_profile"]
    lines = [
        f"The whole discussion of the {label(full_size(results['shapes']))}-comment article "
        f"({b['comments']:,} comments), each piece timed alone without a profiler (medians "
        "of 10 runs):",
        "",
        "| piece | ms | µs a comment |",
        "|---|---:|---:|",
    ]
    parts = [
        ("`DiscussionPage(article, ANONYMOUS).nodes` (its queries and `build_nodes`)", "selector"),
        ("`Comment.objects.for_discussion(article)`: the rows, with their users", "query"),
        ("`build_nodes(rows, ANONYMOUS)`: links, dates, closers", "build_nodes"),
        ("`sanitize` of every body, its cache emptied first (nh3)", "sanitize_first"),
        ("`sanitize` of every body, cached (as on a worker's later pages)", "sanitize_cached"),
        ("the `nodes` partial of `comments/discussion.html` (sanitize cached)", "template"),
    ]
    for title, key in parts:
        lines.append(f"| {title} | {fmt_ms(b[key])} | {b[key] / b['comments'] * 1e6:.1f} |")
    for name, figures in (("cold, whole discussion", profile), ("warm, first page", warm)):
        total = sum(own for own, _ in figures["areas"])
        lines += [
            "",
            f"Where the CPU of a page goes, {name} (cProfile over {figures['reps']} requests, "
            "own time by area; a built-in counts for its callers; the profiler inflates code "
            "that makes many small calls):",
            "",
            "| area | share |",
            "|---|---:|",
            *(f"| {area} | {share(own, total)} |" for own, area in figures["areas"]),
            "",
            "Functions with most own time: "
            + "; ".join(
                f"`{where.split('/')[-1]}` {share(own, total)} ({calls:,} calls a request)"
                for own, calls, where in figures["functions"][:6]
            )
            + ".",
        ]
    return [*lines, ""]


def writes_section(results: dict) -> list[str]:
    lines = [
        "| article | reply | thread | p50 / p99 ms | CPU p50 ms | queries |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for size, figures in results["writes"].items():
        for where in WHERE:
            f, s = figures[where], figures[where]["samples"]
            lines.append(
                f"| {label(size)} | {where} | {f['thread']:,} | {latency(s)} | "
                f"{fmt_ms(p50(s.cpu))} | {f['queries']} |"
            )
    lines += [
        "",
        "| article | writers | replies | replies/s | p50 / p99 ms | lock waits retried "
        "| refused as busy | failures | tree |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for size, figures in results["writes"].items():
        c = figures["concurrent"]
        lines.append(
            f"| {label(size)} | {c['writers']} | {c['replies']:,} | {c['rate']:.0f} | "
            f"{pair(c['p50'], c['p99'])} | {c['retries']} | {c['busy']} | "
            f"{'; '.join(c['failures']) or 'none'} | {'intact' if c['intact'] else 'BROKEN'} |"
        )
    return [*lines, ""]


def http_section(http: dict) -> list[str]:
    if not http:
        return ["Not measured in this run (no wrk, or `BENCH_WRK=0`).", ""]
    lines = [
        f"`{http['path']}` on {http['workers']} gunicorn workers. CPU is the workers' own "
        "(from /proc), divided by the requests answered.",
        "",
        "| load | requests/s | p50 / p99 ms | statuses | socket errors | CPU user + system "
        "ms a request |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for name in ("cached", "uncached", "304"):
        r = http[name]
        statuses = ", ".join(f"{code}: {count:,}" for code, count in sorted(r["statuses"].items()))
        if not r["requests"]:
            lines.append(f"| {name} | 0 | no request finished within the run | {statuses} | | |")
            continue
        lines.append(
            f"| {name} | {r['rps']:,.0f} | {pair(r['p50'], r['p99'])} | {statuses} | "
            f"{r['socket_errors']} | {fmt_ms(r['user_per_request'])} + "
            f"{fmt_ms(r['system_per_request'])} |"
        )
    return [*lines, ""]


def votes_section(votes: dict | None, config) -> list[str]:
    if not votes:
        return ["Not measured in this run (no wrk, or `BENCH_WRK=0`).", ""]
    lines = [
        "A vote never empties the cached discussion: it stamps its refresh slot on the article "
        "at most once a slot, and `scores_key` puts the slot in the fragment's cache key and "
        f"ETag while votes come. So under votes each worker draws the page once a {votes['slot']} "
        "s slot, as it turns, and cached scores lag a slot at most (a second more at the end).",
        "",
        f"The condition: `{votes['path']}`, {votes['workers']} gunicorn workers (`make serve`), "
        f"`wrk -t{config.wrk_threads} -c{config.wrk_connections} -d{votes['seconds']}s` as an "
        f"anonymous reader after a {config.wrk_warmup} s warm-up: without votes, then on the same "
        f"server while a process of its own calls `comment_vote` (no HTTP) {votes['rate']} times "
        f"a second, paced by {votes['threads']} threads for {votes['voters']} accounts, each vote "
        "a change on a random visible comment (warm-up until each worker drew its votes). *Draws*: "
        "fragments the workers stored (`bench/render_counter.py`). *Cores*: CPU s/s (/proc).",
        "",
        f"With votes, reads kept {votes['ratio']:.0%} of their throughput. {votes['votes']:,} "
        f"votes cast during the run, the latest {fmt_ms(votes['lag'])} ms after it was due; "
        f"{votes['refused']} refused; failures: {'; '.join(votes['failures']) or 'none'}.",
        "",
        "| votes/s cast | requests/s | p50 / p99 ms | draws in requests | cores: workers, "
        "PostgreSQL, voter, wrk, rest (other work) |",
        "|---|---:|---:|---:|---|",
    ]
    for title, r in (("none", votes["quiet"]), (f"{votes['cast_rate']:.0f}/s", votes["voting"])):
        cpu = [f"{r['cpu'][part]:.2f}" for part in ("workers", "postgres", "voter", "wrk", "rest")]
        lines.append(
            f"| {title} | {r['rps']:,.0f} | {pair(r['p50'], r['p99'])} | {r['renders']} in "
            f"{r['requests']:,} | {', '.join(cpu)} |"
        )
    return [*lines, ""]


def redos_section(redos: dict) -> list[str]:
    limit, big = redos["limit"], redos["big"]
    lines = [
        f"`core.markup.render_comment` on each probe of `bench/redos_probes.py` at the length "
        f"limit (`COMMENTS_MAX_LENGTH`, {limit:,} characters; p50 of "
        f"{counted(redos['reps'], 'run')}) and at {big:,} characters (one run). Then each probe "
        f"at {big + 1:,} characters is POSTed as a new comment through the test client (p50 of "
        f"{counted(redos['refusal_reps'], 'run')}); `render_comment` was given "
        f"{counted(redos['render_calls'], 'text')} during those POSTs. For the POSTs the "
        "timing, rate and duplicate defences are off.",
        "",
        f"| probe | render at {limit:,} chars, ms | render at {big:,} chars, ms "
        f"| POST of {big + 1:,} chars | POST, ms |",
        "|---|---:|---:|---|---:|",
    ]
    for name, probe in redos["probes"].items():
        if probe["outcome"] == "refused":
            outcome = "refused by the form, not rendered"
        else:
            outcome = f"HTTP {probe['outcome']}; rendered {counted(probe['rendered'], 'character')}"
        lines.append(
            f"| {name} | {fmt_ms(probe['limit'])} | {fmt_ms(probe['big'])} | {outcome} | "
            f"{fmt_ms(probe['refusal'])} |"
        )
    return [*lines, ""]


def import_section(imported: dict | None) -> list[str]:
    if not imported:
        return ["Not measured in this run.", ""]
    added = "comments: WRONG" if imported["again_added"] else "nothing"
    return [
        f"`bench/imports.py` writes a WordPress export of {imported['comments']:,} comments "
        f"({imported['file_bytes'] / 2**20:,.0f} MB: 20 posts; 20% of comments start a thread, "
        "the rest answer a random earlier one, depth below 12; listed in shuffled order; HTML "
        "bodies of one to three paragraphs) and runs `manage.py import_comments` on it in a "
        "process of its own, whose peak resident memory is read with `wait4`.",
        "",
        "| | time | peak RSS |",
        "|---|---|---|",
        f"| first import | {imported['seconds']:.1f} s | {imported['rss'] / 2**20:,.0f} MB |",
        f"| the same file again (it added {added}) | {imported['again_seconds']:.1f} s | "
        f"{imported['again_rss'] / 2**20:,.0f} MB |",
        "",
        f"The tree checker read the {imported['stored']:,} imported comments afterwards: "
        f"{imported['problems']} problems. The import's report:",
        "",
        *[f"    {line}" for line in imported["report"] if not line.startswith("Processed")],
        "",
    ]


def render(results: dict) -> str:
    """The whole of BENCHMARKS.md."""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `bench/run.py` (`make bench`) on {results['date']}; the run took "
        f"{results['seconds'] / 60:.1f} minutes. Rerun it rather than editing the figures.",
        "",
        *machine_section(results),
        *REPRODUCE,
        "## Results",
        "",
        *summary_table(results),
        "",
        *focused_table(results),
        *how_measured(results),
        "## Targets",
        "",
        *targets(results),
        "",
        "## A cold page in parts",
        "",
        *page_parts(results),
        "## Replies",
        "",
        *writes_section(results),
        "## Requests per second",
        "",
        *http_section(results["http"]),
        "## Votes and cached pages",
        "",
        *votes_section(results.get("votes"), results["config"]),
        "## ReDoS probes",
        "",
        *redos_section(results["redos"]),
        "## Importing a WordPress export",
        "",
        *import_section(results.get("import")),
    ]
    return "\n".join(lines)
