"""The issue's targets beside the figures measured: a table of target, figure, met or not.

Only comparisons: *off* says how many times slower (or fewer) than its target a figure was.
"""

from bench.harness import fmt_ms, full_label, full_size, label, p50, percentile


def counted(n: int, noun: str) -> str:
    """``3 runs``, ``1 run``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def verdict(measured: float, target: float, *, at_least: bool = False) -> str:
    met = measured >= target if at_least else measured <= target
    if met:
        return "yes"
    factor = target / measured if at_least else measured / target
    return f"no ({factor:.1f}× off)"


def targets(results: dict) -> list[str]:
    """The issue's targets beside the measured figures. *Off* is how many times slower
    (or fewer) than the target the figure was."""
    shapes, pages, writes, http, redos = (
        results["shapes"],
        results["pages"],
        results["writes"],
        results["http"],
        results["redos"],
    )
    full = pages[full_label(shapes)]
    big = pages[label(max(shapes))]
    paged = [pages[label(size)] for size in shapes]
    worst_cold = max(paged, key=lambda p: p50(p["cold"].wall))
    worst_warm = max(paged, key=lambda p: p50(p["warm"].wall))
    cold, warm = p50(full["cold"].wall), p50(full["warm"].wall)
    whole = f"{label(full_size(shapes))} comments shown in full"
    lines = [
        f"| first page uncached ≤ 30 ms: {whole} | {fmt_ms(cold)} ms (p50) | "
        f"{verdict(cold, 0.030)} |",
        f"| first page uncached ≤ 30 ms: {big['name']} stored, paged | "
        f"{fmt_ms(p50(big['cold'].wall))} ms (p50; {big['shown']} comments shown) | "
        f"{verdict(p50(big['cold'].wall), 0.030)} |",
        f"| first page uncached ≤ 30 ms: any article (slowest, paged) | "
        f"{fmt_ms(p50(worst_cold['cold'].wall))} ms ({worst_cold['name']} comments) | "
        f"{verdict(p50(worst_cold['cold'].wall), 0.030)} |",
        f"| warm cache ≤ 5 ms: {whole} | {fmt_ms(warm)} ms p50, "
        f"{fmt_ms(percentile(full['warm'].wall, 0.95))} ms p95 ({full['bytes'] / 1024:,.0f} KB "
        f"of HTML) | {verdict(warm, 0.005)} |",
        f"| warm cache ≤ 5 ms: any article, paged (slowest) | "
        f"{fmt_ms(p50(worst_warm['warm'].wall))} ms p50 ({worst_warm['name']} comments) | "
        f"{verdict(p50(worst_warm['warm'].wall), 0.005)} |",
        f"| uncached rendering ≤ 15 µs per comment shown | {cold / full['shown'] * 1e6:,.0f} µs "
        f"(whole request ÷ {full['shown']:,}) | {verdict(cold / full['shown'], 15e-6)} |",
    ]
    if writes:
        size = 10_000 if 10_000 in writes else min(writes)
        early, end = writes[size]["early"], writes[size]["end"]
        e, n = early["samples"].wall, end["samples"].wall
        lines += [
            f"| reply into a {label(size)}-comment article: p50 ≤ 5 ms | early in its largest "
            f"thread ({early['thread']:,}): {fmt_ms(p50(e))} ms; at its end: {fmt_ms(p50(n))} "
            f"ms | early: {verdict(p50(e), 0.005)}; end: {verdict(p50(n), 0.005)} |",
            f"| reply into a {label(size)}-comment article: p99 ≤ 15 ms, lock included | early: "
            f"{fmt_ms(percentile(e, 0.99))} ms; end: {fmt_ms(percentile(n, 0.99))} ms | early: "
            f"{verdict(percentile(e, 0.99), 0.015)}; end: {verdict(percentile(n, 0.99), 0.015)} |",
        ]
    if http:
        lines += [
            f"| ≥ 800 requests/s, {label(full_size(shapes))}-comment page, warm, 2 workers | "
            f"{http['cached']['rps']:,.0f}/s (p99 {fmt_ms(http['cached']['p99'])} ms) | "
            f"{verdict(http['cached']['rps'], 800, at_least=True)} |",
            f"| ≥ 1,200 requests/s for 304s | {http['304']['rps']:,.0f}/s "
            f"(p99 {fmt_ms(http['304']['p99'])} ms) | "
            f"{verdict(http['304']['rps'], 1200, at_least=True)} |",
        ]
    if votes := results.get("votes"):
        kept = votes["ratio"]
        met = verdict(kept, 0.70, at_least=True)
        if met == "yes" and votes["cast_rate"] < 0.95 * votes["rate"]:
            met = f"not shown (only {votes['cast_rate']:.0f} votes/s cast)"
        lines.append(
            f"| with {votes['rate']} votes/s into a {label(full_size(shapes))}-comment article, "
            f"anonymous reads keep ≥ 70% of their throughput | {kept:.0%} "
            f"({votes['voting']['rps']:,.0f} vs {votes['quiet']['rps']:,.0f} requests/s; "
            f"{votes['cast_rate']:.0f} votes/s cast; {votes['voting']['renders']} draws) | {met} |"
        )
    for size, figures in writes.items():
        c = figures["concurrent"]
        state = "tree intact" if c["intact"] else "TREE BROKEN"
        met = verdict(c["rate"], 30, at_least=True) if c["intact"] else "no"
        lines.append(
            f"| {c['writers']} concurrent writers in one thread: ≥ 30 replies/s, tree intact | "
            f"{c['rate']:.0f}/s into a thread of {c['thread']:,} ({label(size)}-comment "
            f"article), {state}, {c['busy']} refused as busy | {met} |"
        )
    probes, limit = redos["probes"], redos["limit"]
    slowest = max(probes, key=lambda name: probes[name]["limit"])
    refusals = [probe["refusal"] for probe in probes.values()]
    refused = sum(probe["outcome"] == "refused" for probe in probes.values())
    longest = max(probe["rendered"] for probe in probes.values())
    lines += [
        f"| ReDoS probes render in < 100 ms (at the {limit:,}-character limit) | slowest: "
        f"{slowest}, {fmt_ms(probes[slowest]['limit'])} ms | "
        f"{verdict(probes[slowest]['limit'], 0.100)} |",
        f"| a longer request is capped by the length limit | {refused} of {len(probes)} "
        f"{redos['big'] + 1:,}-character POSTs refused by the form in {fmt_ms(min(refusals))}–"
        f"{fmt_ms(max(refusals))} ms; the longest text rendered: {counted(longest, 'character')} | "
        f"{'yes' if longest <= limit else 'no'} |",
    ]
    if imported := results.get("import"):
        n = f"{imported['comments']:,}-comment WXR file"
        lines += [
            f"| a {n} imports in ≤ 60 s | {imported['seconds']:.1f} s | "
            f"{verdict(imported['seconds'], 60)} |",
            f"| … in ≤ 300 MB of memory | {imported['rss'] / 2**20:,.0f} MB peak RSS | "
            f"{verdict(imported['rss'], 300 * 2**20)} |",
            f"| … and the tree checker finds nothing wrong | {imported['stored']:,} comments "
            f"stored, {imported['problems']} problems | "
            f"{'yes' if not imported['problems'] and imported['stored'] else 'no'} |",
        ]
    met = sum(line.rsplit("|", 2)[-2].strip() == "yes" for line in lines)
    return [
        f"{met} of {len(lines)} met. *Off* is how many times slower (or fewer) than the "
        "target the figure was.",
        "",
        "| target | measured | met? |",
        "|---|---|---|",
        *lines,
    ]
